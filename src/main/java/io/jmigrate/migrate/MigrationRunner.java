package io.jmigrate.migrate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.backup.BackupRunner;
import io.jmigrate.backup.Consistency;
import io.jmigrate.backup.Freeze;
import io.jmigrate.backup.RecoveryJournal;
import io.jmigrate.backup.MountPlan;
import io.jmigrate.backup.VolumeSources;
import io.jmigrate.archive.VolumeArchive;
import io.jmigrate.blob.CountingInputStream;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.TransferListener;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.engine.Shutdown;
import io.jmigrate.restore.ContainerSpec;
import io.jmigrate.restore.MetadataLossException;
import io.jmigrate.restore.Preflight;
import io.jmigrate.restore.PreflightException;
import io.jmigrate.restore.Readiness;
import io.jmigrate.restore.RestoreException;
import io.jmigrate.restore.RestoreRunner;
import io.jmigrate.restore.TargetBuilder;
import io.jmigrate.restore.TargetJournal;
import io.jmigrate.snapshot.Contents;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves containers from a source engine to a target engine with no repository in between, keeping the downtime
 * to the part of the work that must happen while the source is stopped.
 *
 * <ol>
 *   <li>Pre-flight on both hosts before anything is touched.
 *   <li>Pre-copy while the source runs: commit its writable layer (a brief pause), stream the image to the target
 *       sending only the layers it lacks, and stream every volume into a new volume on the target, remembering
 *       the diffID of what was sent.
 *   <li>Stop the source (downtime starts), commit again and compare: if the new commit's layer diffIDs equal the
 *       pre-copied image's, the clone is created from that image, else the new top layer is sent. Every volume is
 *       read again, hash only: an unchanged one is kept, a changed one is refilled.
 *   <li>Create networks and containers, start them in dependency order and wait until each runs, or is healthy
 *       when it has a healthcheck (downtime ends).
 *   <li>Leave the source stopped (not removed) and say how to roll back.
 * </ol>
 * Any failure after the source stopped, and Ctrl-C or SIGTERM at any point, starts the source again and removes
 * what was created on the target ({@link Rollback}).
 */
public final class MigrationRunner {
  private static final Logger LOG = LoggerFactory.getLogger(MigrationRunner.class);
  /** Repository of the tag given to migrated images on the target: {@code jmigrate/<name>:m-<time>}. */
  public static final String IMAGE_REPO = "jmigrate/";
  private static final DateTimeFormatter LABEL =
      DateTimeFormatter.ofPattern("'m-'yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  /**
   * How to migrate. {@code strictMetadata} makes metadata that the target's filesystem dropped a failure (rolled
   * back) instead of a warning.
   */
  public record Options(boolean keepRunning, boolean replace, boolean removeSource, boolean removeVolumes,
      Duration stopTimeout, Duration waitTimeout, VolumeSources.Reader reader, RestoreRunner.VolumeWriter writer,
      Duration cleanupTimeout, boolean checkOnly, String toolVersion, boolean strictMetadata) {
    /** Metadata losses as warnings. */
    public Options(boolean keepRunning, boolean replace, boolean removeSource, boolean removeVolumes,
        Duration stopTimeout, Duration waitTimeout, VolumeSources.Reader reader, RestoreRunner.VolumeWriter writer,
        Duration cleanupTimeout, boolean checkOnly, String toolVersion) {
      this(keepRunning, replace, removeSource, removeVolumes, stopTimeout, waitTimeout, reader, writer,
          cleanupTimeout, checkOnly, toolVersion, false);
    }

    public static Options defaults(String toolVersion) {
      return new Options(false, false, false, false, null, Duration.ofSeconds(120), VolumeSources.Reader.AUTO,
          RestoreRunner.VolumeWriter.AUTO, Duration.ofSeconds(60), false, toolVersion);
    }
  }

  /** One container moved: its new id and state on the target, and the bytes sent for it. */
  public record Moved(String name, String id, String state, long layerBytes, long volumeBytes) {}

  /**
   * What a migration did. {@code downtime} runs from the moment the first source container was told to stop to the
   * moment the last clone ran (or was healthy); null when no source container was running. {@code rollbackHint}
   * is the command line that undoes the move. {@code snapshotProblem} says why the --via snapshot failed (the
   * migration itself succeeded), or is null.
   */
  public record Result(List<Moved> containers, Duration downtime, Duration total, long layerBytes,
      long volumeBytes, String rollbackHint, String snapshotProblem) {}

