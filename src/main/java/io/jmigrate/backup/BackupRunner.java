package io.jmigrate.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.CountingOutputStream;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.blob.TransferListener;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.engine.Shutdown;
import io.jmigrate.snapshot.Contents;
import io.jmigrate.snapshot.SnapshotDocument;
import io.jmigrate.snapshot.SnapshotException;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import io.jmigrate.store.StoreIOException;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes one snapshot of a container: freeze, commit the writable layer, read the volumes, resume, export the
 * image layers, then publish. The container is frozen only while its writable layer and volumes are read; image
 * layers are immutable once committed, so they are exported after it runs again.
 *
 * <p>On every failure path the container is resumed, the temporary image removed and nothing published.
 */
public final class BackupRunner {
  private static final Logger LOG = LoggerFactory.getLogger(BackupRunner.class);
  /** Repository of the temporary image a backup commits, removed when the backup ends. */
  public static final String TEMP_REPO = "jmigrate-tmp";

  private final Engine engine;
  private final SnapshotRepository repo;
  private final Options options;
  private final TransferListener progress;

  /** How to back up. */
  public record Options(Consistency consistency, boolean includeBinds, Duration stopTimeout,
      VolumeSources.Reader reader, String toolVersion) {
    public static Options defaults(String toolVersion) {
      return new Options(Consistency.PAUSE, false, null, VolumeSources.Reader.AUTO, toolVersion);
    }
  }

  /** What one backup did. */
  public record Result(String container, SnapshotSummary snapshot, String consistency, long bytesWritten,
      long bytesReused, Duration frozen, Duration total) {}

  public BackupRunner(Engine engine, SnapshotRepository repo, Options options) {
    this(engine, repo, options, TransferListener.NONE);
  }

  /** As {@link #BackupRunner(Engine, SnapshotRepository, Options)}, reporting volume and layer transfers. */
  public BackupRunner(Engine engine, SnapshotRepository repo, Options options, TransferListener progress) {
    this.engine = engine;
    this.repo = repo;
    this.options = options;
    this.progress = progress == null ? TransferListener.NONE : progress;
  }

  /** Backs up one container by name or id. */
  public Result backup(String containerRef)
      throws BackupException, EngineException, StoreException, IOException, SnapshotException {
    Instant started = Instant.now();
    // What a jmigrate killed with SIGKILL left on this engine (a paused container, a temporary image) is undone
    // first: otherwise this backup would find the container paused and record it so.
    for (String line : RecoveryJournal.recover(engine)) {
      LOG.warn("recovered: {}", line);
    }
    try (RecoveryJournal journal = RecoveryJournal.open(engine)) {
      return backup(containerRef, started, journal);
    }
  }

