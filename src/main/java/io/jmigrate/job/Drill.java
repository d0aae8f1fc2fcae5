package io.jmigrate.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.TransferListener;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.engine.Shutdown;
import io.jmigrate.restore.PreflightException;
import io.jmigrate.restore.RestoreException;
import io.jmigrate.restore.RestoreRunner;
import io.jmigrate.snapshot.Snapshot;
import io.jmigrate.snapshot.SnapshotDocument;
import io.jmigrate.store.Store;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A restore drill: proves that a snapshot restores and runs, without touching the original. The snapshot is
 * restored under a scratch name ({@link DrillDocument}: fresh volumes, no network, no published ports), started,
 * awaited until it runs (or is healthy, when it has a healthcheck), optionally checked with a command run inside
 * it, then everything the drill created is removed: the clone, its volumes, and the image when the host did not
 * have it before. Cleanup runs on every path: pass, fail, and Ctrl-C or SIGTERM.
 */
public final class Drill {
  private static final Logger LOG = LoggerFactory.getLogger(Drill.class);

  /**
   * What a failed check tells the user to do. A drill runs from the command line (jmigrate drill), where the
   * check is --check and its time limit --timeout; a job file's on-error has no meaning for it.
   */
  static final HookRunner.Advice CHECK_ADVICE = new HookRunner.Advice(
      "fix the --check command, or leave out --check to drill only that the container comes up",
      "make it faster or raise --timeout");

  /**
   * How to drill.
   *
   * @param check a command run inside the clone once it is up ({@code sh -c}); null for none
   * @param timeout how long the clone may take to run (or turn healthy), and how long the check may take
   * @param strictMetadata fail the drill when the host's filesystem drops volume metadata
   */
  public record Options(String check, Duration timeout, boolean strictMetadata) {
    public Options {
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isZero() || timeout.isNegative()) {
        throw new IllegalArgumentException("the drill timeout must be above zero: " + timeout);
      }
    }