  /** A volume as moved to the target: its name there, and the diffID and size of the content it received. */
  private static final class TargetVolume {
    final MountPlan.Mount mount;
    final Member owner;
    String name;
    String hostDir;
    Digest diffId;
    long bytes;
    /** Filled with nothing but its root: its mounts must not let the engine seed it from the image. */
    boolean empty;

    TargetVolume(MountPlan.Mount mount, Member owner) {
      this.mount = mount;
      this.owner = owner;
    }
  }

  private final Engine source;
  private final Engine target;
  private final Options options;
  private final Consumer<String> report;
  private final TransferListener progress;
  private final ImageTransfer images;
  private final String label;

  /**
   * {@code report} receives one line per event (layer sent, volume checked, container started); {@code progress}
   * hears the bytes of each layer and volume as they stream (null: nobody listens).
   */
  public MigrationRunner(Engine source, Engine target, Options options, Consumer<String> report,
      TransferListener progress) {
    this.source = source;
    this.target = target;
    this.options = options;
    this.report = report;
    this.progress = progress == null ? TransferListener.NONE : progress;
    this.images = new ImageTransfer(source, target, report, this.progress);
    this.label = LABEL.format(Instant.now());
  }

  /**
   * The containers to move: those named, or every container of compose project {@code project}, in start order.
   * What would keep them from moving (a paused source, an unreadable depends_on label, a dependency cycle) is added
   * to {@code problems}, for the pre-flight report.
   *
   * @throws EngineException NOT_FOUND when a container (or every container of the project) is missing
   */
  List<Member> select(List<String> names, String project, List<String> problems) throws EngineException {
    List<ObjectNode> inspects = new ArrayList<>();
    if (project != null) {
      List<ObjectNode> listed = source.listContainers(true,
          Map.of("label", List.of(ServiceOrder.PROJECT_LABEL + "=" + project)));
      if (listed.isEmpty()) {
        throw new EngineException(EngineException.Kind.NOT_FOUND, "no container of compose project '" + project
            + "' on " + source.display() + " (label " + ServiceOrder.PROJECT_LABEL + "=" + project
            + "); `docker ps -a --filter label=" + ServiceOrder.PROJECT_LABEL + "=" + project + "` lists them");
      }
      for (ObjectNode c : listed) {
        inspects.add(source.inspectContainer(c.path("Id").asText()));
      }
    }
    for (String n : names) {
      Optional<ObjectNode> c = source.findContainer(n);
      if (c.isEmpty()) {
        throw new EngineException(EngineException.Kind.NOT_FOUND, "no container '" + n + "' on "
            + source.display() + "; `docker ps -a` lists the containers there");
      }
      if (inspects.stream().noneMatch(i -> i.path("Id").asText().equals(c.get().path("Id").asText()))) {
        inspects.add(c.get());
      }
    }
    inspects.sort((x, y) -> x.path("Name").asText().compareTo(y.path("Name").asText()));
    List<Member> members = new ArrayList<>();
    for (ObjectNode i : inspects) {
      String name = stripSlash(i.path("Name").asText());
      JsonNode labels = i.path("Config").path("Labels");
      String service = labels.path(ServiceOrder.SERVICE_LABEL).asText(name);
      List<ServiceOrder.Dependency> deps = List.of();
      try {
        deps = ServiceOrder.parse(labels.path(ServiceOrder.DEPENDS_ON_LABEL).asText(null));
      } catch (IllegalArgumentException e) {
        problems.add("container " + name + ": " + e.getMessage());
      }
      JsonNode st = i.path("State");
      if (st.path("Paused").asBoolean() || st.path("Restarting").asBoolean()
          || "dead".equals(st.path("Status").asText())) {
        problems.add("container " + name + " on " + source.display() + " is " + st.path("Status").asText() + ": "
            + (st.path("Paused").asBoolean() ? "unpause" : "start or stop") + " it first");
      }
      for (String skipped : MountPlan.skippedBinds(i, false)) {
        report.accept(name + ": bind mount " + skipped + " is recreated as configured but its contents are not "
            + "copied; copy them to the target host yourself");
      }
      members.add(new Member(i.path("Id").asText(), name, service, i, MountPlan.of(i, false), deps,
          st.path("Running").asBoolean()));
    }
    for (String u : ServiceOrder.unknownDependencies(members, Member::service, Member::dependencies)) {
      report.accept("dependency " + u + " is not among the containers moved; it is not waited for");
    }
    try {
      return ServiceOrder.sort(members, Member::service, Member::dependencies);
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
      return members;
    }
  }