  private Result backup(String containerRef, Instant started, RecoveryJournal journal)
      throws BackupException, EngineException, StoreException, IOException, SnapshotException {
    ObjectNode inspect = inspect(containerRef);
    nameContainerReferences(inspect);
    String id = inspect.path("Id").asText();
    String name = stripSlash(inspect.path("Name").asText());
    JsonNode state = inspect.path("State");
    if (state.path("Restarting").asBoolean() || "dead".equals(state.path("Status").asText())) {
      throw new BackupException("cannot back up container " + name + " on " + engine.display() + ": it is "
          + state.path("Status").asText() + "; wait until it runs or is stopped, then try again");
    }
    List<MountPlan.Mount> mounts = MountPlan.of(inspect, options.includeBinds());
    for (String skipped : MountPlan.skippedBinds(inspect, options.includeBinds())) {
      LOG.warn("{}: bind mount {} is not included; add --include-binds to capture it", name, skipped);
    }
    Store store = repo.store();
    Set<String> seenBefore = previousMounts(name);

    List<SnapshotDocument.Volume> volumes = new ArrayList<>();
    long written = 0;
    long reused = 0;
    String tempTag = name.replaceAll("[^a-zA-Z0-9_.-]", "_") + "-" + UUID.randomUUID().toString().substring(0, 8);
    String tempImage = null;
    Instant frozenAt;
    Instant resumedAt;
    String applied;
    Freeze freeze = Freeze.apply(engine, List.of(new Freeze.Target(id, name, state.path("Running").asBoolean(),
        state.path("Paused").asBoolean())), options.consistency(), options.stopTimeout(), journal);
    try (Shutdown.Registration removeTemp = Shutdown.onInterrupt("remove temporary image " + TEMP_REPO + ":"
        + tempTag, () -> removeQuietly(TEMP_REPO + ":" + tempTag))) {
      try {
        frozenAt = freeze.frozenAt();
        applied = appliedConsistency(freeze.appliedTo(id), state);
        journal.image(TEMP_REPO + ":" + tempTag);
        tempImage = commitUnlessStopping(id, tempTag, name);
        LOG.info("{}: committed writable layer as {}", name, tempImage);
        for (MountPlan.Mount m : mounts) {
          // A mount the last snapshot also had is probably unchanged: reading it once just to hash it (about 1 s/GiB)
          // is cheaper than compressing and staging it only to find it stored already. A new mount is stored in
          // one pass.
          boolean hashFirst = seenBefore.contains(m.destination());
          Contents.Stored s = storeVolume(name, id, m, store, hashFirst, !"none".equals(applied));
          if (s.reused()) {
            reused += s.blob().size();
          } else {
            written += s.blob().size();
          }
          volumes.add(volumeEntry(m, s));
        }
        freeze.resume();
        resumedAt = freeze.resumedAt();
      } finally {
        freeze.close();
      }
      ImageExporter.Exported image = new ImageExporter(engine, store, progress).export(tempImage, name);
      written += image.bytesWritten();
      reused += image.bytesReused();
      byte[] config = image.config();
      Descriptor configDesc = Descriptor.of(MediaTypes.OCI_CONFIG, Digest.of(config), config.length);
      SnapshotDocument doc = new SnapshotDocument(
          SnapshotDocument.SCHEMA_VERSION,
          new SnapshotDocument.Tool("jmigrate", options.toolVersion()),
          new SnapshotDocument.Container(name, id, inspect),
          new SnapshotDocument.Image(inspect.path("Config").path("Image").asText(null), image.imageId(),
              SnapshotRepository.imageManifest(configDesc, image.layers()), configDesc, image.layers()),
          volumes,
          networks(inspect),
          applied,
          source(),
          new SnapshotDocument.Times(started, frozenAt, resumedAt, Instant.now()));
      SnapshotRepository.Pending pending = repo.prepare(doc, config);
      SnapshotSummary published;
      try {
        published = Shutdown.critical(() -> repo.publish(pending));
      } catch (StoreException | RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new BackupException("backup of " + name + " was interrupted before it was published; no snapshot "
            + "was written", e);
      }
      Duration frozenFor = Duration.between(frozenAt, resumedAt);
      return new Result(name, published, applied, written, reused, frozenFor, Duration.between(started,
          Instant.now()));
    } finally {
      if (tempImage != null && removeQuietly(tempImage)) {
        journal.imageRemoved(TEMP_REPO + ":" + tempTag);
      }
    }
  }

  /**
   * Commits under {@link Shutdown#critical}: a commit in flight when Ctrl-C or SIGTERM arrives completes before the
   * shutdown actions run (so the one that removes the temporary image finds it), and none starts after them.
   */
  private String commitUnlessStopping(String id, String tempTag, String name)
      throws EngineException, BackupException {
    try {
      return Shutdown.critical(() -> engine.commit(id, TEMP_REPO, tempTag, false));
    } catch (EngineException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new BackupException("backup of " + name + " was interrupted before its commit; no snapshot was written",
          e);
    }
  }

  private ObjectNode inspect(String ref) throws EngineException {
    try {
      return engine.inspectContainer(ref);
    } catch (EngineException e) {
      if (e.kind() == EngineException.Kind.NOT_FOUND) {
        throw new EngineException(EngineException.Kind.NOT_FOUND, "no container '" + ref + "' on "
            + engine.display() + "; `docker ps -a` lists the containers there", e);
      }
      throw e;
    }
  }

  /** Destinations of the mounts in the container's latest snapshot, or none when it has none (or it is unreadable). */
  private Set<String> previousMounts(String name) {
    try {
      Optional<SnapshotSummary> last = repo.latest(name);
      if (last.isEmpty()) {
        return Set.of();
      }
      Set<String> out = new java.util.HashSet<>();
      for (SnapshotDocument.Volume v : repo.load(last.get()).document().volumes()) {
        out.add(v.destination());
      }
      return out;
    } catch (StoreException | SnapshotException e) {
      LOG.debug("cannot read the previous snapshot of {}: {}", name, e.getMessage());
      return Set.of();
    }
  }

  /**
   * Rewrites {@code container:<id>} references (network, IPC and PID namespaces) to the other container's name:
   * its id means nothing on another host, its name does.
   */
  private void nameContainerReferences(ObjectNode inspect) throws EngineException {
    JsonNode host = inspect.path("HostConfig");
    if (!(host instanceof ObjectNode)) {
      return;
    }
    for (String field : List.of("NetworkMode", "IpcMode", "PidMode")) {
      String v = host.path(field).asText("");
      if (v.startsWith("container:")) {
        String other = v.substring("container:".length());
        String otherName = stripSlash(engine.inspectContainer(other).path("Name").asText(other));
        ((ObjectNode) host).put(field, "container:" + otherName);
      }
    }
  }

