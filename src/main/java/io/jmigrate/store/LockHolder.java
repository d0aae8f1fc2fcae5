package io.jmigrate.store;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * Who holds (or asks for) a repository lock: the command, the host, the pid and since when. Stored as JSON next
 * to the lock (a holder file in {@code locks/} of a local repository, a {@code locks/<uuid>.json} object in S3)
 * so that a process that cannot get the lock can say who has it.
 */
@JsonPropertyOrder({"mode", "holder", "host", "pid", "created", "refreshed"})
final class LockHolder {
  private static volatile String cachedHost;

  private final Store.LockMode mode;
  private final String purpose;
  private final String host;
  private final long pid;
  private final Instant created;
  private final Instant refreshed;

  private LockHolder(
      Store.LockMode mode, String purpose, String host, long pid, Instant created, Instant refreshed) {
    this.mode = mode;
    this.purpose = purpose;
    this.host = host;
    this.pid = pid;
    this.created = created;
    this.refreshed = refreshed;
  }

  /** This process, now, for {@code purpose} (e.g. "backup web"). */
  static LockHolder self(Store.LockMode mode, String purpose) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    String p = purpose == null || purpose.isBlank() ? "unknown command" : purpose.strip();
    return new LockHolder(mode, p, localHost(), ProcessHandle.current().pid(), now, now);
  }

  @JsonCreator
  static LockHolder fromJson(
      @JsonProperty("mode") Store.LockMode mode,
      @JsonProperty("holder") String purpose,
      @JsonProperty("host") String host,
      @JsonProperty("pid") long pid,
      @JsonProperty("created") String created,
      @JsonProperty("refreshed") String refreshed) {
    if (mode == null) {
      throw new IllegalArgumentException("lock holder record has no mode");
    }
    // Times are ISO-8601 strings: jackson's java.time module is not on the runtime classpath.
    Instant c = created == null ? Instant.EPOCH : Instant.parse(created);
    return new LockHolder(mode, purpose == null ? "unknown command" : purpose, host == null ? "?" : host, pid, c,
        refreshed == null ? c : Instant.parse(refreshed));
  }

  /** A copy refreshed now, for the S3 keep-alive. */
  LockHolder refreshedNow() {
    return new LockHolder(mode, purpose, host, pid, created, Instant.now().truncatedTo(ChronoUnit.MILLIS));
  }

  @JsonProperty("mode")
  Store.LockMode mode() {
    return mode;
  }

  @JsonProperty("holder")
  String purpose() {
    return purpose;
  }

  @JsonProperty("host")
  String host() {
    return host;
  }

  @JsonProperty("pid")
  long pid() {
    return pid;
  }

  @JsonIgnore
  Instant created() {
    return created;
  }

  @JsonIgnore
  Instant refreshed() {
    return refreshed;
  }

  @JsonProperty("created")
  String createdText() {
    return created.toString();
  }

  @JsonProperty("refreshed")
  String refreshedText() {
    return refreshed.toString();
  }

  /** True when this record names a process on this host that no longer runs, so its record is stale. */
  boolean deadOnThisHost() {
    return host.equals(localHost()) && pid > 0 && ProcessHandle.of(pid).isEmpty();
  }

  /** "jmigrate backup web (shared), pid 4242 on host-a, since 2024-05-01T03:00:00Z". */
  String describe() {
    // Callers pass "backup web" or "jmigrate backup": name the tool once either way.
    String command = purpose.startsWith("jmigrate") ? purpose : "jmigrate " + purpose;
    return command + " (" + mode.name().toLowerCase() + "), pid " + pid + " on " + host + ", since "
        + created.truncatedTo(ChronoUnit.SECONDS);
  }

  @Override
  public String toString() {
    return describe();
  }

  /** The host name without a DNS lookup where possible: a lookup can hang for seconds on a broken resolver. */
  static String localHost() {
    String h = cachedHost;
    if (h != null) {
      return h;
    }
    h = System.getenv("HOSTNAME");
    if (h == null || h.isBlank()) {
      try {
        h = Files.readString(Path.of("/proc/sys/kernel/hostname"), StandardCharsets.UTF_8).strip();
      } catch (IOException | RuntimeException e) {
        h = null;
      }
    }
    if (h == null || h.isBlank()) {
      try {
        h = InetAddress.getLocalHost().getHostName();
      } catch (IOException e) {
        h = "localhost";
      }
    }
    cachedHost = h;
    return h;
  }
}