  /**
   * Runs the pre-flight checks on both hosts; throws with every problem found, {@code problems} (from
   * {@link #select}) included. Changes nothing.
   */
  void preflight(List<Member> members, List<String> problems) throws EngineException, PreflightException {
    // Container ids are 256 random bits: a target that knows the source container by id is the same engine. (The
    // /info ID is not unique: daemons on one machine share it.)
    if (!members.isEmpty() && target.findContainer(members.get(0).id()).isPresent()) {
      problems.add("the source and the target are the same engine (" + source.display() + " and "
          + target.display() + "): name two different hosts");
      throw new PreflightException(problems);
    }
    long targetNeeds = 0;
    long sourceNeeds = 0;
    java.util.Set<String> volumesSeen = new java.util.HashSet<>();
    for (Member m : members) {
      List<Preflight.VolumeUse> volumes = new ArrayList<>();
      for (MountPlan.Mount mount : m.mounts()) {
        volumes.add(new Preflight.VolumeUse(mount.name(), mount.anonymous(), mount.driver()));
        if (volumesSeen.add(mount.name()) && source.isLocal()) {
          targetNeeds += directorySize(mount.source());
        }
      }
      problems.addAll(Preflight.problems(target, m.name(), m.inspect(), source.architecture(), volumes,
          options.replace(), true, true));
      long writable = source.isLocal()
          ? directorySize(m.inspect().path("GraphDriver").path("Data").path("UpperDir").asText(null)) : 0;
      long image = 0;
      String imageId = m.inspect().path("Image").asText();
      List<Digest> diffIds = ImageTransfer.diffIds(source, imageId);
      if (target.findImage(imageId).isEmpty() && RestoreRunner.presentPrefix(target, diffIds) < diffIds.size()) {
        image = source.inspectImage(imageId).path("Size").asLong(0);
      }
      // The target stages each load in full before it unpacks it; the source commits the writable layer and
      // stages its save.
      targetNeeds += 2 * (image + writable);
      sourceNeeds += 2 * writable + image;
    }
    Preflight.diskProblem(target, targetNeeds, "the migration").ifPresent(problems::add);
    OptionalLong free = source.freeDiskBytes();
    if (free.isPresent() && sourceNeeds > 0 && free.getAsLong() < sourceNeeds) {
      problems.add(String.format("%s has %,d MB free under its data root but committing and saving the "
          + "containers needs about %,d MB there: free disk space on the source", source.display(),
          free.getAsLong() >> 20, sourceNeeds >> 20));
    }
    if (!problems.isEmpty()) {
      throw new PreflightException(problems);
    }
  }