  private Contents.Stored storeVolume(String name, String id, MountPlan.Mount m, Store store, boolean hashFirst,
      boolean stable) throws IOException, StoreException {
    String what = name + ": " + m.describe();
    Contents.Source read = VolumeSources.of(engine, id, m, options.reader());
    // Counting only watches the bytes go by; a second pass (hash, then upload) is a second transfer.
    Contents.Source source = out -> {
      try (TransferListener.Transfer t = progress.start(what, -1)) {
        read.accept(new CountingOutputStream(out, t));
      }
    };
    try {
      Digest known = null;
      if (hashFirst) {
        Contents.Stored h = Contents.hashOnly(source);
        Optional<Contents.Stored> have = Contents.find(store, Store.ContentKind.VOLUME, h.diffId());
        if (have.isPresent()) {
          LOG.info("{}: unchanged, already stored as {}, skipped", what, have.get().blob().digest());
          return have.get();
        }
        // When the container is held still, the upload pass must read exactly what the hash pass read.
        known = stable ? h.diffId() : null;
      }
      return Contents.put(store, Store.ContentKind.VOLUME, what, known, source);
    } catch (IOException e) {
      // The volume is read and stored in one stream: a failure may be the repository's (a full disk), which must
      // not read as a volume that could not be read.
      for (Throwable c = e; c != null; c = c.getCause()) {
        if (c instanceof StoreIOException) {
          StoreException s = ((StoreIOException) c).storeException();
          throw new StoreException(s.kind(), "storing " + m.describe() + " of container " + name + ": "
              + s.getMessage(), e);
        }
      }
      throw new IOException("cannot read " + m.describe() + " of container " + name + ": " + e.getMessage(), e);
    }
  }

  private SnapshotDocument.Volume volumeEntry(MountPlan.Mount m, Contents.Stored s) throws EngineException {
    Map<String, String> labels = Map.of();
    Map<String, String> driverOpts = Map.of();
    String driver = m.driver();
    if ("volume".equals(m.type())) {
      Optional<ObjectNode> v = engine.findVolume(m.name());
      if (v.isPresent()) {
        labels = stringMap(v.get().path("Labels"));
        driverOpts = stringMap(v.get().path("Options"));
        driver = v.get().path("Driver").asText(driver);
      }
    }
    String method = VolumeSources.direct(engine, m, options.reader()) ? "direct" : "archive";
    return new SnapshotDocument.Volume(m.name(), m.type(), m.anonymous(), driver, driverOpts, labels,
        m.destination(), "bind".equals(m.type()) ? m.source() : null, m.readOnly(), s.blob(), s.diffId(),
        s.uncompressedSize(), method);
  }

  private static Map<String, String> stringMap(JsonNode n) {
    Map<String, String> out = new TreeMap<>();
    n.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
    return out;
  }

  /** The consistency recorded: what jmigrate did, or the state that made doing nothing consistent. */
  private static String appliedConsistency(Consistency applied, JsonNode state) {
    if (applied != Consistency.NONE) {
      return applied.label();
    }
    if (!state.path("Running").asBoolean()) {
      return "stopped";
    }
    if (state.path("Paused").asBoolean()) {
      return "paused";
    }
    return "none";
  }

  private List<SnapshotDocument.Network> networks(ObjectNode inspect) throws EngineException {
    List<SnapshotDocument.Network> out = new ArrayList<>();
    Map<String, JsonNode> sorted = new TreeMap<>();
    inspect.path("NetworkSettings").path("Networks").fields().forEachRemaining(e -> sorted.put(e.getKey(), e.getValue()));
    for (String net : sorted.keySet()) {
      if (Set.of("bridge", "host", "none").contains(net)) {
        continue;
      }
      engine.findNetwork(net).ifPresent(n -> out.add(new SnapshotDocument.Network(net, n)));
    }
    return out;
  }

  private SnapshotDocument.Source source() {
    ObjectNode info = engine.info();
    return new SnapshotDocument.Source(engine.display(), info.path("Name").asText(null),
        engine.version().path("Version").asText(null), engine.apiVersion(), engine.architecture(),
        info.path("OSType").asText("linux"));
  }

  /** Removes a temporary image; says whether it is gone. */
  private boolean removeQuietly(String image) {
    try {
      engine.removeImage(image, false);
      return true;
    } catch (EngineException e) {
      LOG.warn("could not remove temporary image {} on {}: {}; remove it with `docker rmi {}`", image,
          engine.display(), e.getMessage(), image);
      return false;
    }
  }

  private static String stripSlash(String n) {
    return n.startsWith("/") ? n.substring(1) : n;
  }
}
