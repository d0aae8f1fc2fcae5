package io.jmigrate.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What one run of a job did: the JSON document that {@code run --summary FILE} writes and that
 * {@link WebhookNotifier} posts. One result per container and repository (a container written to two
 * repositories has two results: its snapshot id differs, since each store compresses layers its own way).
 *
 * <p>Format (version 1), times ISO-8601 UTC, durations in milliseconds:
 * <pre>{@code
 * {"version":1,"job":"nightly","host":"unix:///var/run/docker.sock","repositories":["s3://b/p"],
 *  "started":"2026-11-20T03:00:00Z","finished":"2026-11-20T03:02:05Z","durationMillis":125000,
 *  "status":"partial","error":null,
 *  "containers":[{"container":"web","repository":"s3://b/p","status":"success","snapshot":"3f2a9c1b0d4e",
 *                 "bytes":52428800,"durationMillis":61000,"error":null}, ...]}
 * }</pre>
 * It never holds environment values or credentials. Immutable.
 */
public final class RunSummary {
  /** The format version written in {@code "version"}. */
  public static final int FORMAT_VERSION = 1;

  private static final ObjectMapper MAPPER = new ObjectMapper();

  /** How a run (or one container's result) ended. */
  public enum Status {
    /** Every container was written to every repository. */
    SUCCESS,
    /** Some results succeeded and some failed. */
    PARTIAL,
    /** Nothing succeeded (or nothing was selected). */
    FAILED;

    /** The JSON spelling. */
    public String value() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Status parse(String s) {
      return valueOf(s.toUpperCase(Locale.ROOT));
    }

    /**
     * The status of a run with these results and this run-level error (null when none): success when every
     * result succeeded and there is no error; failed when none succeeded (an empty run is failed: a selection
     * that matches nothing is usually a mistake); partial otherwise.
     */
    public static Status of(List<ContainerResult> results, String runError) {
      long ok = results.stream().filter(ContainerResult::succeeded).count();
      if (ok == 0) {
        return FAILED;
      }
      return ok == results.size() && runError == null ? SUCCESS : PARTIAL;
    }
  }

  /**
   * One container written to one repository.
   *
   * @param container the container's name
   * @param repository the repository's location, without credentials
   * @param snapshot the snapshot id (short form), or null when it failed
   * @param bytes the snapshot's size: the sum of the stored sizes of the blobs it references, as in its
   *     {@code io.jmigrate.snapshot.size} annotation (blobs it shares with older snapshots count too); 0 when it
   *     failed
   * @param duration from the start of its pre hooks to the end of its post hooks
   * @param error one line saying what failed and what to do, or null when it succeeded
   */
  public record ContainerResult(
      String container, String repository, String snapshot, long bytes, Duration duration, String error) {
    public ContainerResult {
      Objects.requireNonNull(container, "container");
      Objects.requireNonNull(repository, "repository");
      Objects.requireNonNull(duration, "duration");
      if (bytes < 0) {
        throw new IllegalArgumentException("bytes must not be negative: " + bytes);
      }
      if (error == null && snapshot == null) {
        throw new IllegalArgumentException("a successful result needs a snapshot id");
      }
    }

    public static ContainerResult success(
        String container, String repository, String snapshot, long bytes, Duration duration) {
      return new ContainerResult(container, repository, Objects.requireNonNull(snapshot, "snapshot"), bytes,
          duration, null);
    }

    public static ContainerResult failure(String container, String repository, Duration duration, String error) {
      return new ContainerResult(container, repository, null, 0, duration, Objects.requireNonNull(error, "error"));
    }

    public boolean succeeded() {
      return error == null;
    }

    /** {@link Status#SUCCESS} or {@link Status#FAILED}. */
    public Status status() {
      return succeeded() ? Status.SUCCESS : Status.FAILED;
    }
  }

  private final String job;
  private final String host;
  private final List<String> repositories;
  private final Instant started;
  private final Instant finished;
  private final Status status;
  private final String error;
  private final List<ContainerResult> containers;

  private RunSummary(Builder b) {
    this.job = Objects.requireNonNull(b.job, "job");
    this.host = b.host;
    this.repositories = List.copyOf(b.repositories);
    this.started = Objects.requireNonNull(b.started, "started");
    this.finished = Objects.requireNonNull(b.finished, "finished");
    if (finished.isBefore(started)) {
      throw new IllegalArgumentException("finished " + finished + " is before started " + started);
    }
    this.error = b.error;
    this.containers = List.copyOf(b.containers);
    this.status = b.status != null ? b.status : Status.of(containers, error);
  }

  public static Builder builder(String job) {
    return new Builder(job);
  }

  public String job() {
    return job;
  }

  /** The engine as the user named it, or null when resolved by default. */
  public String host() {
    return host;
  }

  public List<String> repositories() {
    return repositories;
  }

  public Instant started() {
    return started;
  }

  public Instant finished() {
    return finished;
  }