  /**
   * Migrates the containers named (or every container of {@code project}). {@code snapshotter}, when not null,
   * is run after the clones run, before the source is removed (--via).
   *
   * @throws PreflightException when a check failed; nothing was changed
   * @throws MigrateException when a later step failed; the source runs again and the target was cleaned up
   */
  public Result migrate(List<String> names, String project, Snapshotter snapshotter)
      throws EngineException, PreflightException, MigrateException {
    Instant started = Instant.now();
    // A source container a killed jmigrate left paused would be migrated as paused, and refused: undo that first.
    for (String line : RecoveryJournal.recover(source)) {
      report.accept("recovered: " + line);
    }
    List<String> problems = new ArrayList<>();
    List<Member> members = select(names, project, problems);
    preflight(members, problems);
    String what = describe(members);
    if (options.checkOnly()) {
      report.accept("pre-flight checks passed for " + what + ": " + source.display() + " -> " + target.display());
      return new Result(List.of(), null, Duration.between(started, Instant.now()), 0, 0, null, null);
    }
    TargetJournal journal = new TargetJournal(target);
    Rollback rollback = new Rollback(source, target, journal, options.cleanupTimeout(), report);
    ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "migrate-worker");
      t.setDaemon(true);
      return t;
    });
    rollback.workers(pool);
    TargetBuilder build = new TargetBuilder(target, journal, options.writer(), options.strictMetadata());
    Map<String, TargetVolume> volumes = new LinkedHashMap<>();
    Freeze freeze = null;
    Instant stopAt = null;
    try {
      if (options.replace()) {
        replaceExisting(members);
      }
      Map<String, ObjectNode> networks = sourceNetworks(members);
      for (Member m : members) {
        critical(() -> build.createNetworks(m.inspect(), networks));
      }
      for (Member m : members) {
        for (MountPlan.Mount mount : m.mounts()) {
          volumes.putIfAbsent(mount.name(), new TargetVolume(mount, m));
        }
      }

      // Pre-copy: the bulk of the data moves while the source still runs.
      for (Member m : members) {
        if (!m.running()) {
          continue;
        }
        precopyCommit(m, rollback, pool);
        m.precopyDiffIds = ImageTransfer.diffIds(source, m.precopyImage);
        report.accept(m.name() + ": pre-copy while it runs: committed its writable layer (" + shortId(m.precopyImage)
            + ")");
        ImageTransfer.Sent s = images.send(m.precopyImage, repo(m), label, journal, m.name());
        m.layerBytes += s.bytes();
        m.targetImage = repo(m) + ":" + label;
        fillVolumes(build, volumes, m);
      }

      // Downtime: stop (or pause) the whole group at once, dependents first.
      List<Freeze.Target> hold = new ArrayList<>();
      for (int i = members.size() - 1; i >= 0; i--) {
        Member m = members.get(i);
        if (m.running()) {
          hold.add(new Freeze.Target(m.id(), m.name(), true, false));
        }
      }
      if (!hold.isEmpty()) {
        stopAt = Instant.now();
        Consistency mode = options.keepRunning() ? Consistency.PAUSE : Consistency.STOP;
        freeze = critical(() -> {
          Freeze f = Freeze.apply(source, hold, mode, options.stopTimeout(), rollback.recovery());
          rollback.frozen(f);
          return f;
        });
        report.accept((options.keepRunning() ? "paused " : "stopped ") + String.join(", ",
            hold.stream().map(Freeze.Target::name).toList()) + " on " + source.display()
            + (options.keepRunning() ? "" : ": downtime starts"));
      }
      finalPass(members, volumes, build, journal, rollback, pool);
      if (options.keepRunning() && freeze != null) {
        freeze.resume();
        report.accept("resumed " + names(members, true) + " on " + source.display() + " after "
            + seconds(Duration.between(stopAt, Instant.now())) + " paused");
      }

      // Recreate in dependency order; start what ran on the source.
      for (Member m : members) {
        Set<String> empty = new HashSet<>();
        for (MountPlan.Mount mount : m.mounts()) {
          TargetVolume v = volumes.get(mount.name());
          if (v != null && v.empty) {
            empty.add(mount.destination());
          }
        }
        ContainerSpec spec = ContainerSpec.from(m.inspect(), m.targetImage, m.anonymous,
            build.multiNetworkCreate(), true).withoutCopyUp(empty);
        m.targetId = critical(() -> build.createContainer(m.name(), spec));
      }
      for (Member m : members) {
        if (!m.running()) {
          m.state = "created";
          report.accept(m.name() + ": created on " + target.display() + " (not started: it was not running on "
              + source.display() + ")");
          continue;
        }
        target.startContainer(m.targetId);
        Instant startedAt = Instant.now();
        m.state = Readiness.await(target, m.targetId, m.name(), options.waitTimeout());
        m.readyAt = m.hasHealthcheck() ? Instant.now() : startedAt;
        report.accept(m.name() + ": " + m.state + " on " + target.display());
      }
      Instant readyAt = members.stream().map(x -> x.readyAt).filter(x -> x != null).max(Instant::compareTo)
          .orElse(null);
      Duration downtime = stopAt != null && readyAt != null && !options.keepRunning()
          ? Duration.between(stopAt, readyAt) : null;

      // Success: keep everything on the target, keep the sources stopped.
      critical(() -> {
        journal.commit();
        rollback.disarm();
        return null;
      });
      if (freeze != null) {
        freeze.release();
      }
      removeSupersededImages(members);
      rollback.removeSourceImages();
      String hint = rollbackHint(members, volumes);
      String snapshotProblem = afterSuccess(members, volumes, snapshotter);
      List<Moved> moved = new ArrayList<>();
      long layerBytes = 0;
      long volumeBytes = 0;
      for (Member m : members) {
        moved.add(new Moved(m.name(), m.targetId, m.state, m.layerBytes, m.volumeBytes));
        layerBytes += m.layerBytes;
        volumeBytes += m.volumeBytes;
      }
      return new Result(moved, downtime, Duration.between(started, Instant.now()), layerBytes, volumeBytes,
          hint, snapshotProblem);
    } catch (EngineException | IOException | RuntimeException | RestoreException | InterruptedException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      boolean stopped = freeze != null;
      Rollback.Outcome undone = rollback.run();
      String sourceState = !stopped ? "the source kept running"
          : !undone.sourceBack() ? "the source could NOT be started again (see above)"
          : options.keepRunning() ? "the source was resumed" : "the source was started again";
      String targetState = undone.targetClean() ? "what was created on " + target.display() + " was removed"
          : "what is left on " + target.display() + " must be removed with the commands above";
      // After a signal the error in hand is only how the interrupted step broke off (a cancelled load reads as a
      // lost engine connection): the cause to name is the signal.
      String why = Shutdown.inProgress() ? "jmigrate was told to stop (Ctrl-C or SIGTERM)" : e.getMessage();
      throw new MigrateException("migration of " + what + " from " + source.display() + " to " + target.display()
          + " failed: " + why + "; rolled back: " + sourceState + " and " + targetState, e);
    } finally {
      pool.shutdownNow();
      if (freeze != null) {
        freeze.close();
      }
      journal.close();
      rollback.ended();
    }
  }

  /**
   * Commits the writable layer of a running member for the pre-copy. When the source is this machine and uses
   * overlay2, the container is paused for the commit while its upper directory (the writable layer's files) is
   * hashed, so that the final pass can tell from a second hash alone that the layer did not change, and skip the
   * commit, which the engine always makes in full, during the downtime. Otherwise the engine pauses it itself.
   */
  private void precopyCommit(Member m, Rollback rollback, ExecutorService pool)
      throws EngineException, IOException, InterruptedException {
    String tmp = tempTag(m);
    rollback.sourceImage(BackupRunner.TEMP_REPO + ":" + tmp);
    Optional<Path> upper = upperDir(m);
    if (upper.isEmpty()) {
      m.precopyImage = critical(() -> source.commit(m.id(), BackupRunner.TEMP_REPO, tmp, true));
      return;
    }
    Freeze pause = critical(() -> Freeze.apply(source, List.of(new Freeze.Target(m.id(), m.name(), true, false)),
        Consistency.PAUSE, null, rollback.recovery()));
    try {
      Future<String> commit = pool.submit(() -> critical(() -> source.commit(m.id(), BackupRunner.TEMP_REPO, tmp,
          false)));
      m.precopyUpper = hashDirectory(upper.get());
      m.precopyImage = get(commit);
      pause.resume();
    } finally {
      pause.close();
    }
  }

  /** The member's overlay2 upper directory, when the source is this machine and this process can read it. */
  private Optional<Path> upperDir(Member m) {
    JsonNode driver = m.inspect().path("GraphDriver");
    String dir = driver.path("Data").path("UpperDir").asText("");
    if (!source.isLocal() || !"overlay2".equals(driver.path("Name").asText()) || dir.isEmpty()) {
      return Optional.empty();
    }
    Path p = Path.of(dir);
    return Files.isDirectory(p) && Files.isReadable(p) ? Optional.of(p) : Optional.empty();
  }

  /** The digest of a directory's deterministic tar (every file, owner, mode, mtime, xattr and whiteout). */
  private static Digest hashDirectory(Path dir) throws IOException {
    return Contents.hashOnly(out -> VolumeArchive.write(dir, java.util.Set.of(), out)).diffId();
  }

  /** Runs the backup into the --via repository; a failure there does not undo the migration. */
  @FunctionalInterface
  public interface Snapshotter {
    /** Backs up container {@code name} on {@code source} (stopped after a move, running with --keep-running). */
    void snapshot(String name) throws Exception;
  }

  /**
   * The --via snapshots, then --remove-source. Returns why a snapshot failed, or null: the migration stands either
   * way, and a source whose snapshot failed is not removed.
   */
  private String afterSuccess(List<Member> members, Map<String, TargetVolume> volumes, Snapshotter snapshotter) {
    if (snapshotter != null) {
      for (Member m : members) {
        try {
          snapshotter.snapshot(m.name());
        } catch (Exception e) {
          LOG.debug("snapshot of {} failed", m.name(), e);
          return "the snapshot of " + m.name() + " into the --via repository failed: " + e.getMessage()
              + "; take it with `jmigrate backup -H " + source.display() + " " + m.name() + "`"
              + (options.removeSource() ? "; the source was not removed" : "");
        }
      }
    }
    if (options.removeSource() && !options.keepRunning()) {
      for (Member m : members) {
        try {
          source.removeContainer(m.id(), false, options.removeVolumes());
          report.accept("removed " + m.name() + " from " + source.display());
        } catch (EngineException e) {
          report.accept("could not remove " + m.name() + " from " + source.display() + ": " + e.getMessage());
        }
      }
      if (options.removeVolumes()) {
        for (TargetVolume v : volumes.values()) {
          if (v.mount.anonymous()) {
            continue;
          }
          try {
            source.removeVolume(v.mount.name(), false);
            report.accept("removed volume " + v.mount.name() + " from " + source.display());
          } catch (EngineException e) {
            report.accept("could not remove volume " + v.mount.name() + " from " + source.display() + ": "
                + e.getMessage());
          }
        }
      }
    }
    return null;
  }

  /**
   * The final pass, with the source stopped: commit again and read every volume hash-only, in parallel (the commit
   * is engine work, the hashing local reading), then send what changed.
   */
  private void finalPass(List<Member> members, Map<String, TargetVolume> volumes, TargetBuilder build,
      TargetJournal journal, Rollback rollback, ExecutorService pool)
      throws EngineException, IOException, InterruptedException, MetadataLossException {
    Map<Member, Future<Digest>> uppers = new LinkedHashMap<>();
    Map<Member, Future<String>> commits = new LinkedHashMap<>();
    for (Member m : members) {
      Optional<Path> upper = upperDir(m);
      if (m.precopyUpper != null && upper.isPresent()) {
        uppers.put(m, pool.submit(() -> hashDirectory(upper.get())));
      } else {
        commits.put(m, commit(m, rollback, pool));
      }
    }
    Map<TargetVolume, Future<Contents.Stored>> hashes = new LinkedHashMap<>();
    for (TargetVolume v : volumes.values()) {
      if (v.diffId != null) {
        Contents.Source src = VolumeSources.of(source, v.owner.id(), v.mount, options.reader());
        hashes.put(v, pool.submit(() -> Contents.hashOnly(src)));
      }
    }
    for (Member m : members) {
      if (uppers.containsKey(m)) {
        if (get(uppers.get(m)).equals(m.precopyUpper)) {
          report.accept(m.name() + ": writable layer unchanged since the pre-copy (its files are the same), "
              + "no commit needed, no layer to send");
          continue;
        }
        commits.put(m, commit(m, rollback, pool));
      }
      String image = get(commits.get(m));
      List<Digest> diffIds = ImageTransfer.diffIds(source, image);
      if (m.precopyDiffIds != null && m.precopyDiffIds.equals(diffIds)) {
        report.accept(m.name() + ": writable layer unchanged since the pre-copy, no layer to send");
        continue;
      }
      if (m.precopyDiffIds != null) {
        report.accept(m.name() + ": writable layer changed since the pre-copy, sending the new top layer");
      }
      ImageTransfer.Sent s = images.send(image, repo(m), label, journal, m.name());
      m.layerBytes += s.bytes();
      m.targetImage = repo(m) + ":" + label;
    }
    for (Map.Entry<TargetVolume, Future<Contents.Stored>> e : hashes.entrySet()) {
      TargetVolume v = e.getKey();
      Contents.Stored now = get(e.getValue());
      if (now.diffId().equals(v.diffId)) {
        report.accept(v.owner.name() + ": " + describe(v.mount) + " unchanged since the pre-copy");
      } else {
        report.accept(v.owner.name() + ": " + describe(v.mount) + " changed since the pre-copy, sending it again");
        critical(() -> {
          target.removeVolume(v.name, true);
          return null;
        });
        v.diffId = null;
      }
    }
    for (Member m : members) {
      fillVolumes(build, volumes, m);
    }
  }

  /** Commits a stopped (or paused) member on the pool; the temporary image is removed at the end. */
  private Future<String> commit(Member m, Rollback rollback, ExecutorService pool) {
    String tmp = tempTag(m);
    rollback.sourceImage(BackupRunner.TEMP_REPO + ":" + tmp);
    return pool.submit(() -> critical(() -> source.commit(m.id(), BackupRunner.TEMP_REPO, tmp, false)));
  }

  /**
   * Creates and fills the target volumes of {@code m} that have no content yet (all of them in the pre-copy, the
   * changed ones in the final pass), directly when the target is this machine, else through a helper container.
   */
  private void fillVolumes(TargetBuilder build, Map<String, TargetVolume> volumes, Member m)
      throws EngineException, IOException, InterruptedException, MetadataLossException {
    Map<String, String> viaHelper = new LinkedHashMap<>();
    Map<String, TargetBuilder.TarSource> tars = new LinkedHashMap<>();
    Map<String, String> what = new LinkedHashMap<>();
    Map<String, HashedTar> opened = new LinkedHashMap<>();
    List<TargetVolume> filled = new ArrayList<>();
    for (MountPlan.Mount mount : m.mounts()) {
      TargetVolume v = volumes.get(mount.name());
      if (v.owner != m || v.diffId != null) {
        if (mount.anonymous() && v.name != null) {
          m.anonymous.put(mount.destination(), v.name);
        }
        continue;
      }
      Optional<ObjectNode> info = source.findVolume(mount.name());
      Map<String, String> labels = info.map(i -> stringMap(i.path("Labels"))).orElse(Map.of());
      Map<String, String> opts = info.map(i -> stringMap(i.path("Options"))).orElse(Map.of());
      String driver = info.map(i -> i.path("Driver").asText(null)).orElse(mount.driver());
      TargetBuilder.CreatedVolume created = critical(() -> build.createVolume(mount.anonymous() ? null
          : mount.name(), driver, opts, labels));
      v.name = created.name();
      v.hostDir = created.hostDir();
      if (mount.anonymous()) {
        m.anonymous.put(mount.destination(), v.name);
      }
      Contents.Source src = VolumeSources.of(source, m.id(), mount, options.reader());
      String label = describe(mount);
      if (build.writesDirect(v.hostDir, label)) {
        HashedTar in = HashedTar.open(v.name, src);
        VolumeArchive.Stats stats;
        try (in; TransferListener.Transfer t = progress.start(m.name() + ": " + label, -1)) {
          stats = TargetBuilder.fillDirect(new CountingInputStream(in, t), Path.of(v.hostDir));
        }
        v.empty = TargetBuilder.holdsNothing(stats);
        v.diffId = in.diffId();
        v.bytes = in.bytes();
        sent(m, v);
        build.checkMetadata(m.name() + ": " + label, stats);
      } else {
        String key = Integer.toString(viaHelper.size());
        viaHelper.put(key, v.name);
        what.put(key, label);
        tars.put(key, () -> {
          HashedTar in = HashedTar.open(v.name, src);
          opened.put(key, in);
          return TargetBuilder.counted(in, progress.start(m.name() + ": " + label, -1));
        });
        filled.add(v);
      }
    }
    if (!viaHelper.isEmpty()) {
      Map<String, VolumeArchive.Stats> stats = build.fillThroughHelper(m.targetImage, viaHelper, tars, what);
      int k = 0;
      for (TargetVolume v : filled) {
        String key = Integer.toString(k++);
        HashedTar in = opened.get(key);
        v.empty = TargetBuilder.holdsNothing(stats.get(key));
        v.diffId = in.diffId();
        v.bytes = in.bytes();
        sent(m, v);
      }
    }
  }

  private void sent(Member m, TargetVolume v) {
    m.volumeBytes += v.bytes;
    report.accept(m.name() + ": " + describe(v.mount) + " sent: " + ImageTransfer.bytesText(v.bytes));
  }

  /** The user-defined networks the members join, as inspected on the source. */
  private Map<String, ObjectNode> sourceNetworks(List<Member> members) throws EngineException {
    Map<String, ObjectNode> out = new LinkedHashMap<>();
    for (Member m : members) {
      for (java.util.Iterator<String> it = m.inspect().path("NetworkSettings").path("Networks").fieldNames();
          it.hasNext();) {
        String net = it.next();
        if (!ContainerSpec.BUILTIN_NETWORKS.contains(net) && !out.containsKey(net)) {
          source.findNetwork(net).ifPresent(n -> out.put(net, n));
        }
      }
    }
    return out;
  }

  private void replaceExisting(List<Member> members) throws EngineException, InterruptedException {
    for (Member m : members) {
      Optional<ObjectNode> existing = target.findContainer(m.name());
      if (existing.isPresent()) {
        report.accept("--replace: removing the existing container " + m.name() + " on " + target.display());
        target.removeContainer(existing.get().path("Id").asText(), true, false);
      }
      for (MountPlan.Mount mount : m.mounts()) {
        if (!mount.anonymous() && target.findVolume(mount.name()).isPresent()) {
          report.accept("--replace: removing the existing volume " + mount.name() + " on " + target.display());
          target.removeVolume(mount.name(), true);
        }
      }
    }
  }

  /** Removes images loaded in the pre-copy that a changed final commit superseded (untagged, unused). */
  private void removeSupersededImages(List<Member> members) {
    for (Member m : members) {
      if (m.precopyImage == null) {
        continue;
      }
      try {
        Optional<ObjectNode> img = target.findImage(m.precopyImage);
        if (img.isPresent() && img.get().path("RepoTags").isEmpty()) {
          target.removeImage(m.precopyImage, false);
        }
      } catch (EngineException e) {
        LOG.debug("could not remove superseded image {} on {}", m.precopyImage, target.display(), e);
      }
    }
  }

  private String rollbackHint(List<Member> members, Map<String, TargetVolume> volumes) {
    StringBuilder sb = new StringBuilder(Rollback.docker(target)).append(" rm -f");
    for (Member m : members) {
      sb.append(' ').append(m.name());
    }
    List<String> vols = new ArrayList<>();
    for (TargetVolume v : volumes.values()) {
      if (v.name != null) {
        vols.add(v.name);
      }
    }
    if (!vols.isEmpty()) {
      sb.append(" && ").append(Rollback.docker(target)).append(" volume rm");
      vols.forEach(v -> sb.append(' ').append(v));
    }
    if (!options.keepRunning()) {
      List<String> ran = new ArrayList<>();
      members.stream().filter(Member::running).forEach(m -> ran.add(m.name()));
      if (!ran.isEmpty()) {
        sb.append(" && ").append(Rollback.docker(source)).append(" start ").append(String.join(" ", ran));
      }
    }
    return sb.toString();
  }

  /**
   * Runs a step that creates something (a container, volume or network on the target, a temporary image on the
   * source) so that a stop signal cannot split it from its record: the shutdown's rollback waits for it to end.
   */
  private static <T> T critical(Callable<T> body) throws EngineException, InterruptedException {
    try {
      return Shutdown.critical(body);
    } catch (EngineException | InterruptedException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  private static <T> T get(Future<T> f) throws EngineException, IOException, InterruptedException {
    try {
      return f.get();
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof EngineException) {
        throw (EngineException) c;
      }
      if (c instanceof IOException) {
        throw (IOException) c;
      }
      if (c instanceof RuntimeException) {
        throw (RuntimeException) c;
      }
      throw new IOException(c.getMessage(), c);
    }
  }

  private static String repo(Member m) {
    return IMAGE_REPO + m.name().toLowerCase().replaceAll("[^a-z0-9_.-]", "-");
  }

  private static String tempTag(Member m) {
    return m.name().replaceAll("[^a-zA-Z0-9_.-]", "_") + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static String describe(List<Member> members) {
    return names(members, false);
  }

  private static String names(List<Member> members, boolean runningOnly) {
    List<String> out = new ArrayList<>();
    for (Member m : members) {
      if (!runningOnly || m.running()) {
        out.add(m.name());
      }
    }
    return String.join(", ", out);
  }

  private static String describe(MountPlan.Mount m) {
    return m.anonymous() ? "anonymous volume at " + m.destination() : "volume " + m.name();
  }

  private static String shortId(String id) {
    return id.startsWith("sha256:") ? id.substring(7, 19) : id;
  }

  static String seconds(Duration d) {
    return String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }

  private static Map<String, String> stringMap(JsonNode n) {
    Map<String, String> out = new java.util.TreeMap<>();
    n.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
    return out;
  }

  private static String stripSlash(String n) {
    return n.startsWith("/") ? n.substring(1) : n;
  }

  /** Bytes of the regular files under {@code dir} on this machine; 0 when it cannot be read. */
  static long directorySize(String dir) {
    if (dir == null || dir.isEmpty() || !Files.isDirectory(Path.of(dir))) {
      return 0;
    }
    long[] total = {0};
    try {
      Files.walkFileTree(Path.of(dir), new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
          if (attrs.isRegularFile()) {
            total[0] += attrs.size();
          }
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException exc) {
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      LOG.debug("cannot measure {}", dir, e);
    }
    return total[0];
  }
}