    /** Metadata the host's filesystem drops is a warning, not a failure. */
    public Options(String check, Duration timeout) {
      this(check, timeout, false);
    }
  }

  /**
   * The verdict.
   *
   * @param passed true when the clone came up (and the check passed)
   * @param snapshot the snapshot's short id
   * @param container the original container's name
   * @param scratch the clone's name
   * @param state "running" or "healthy" when it came up, else null
   * @param restore time to restore and come up
   * @param check time the check took (zero without a check)
   * @param cleanup time to remove everything
   * @param total the whole drill
   * @param failure what failed and what to do, or null when passed
   * @param leftovers what could not be removed (each with the command to remove it); empty when clean
   */
  public record Report(boolean passed, String snapshot, String container, String scratch, String state,
      Duration restore, Duration check, Duration cleanup, Duration total, String failure, List<String> leftovers) {}

  private final Engine engine;
  private final TransferListener progress;

  public Drill(Engine engine, TransferListener progress) {
    this.engine = Objects.requireNonNull(engine, "engine");
    this.progress = progress == null ? TransferListener.NONE : progress;
  }

  /**
   * Runs the drill of {@code snap}, read from {@code store}.
   *
   * @throws PreflightException when the host refuses the clone before anything was created (architecture, disk)
   * @throws EngineException when the engine cannot be used at all (not a verdict on the snapshot)
   * @throws JobException when a container with the clone's name exists that is not a drill clone
   */
  public Report run(Store store, Snapshot snap, Options options)
      throws PreflightException, EngineException, JobException {
    Instant t0 = Instant.now();
    SnapshotDocument doc = snap.document();
    String shortId = snap.summary().shortId();
    String clone = DrillDocument.scratchName(doc.container().name(), shortId);
    removeLeftover(clone);
    SnapshotDocument drillDoc = DrillDocument.of(doc, clone, shortId);
    Set<String> volumesBefore = volumeNames();
    boolean imageBefore = engine.findImage(doc.image().id()).isPresent();
    Cleanup cleanup = new Cleanup(clone, volumesBefore, imageBefore, doc.image().id(),
        RestoreRunner.IMAGE_REPO + clone.toLowerCase().replaceAll("[^a-z0-9_.-]", "-") + ":" + shortId, drillDoc);
    String state = null;
    String failure = null;
    Duration restoreTook = Duration.ZERO;
    Duration checkTook = Duration.ZERO;
    Shutdown.Registration onStop = Shutdown.onInterrupt("remove drill clone " + clone + " on " + engine.display(),
        cleanup::run);
    try {
      try {
        LOG.info("drill: restoring snapshot {} of {} on {} as {}", shortId, doc.container().name(), engine.display(),
            clone);
        RestoreRunner.Options ro = new RestoreRunner.Options(clone, true, false, false, options.timeout(),
            RestoreRunner.VolumeWriter.AUTO, null, options.strictMetadata());
        RestoreRunner.Result res = new RestoreRunner(engine, ro, progress).restore(drillDoc, shortId,
            RestoreRunner.fromRepository(store, snap));
        state = res.state();
        restoreTook = Duration.between(t0, Instant.now());
        LOG.info("drill: {} is {} after {}", clone, state, Durations.format(restoreTook.withNanos(0)));
        if (options.check() != null) {
          Instant c0 = Instant.now();
          Optional<String> bad = new HookRunner(engine).runOne("check", clone, res.id(),
              Hook.shell(options.check(), options.timeout(), Hook.OnError.ABORT, Optional.empty()), CHECK_ADVICE);
          checkTook = Duration.between(c0, Instant.now());
          if (bad.isPresent()) {
            failure = bad.get();
          }
        }
      } catch (RestoreException e) {
        restoreTook = Duration.between(t0, Instant.now());
        failure = JobRunner.message(e);
      } catch (EngineException e) {
        restoreTook = Duration.between(t0, Instant.now());
        failure = JobRunner.message(e);
      } finally {
        cleanup.run();
      }
    } finally {
      onStop.close();
    }
    List<String> leftovers = List.copyOf(cleanup.leftovers);
    if (failure == null && !leftovers.isEmpty()) {
      failure = "the clone passed but could not be removed completely: " + String.join("; ", leftovers);
    }
    return new Report(failure == null, shortId, doc.container().name(), clone, state, restoreTook, checkTook,
        cleanup.took, Duration.between(t0, Instant.now()), failure, leftovers);
  }

  /** A clone left by a drill that was killed (SIGKILL) is removed; any other container of that name is refused. */
  private void removeLeftover(String clone) throws EngineException, JobException {
    Optional<ObjectNode> existing = engine.findContainer(clone);
    if (existing.isEmpty()) {
      return;
    }
    if (!existing.get().path("Config").path("Labels").has(JobRunner.DRILL_LABEL)) {
      throw new JobException("a container named " + clone + " exists on " + engine.display()
          + " and is not a drill clone; rename or remove it, then drill again");
    }
    LOG.warn("drill: removing {} left by an earlier drill that was killed", clone);
    Set<String> vols = mountedVolumes(existing.get());
    engine.removeContainer(clone, true, true);
    for (String v : vols) {
      Optional<ObjectNode> vol = engine.findVolume(v);
      if (vol.isPresent() && vol.get().path("Labels").has(JobRunner.DRILL_LABEL)) {
        engine.removeVolume(v, true);
      }
    }
  }

  private Set<String> volumeNames() throws EngineException {
    Set<String> out = new HashSet<>();
    for (ObjectNode v : engine.listVolumes(java.util.Map.of())) {
      out.add(v.path("Name").asText());
    }
    return out;
  }

  private static Set<String> mountedVolumes(JsonNode inspect) {
    Set<String> out = new LinkedHashSet<>();
    for (JsonNode m : inspect.path("Mounts")) {
      if ("volume".equals(m.path("Type").asText()) && m.hasNonNull("Name")) {
        out.add(m.path("Name").asText());
      }
    }
    return out;
  }

  /** Removes what the drill created; runs once, from the drill or from the shutdown hook, whichever is first. */
  private final class Cleanup implements Runnable {
    final String clone;
    final Set<String> volumesBefore;
    final boolean imageBefore;
    final String imageId;
    final String imageRef;
    final SnapshotDocument drillDoc;
    final Deque<String> leftovers = new ArrayDeque<>();
    Duration took = Duration.ZERO;
    private boolean done;

    Cleanup(String clone, Set<String> volumesBefore, boolean imageBefore, String imageId, String imageRef,
        SnapshotDocument drillDoc) {
      this.clone = clone;
      this.volumesBefore = volumesBefore;
      this.imageBefore = imageBefore;
      this.imageId = imageId;
      this.imageRef = imageRef;
      this.drillDoc = drillDoc;
    }

    @Override
    public synchronized void run() {
      if (done) {
        return;
      }
      done = true;
      Instant c0 = Instant.now();
      Set<String> volumes = new LinkedHashSet<>();
      for (SnapshotDocument.Volume v : drillDoc.volumes()) {
        if (!v.anonymous()) {
          volumes.add(v.name());
        }
      }
      try {
        Optional<ObjectNode> c = engine.findContainer(clone);
        if (c.isPresent()) {
          volumes.addAll(mountedVolumes(c.get()));
          engine.removeContainer(clone, true, true);
          LOG.info("drill: removed {}", clone);
        }
      } catch (EngineException e) {
        leftovers.add("container " + clone + " (" + e.getMessage() + "; run `docker rm -f " + clone + "`)");
      }
      for (String v : volumes) {
        // Only volumes this drill created: never one that existed before it began.
        if (volumesBefore.contains(v)) {
          continue;
        }
        try {
          engine.removeVolume(v, true);
        } catch (EngineException e) {
          leftovers.add("volume " + v + " (" + e.getMessage() + "; run `docker volume rm " + v + "`)");
        }
      }
      try {
        engine.removeImage(imageRef, false);
        if (!imageBefore) {
          engine.removeImage(imageId, false);
        }
      } catch (EngineException e) {
        leftovers.add("image " + imageRef + " (" + e.getMessage() + "; run `docker rmi " + imageRef + "`)");
      }
      took = Duration.between(c0, Instant.now());
    }
  }
}