  public Duration duration() {
    return Duration.between(started, finished);
  }

  public Status status() {
    return status;
  }

  /** A run-level error (e.g. the engine was unreachable, a repository was locked), or null. */
  public String error() {
    return error;
  }

  public List<ContainerResult> containers() {
    return containers;
  }

  /** Sum of the bytes of the successful results. */
  public long totalBytes() {
    return containers.stream().mapToLong(ContainerResult::bytes).sum();
  }

  /** The JSON document, compact (webhooks) or indented (files). */
  public byte[] toJson(boolean pretty) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("version", FORMAT_VERSION);
    root.put("job", job);
    root.put("host", host);
    ArrayNode repos = root.putArray("repositories");
    repositories.forEach(repos::add);
    root.put("started", started.toString());
    root.put("finished", finished.toString());
    root.put("durationMillis", duration().toMillis());
    root.put("status", status.value());
    root.put("error", error);
    ArrayNode results = root.putArray("containers");
    for (ContainerResult r : containers) {
      ObjectNode n = results.addObject();
      n.put("container", r.container());
      n.put("repository", r.repository());
      n.put("status", r.status().value());
      n.put("snapshot", r.snapshot());
      n.put("bytes", r.bytes());
      n.put("durationMillis", r.duration().toMillis());
      n.put("error", r.error());
    }
    try {
      return pretty
          ? MAPPER.writer(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(root)
          : MAPPER.writeValueAsBytes(root);
    } catch (IOException e) {
      throw new IllegalStateException("cannot serialize a run summary", e);
    }
  }

  /**
   * Reads a summary written by {@link #toJson}.
   *
   * @throws IOException when it is not a version-1 summary
   */
  public static RunSummary fromJson(byte[] json) throws IOException {
    JsonNode root = MAPPER.readTree(json);
    if (root == null || !root.isObject() || root.path("version").asInt() != FORMAT_VERSION) {
      throw new IOException("not a jmigrate run summary (version " + FORMAT_VERSION + ")");
    }
    try {
      Builder b = builder(root.path("job").asText())
          .host(textOrNull(root.get("host")))
          .started(Instant.parse(root.path("started").asText()))
          .finished(Instant.parse(root.path("finished").asText()))
          .error(textOrNull(root.get("error")))
          .status(Status.parse(root.path("status").asText()));
      List<String> repos = new ArrayList<>();
      root.path("repositories").forEach(n -> repos.add(n.asText()));
      b.repositories(repos);
      for (JsonNode n : root.path("containers")) {
        b.add(new ContainerResult(n.path("container").asText(), n.path("repository").asText(),
            textOrNull(n.get("snapshot")), n.path("bytes").asLong(), Duration.ofMillis(n.path("durationMillis").asLong()),
            textOrNull(n.get("error"))));
      }
      return b.build();
    } catch (RuntimeException e) {
      throw new IOException("malformed jmigrate run summary: " + e.getMessage(), e);
    }
  }

  private static String textOrNull(JsonNode n) {
    return n == null || n.isNull() ? null : n.asText();
  }

  /**
   * Writes the indented JSON to {@code file} atomically (a temp file in the same directory, then a rename), so
   * a monitoring script never reads half a summary.
   */
  public void writeTo(Path file) throws IOException {
    Path abs = file.toAbsolutePath();
    Path dir = abs.getParent();
    Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
    try {
      try (OutputStream out = Files.newOutputStream(tmp)) {
        out.write(toJson(true));
      }
      try {
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** One line for logs: {@code job nightly: partial, 2 of 3 results, 50.0 MiB in 2m5s}. */
  @Override
  public String toString() {
    long ok = containers.stream().filter(ContainerResult::succeeded).count();
    return "job " + job + ": " + status.value() + ", " + ok + " of " + containers.size() + " results succeeded, "
        + totalBytes() + " bytes in " + Durations.format(duration()) + (error != null ? " (" + error + ")" : "");
  }

  /** Builder for {@link RunSummary}; the status is computed from the results unless set. */
  public static final class Builder {
    private final String job;
    private String host;
    private List<String> repositories = List.of();
    private Instant started;
    private Instant finished;
    private Status status;
    private String error;
    private final List<ContainerResult> containers = new ArrayList<>();

    private Builder(String job) {
      this.job = job;
    }

    public Builder host(String v) {
      host = v;
      return this;
    }

    public Builder repositories(List<String> v) {
      repositories = List.copyOf(v);
      return this;
    }

    public Builder started(Instant v) {
      started = v;
      return this;
    }

    public Builder finished(Instant v) {
      finished = v;
      return this;
    }

    /** Overrides the computed status. */
    public Builder status(Status v) {
      status = v;
      return this;
    }

    public Builder error(String v) {
      error = v;
      return this;
    }

    public Builder add(ContainerResult r) {
      containers.add(Objects.requireNonNull(r, "result"));
      return this;
    }

    public RunSummary build() {
      return new RunSummary(this);
    }
  }
}
