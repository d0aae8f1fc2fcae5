package io.jmigrate.restore;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.archive.ChainIds;
import io.jmigrate.archive.LoadArchiveWriter;
import io.jmigrate.archive.VolumeArchive;
import io.jmigrate.blob.CountingInputStream;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.TransferListener;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.snapshot.Contents;
import io.jmigrate.snapshot.Snapshot;
import io.jmigrate.snapshot.SnapshotDocument;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recreates a snapshot's container on a target engine: pre-flight checks, image (only the layers the target
 * lacks), networks, volumes (filled before the container exists, so the engine never copies image files over
 * restored data), the container with the same configuration, then start and wait until it runs or is healthy.
 *
 * <p>Everything created is recorded in a {@link TargetJournal}; any failure, Ctrl-C or SIGTERM removes it.
 */
public final class RestoreRunner {
  private static final Logger LOG = LoggerFactory.getLogger(RestoreRunner.class);
  /** Repository of the tag given to restored images on the target: {@code jmigrate/<name>:<snapshot id>}. */
  public static final String IMAGE_REPO = "jmigrate/";

  /** How volumes are written on the target: directly into their host directory, or through the archive API. */
  public enum VolumeWriter {
    AUTO,
    DIRECT,
    ARCHIVE
  }

  /**
   * How to restore. {@code name} null keeps the snapshot's container name; {@code volumePrefix}, when not null,
   * restores named volumes and captured bind mounts into fresh volumes named with it ({@link
   * VolumeRenames#withPrefix}), so that a copy can run beside the original; {@code strictMetadata} makes any
   * metadata the target's filesystem dropped a failure instead of a warning.
   */
  public record Options(String name, boolean start, boolean replace, boolean publishPorts, Duration waitTimeout,
      VolumeWriter writer, String volumePrefix, boolean strictMetadata) {
    public Options {
      if (volumePrefix != null) {
        VolumeRenames.checkPrefix(volumePrefix);
      }
    }

    /** Without a volume prefix, metadata losses as warnings. */
    public Options(String name, boolean start, boolean replace, boolean publishPorts, Duration waitTimeout,
        VolumeWriter writer) {
      this(name, start, replace, publishPorts, waitTimeout, writer, null, false);
    }

    public static Options defaults() {
      return new Options(null, true, false, true, Duration.ofSeconds(120), VolumeWriter.AUTO);
    }
  }

  /** Where the snapshot's bytes come from: a repository, or a live source engine during a migration. */
  public interface Content {
    /** The image config, exactly as saved (its digest is the image id). */
    byte[] imageConfig() throws IOException;

    /** Layer {@code index}'s uncompressed tar, digest-checked. The caller closes it. */
    InputStream openLayer(int index) throws IOException;

    /** Volume {@code index}'s uncompressed tar, digest-checked. The caller closes it. */
    InputStream openVolume(int index) throws IOException;
  }

  /** What a restore did. */
  public record Result(String id, String name, String state, int layersSent, int layersTotal, long layerBytesSent,
      long volumeBytes, Duration total) {}

  private final Engine target;
  private final Options options;
  private final TransferListener progress;

  public RestoreRunner(Engine target, Options options) {
    this(target, options, TransferListener.NONE);
  }

  /** As {@link #RestoreRunner(Engine, Options)}, reporting each layer and volume sent to the target. */
  public RestoreRunner(Engine target, Options options, TransferListener progress) {
    this.target = target;
    this.options = options;
    this.progress = progress == null ? TransferListener.NONE : progress;
  }

  /** Content read from a repository, every byte digest-checked against the snapshot. */
  public static Content fromRepository(Store store, Snapshot snapshot) {
    SnapshotDocument doc = snapshot.document();
    String id = snapshot.summary().shortId();
    return new Content() {
      @Override
      public byte[] imageConfig() throws IOException {
        try (InputStream in = store.openBlob(doc.image().config().digest(), doc.image().config().size(),
            "image config of snapshot " + id)) {
          return in.readAllBytes();
        } catch (StoreException e) {
          throw new IOException(e.getMessage(), e);
        }
      }

      @Override
      public InputStream openLayer(int index) throws IOException {
        SnapshotDocument.Layer l = doc.image().layers().get(index);
        try {
          return Contents.open(store, l.blob(), l.diffId(), l.uncompressedSize(),
              "image layer " + index + " of snapshot " + id);
        } catch (StoreException e) {
          throw new IOException(e.getMessage(), e);
        }
      }

      @Override
      public InputStream openVolume(int index) throws IOException {
        SnapshotDocument.Volume v = doc.volumes().get(index);
        try {
          return Contents.open(store, v.content(), v.diffId(), v.uncompressedSize(),
              "volume " + (v.name() == null ? v.source() : v.name()) + " of snapshot " + id);
        } catch (StoreException e) {
          throw new IOException(e.getMessage(), e);
        }
      }
    };
  }

  /**
   * Restores {@code doc}; {@code label} (the snapshot's short id) tags the restored image.
   *
   * @throws PreflightException when a check failed; nothing was changed
   * @throws RestoreException when a later step failed; everything created was removed
   */
  public Result restore(SnapshotDocument snapshotDoc, String label, Content content)
      throws EngineException, PreflightException, RestoreException {
    Instant started = Instant.now();
    SnapshotDocument doc = options.volumePrefix() == null ? snapshotDoc
        : VolumeRenames.withPrefix(snapshotDoc, options.volumePrefix());
    String name = options.name() != null ? options.name() : doc.container().name();
    String imageId = doc.image().id();
    boolean imagePresent = target.findImage(imageId).isPresent();
    List<Digest> diffIds = doc.image().diffIds();
    int skip = imagePresent ? diffIds.size() : presentPrefix(diffIds);
    long needed = 0;
    for (int i = skip; i < diffIds.size(); i++) {
      needed += 2 * doc.image().layers().get(i).uncompressedSize();
    }
    for (SnapshotDocument.Volume v : doc.volumes()) {
      needed += Math.max(0, v.uncompressedSize());
    }
    Preflight.check(target, doc, name, options.replace(), options.publishPorts(), needed);

    String imageRef = IMAGE_REPO + name.toLowerCase().replaceAll("[^a-z0-9_.-]", "-") + ":" + label;
    try (TargetJournal journal = new TargetJournal(target)) {
      TargetBuilder build = new TargetBuilder(target, journal, options.writer(), options.strictMetadata());
      try {
        if (options.replace()) {
          replaceExisting(doc, name);
        }
        long layerBytes = 0;
        if (imagePresent) {
          LOG.info("image {} is already on {}, not sent", imageId, target.display());
          target.tagImage(imageId, imageRef.substring(0, imageRef.lastIndexOf(':')), label);
        } else {
          layerBytes = loadImage(doc, content, skip, imageRef, label);
          journal.image(imageRef);
          journal.image(imageId);
        }
        Map<String, ObjectNode> known = new LinkedHashMap<>();
        for (SnapshotDocument.Network n : doc.networks()) {
          known.put(n.name(), n.inspect());
        }
        build.createNetworks(doc.container().inspect(), known);
        Map<String, String> anonymous = new LinkedHashMap<>();
        Set<String> emptyVolumes = new HashSet<>();
        long volumeBytes = restoreVolumes(doc, content, imageRef, build, anonymous, emptyVolumes);
        ContainerSpec spec = ContainerSpec.from(doc.container().inspect(), imageRef, anonymous,
            build.multiNetworkCreate(), options.publishPorts()).withoutCopyUp(emptyVolumes);
        String id = build.createContainer(name, spec);
        String state = "created";
        if (options.start()) {
          target.startContainer(id);
          state = Readiness.await(target, id, name, options.waitTimeout());
        }
        journal.commit();
        // Debug only: the caller says it once, with the figures (restore's last line, drill's PASS line).
        LOG.debug("restored {} on {} ({})", name, target.display(), state);
        return new Result(id, name, state, diffIds.size() - skip, diffIds.size(), layerBytes, volumeBytes,
            Duration.between(started, Instant.now()));
      } catch (EngineException | IOException | RuntimeException e) {
        journal.rollback();
        throw new RestoreException("restore of " + name + " on " + target.display() + " failed: " + e.getMessage()
            + "; everything it created there was removed", e);
      } catch (RestoreException e) {
        journal.rollback();
        throw new RestoreException(e.getMessage() + "; everything the restore created was removed", e);
      }
    }
  }

  /** How many bottom layers the target has already, by chain id (a load may omit only such a prefix). */
  int presentPrefix(List<Digest> diffIds) throws EngineException {
    return presentPrefix(target, diffIds);
  }

  /**
   * How many bottom layers of an image with these diffIDs {@code target} has already, by chain id: a load may
   * omit only such a prefix (docs/engine-notes.md, "Thin load omits only a bottom prefix").
   */
  public static int presentPrefix(Engine target, List<Digest> diffIds) throws EngineException {
    if (target.isPodman()) {
      // Podman's compatible load reads the archive with containers/image, which wants every layer file the
      // manifest lists ("Some layer tarfiles are missing in the tarball"): no thin loads, send them all.
      return 0;
    }
    Set<Digest> have = target.layerChainIds();
    List<Digest> chains = ChainIds.of(diffIds);
    int k = 0;
    while (k < chains.size() && have.contains(chains.get(k))) {
      k++;
    }
    return k;
  }

  private long loadImage(SnapshotDocument doc, Content content, int skip, String imageRef, String label)
      throws IOException, EngineException {
    byte[] config = content.imageConfig();
    List<SnapshotDocument.Layer> layers = doc.image().layers();
    long[] sent = new long[1];
    LOG.info("loading image onto {}: {} of {} layers to send", target.display(), layers.size() - skip,
        layers.size());
    try {
      target.loadImage("load-" + imageRef,
          out -> writeLoadArchive(out, config, doc, layers, skip, content, imageRef, sent));
    } catch (IOException p) {
      // A layer that could not be read from the repository (truncated, corrupt): Engine.loadImage reports that,
      // not the broken load it caused.
      throw new IOException(p.getMessage() + "; run `jmigrate verify " + label
          + "` and restore another snapshot or copy", p);
    }
    return sent[0];
  }

  /** The {@code docker load} input: the config and the layers from {@code skip} on, read from the repository. */
  private void writeLoadArchive(OutputStream out, byte[] config, SnapshotDocument doc,
      List<SnapshotDocument.Layer> layers, int skip, Content content, String imageRef, long[] sent)
      throws IOException {
    LoadArchiveWriter w = new LoadArchiveWriter(out);
    w.writeConfig(config);
    for (int i = skip; i < layers.size(); i++) {
      SnapshotDocument.Layer l = layers.get(i);
      try (TransferListener.Transfer t = progress.start("layer " + l.diffId().shortHex(12), l.uncompressedSize());
          InputStream in = new CountingInputStream(content.openLayer(i), t)) {
        w.writeLayer(l.diffId(), l.uncompressedSize(), in);
      }
      sent[0] += l.uncompressedSize();
      LOG.info("sent layer {} ({} bytes)", l.diffId(), l.uncompressedSize());
    }
    w.finish(doc.image().diffIds(), List.of(imageRef));
    w.close();
  }

  private void replaceExisting(SnapshotDocument doc, String name) throws EngineException {
    Optional<ObjectNode> existing = target.findContainer(name);
    if (existing.isPresent()) {
      LOG.warn("--replace: removing the existing container {} on {}", name, target.display());
      target.removeContainer(existing.get().path("Id").asText(), true, false);
    }
    for (SnapshotDocument.Volume v : doc.volumes()) {
      if ("volume".equals(v.type()) && !v.anonymous() && target.findVolume(v.name()).isPresent()) {
        LOG.warn("--replace: removing the existing volume {} on {}", v.name(), target.display());
        target.removeVolume(v.name(), true);
      }
    }
  }

  private long restoreVolumes(SnapshotDocument doc, Content content, String imageRef, TargetBuilder build,
      Map<String, String> anonymous, Set<String> emptyVolumes)
      throws EngineException, IOException, MetadataLossException {
    List<SnapshotDocument.Volume> volumes = doc.volumes();
    Map<String, String> viaHelper = new LinkedHashMap<>();
    Map<String, TargetBuilder.TarSource> tars = new LinkedHashMap<>();
    Map<String, String> what = new LinkedHashMap<>();
    long bytes = 0;
    for (int j = 0; j < volumes.size(); j++) {
      SnapshotDocument.Volume v = volumes.get(j);
      String hostDir;
      String source;
      if ("volume".equals(v.type())) {
        TargetBuilder.CreatedVolume created = build.createVolume(v.anonymous() ? null : v.name(), v.driver(),
            v.driverOpts(), v.labels());
        if (v.anonymous()) {
          anonymous.put(v.destination(), created.name());
        }
        hostDir = created.hostDir();
        source = created.name();
      } else {
        hostDir = v.source();
        source = v.source();
      }
      if (v.content() == null) {
        continue;
      }
      bytes += Math.max(0, v.uncompressedSize());
      int index = j;
      if (build.writesDirect(hostDir, describe(v))) {
        VolumeArchive.Stats filled;
        try (InputStream in = counted(content, index, v)) {
          filled = TargetBuilder.fillDirect(in, Path.of(hostDir));
        }
        LOG.info("filled {} directly at {}", describe(v), hostDir);
        if (TargetBuilder.holdsNothing(filled)) {
          emptyVolumes.add(v.destination());
        }
        build.checkMetadata(describe(v), filled);
      } else {
        String key = Integer.toString(j);
        viaHelper.put(key, source);
        tars.put(key, () -> counted(content, index, v));
        what.put(key, describe(v));
      }
    }
    if (!viaHelper.isEmpty()) {
      Map<String, VolumeArchive.Stats> filled = build.fillThroughHelper(imageRef, viaHelper, tars, what);
      for (Map.Entry<String, VolumeArchive.Stats> e : filled.entrySet()) {
        SnapshotDocument.Volume v = volumes.get(Integer.parseInt(e.getKey()));
        if (TargetBuilder.holdsNothing(e.getValue())) {
          emptyVolumes.add(v.destination());
        }
      }
    }
    return bytes;
  }

  /** Volume {@code index}'s content, counted for the progress listener; closing the stream ends the transfer. */
  private InputStream counted(Content content, int index, SnapshotDocument.Volume v) throws IOException {
    TransferListener.Transfer t = progress.start(describe(v), v.uncompressedSize());
    try {
      return TargetBuilder.counted(content.openVolume(index), t);
    } catch (IOException | RuntimeException e) {
      t.close();
      throw e;
    }
  }

  private static String describe(SnapshotDocument.Volume v) {
    return "volume".equals(v.type()) ? "volume " + (v.anonymous() ? "(anonymous) at " + v.destination() : v.name())
        : "bind mount " + v.source();
  }

  /** Compares API versions like "1.41" numerically. */
  public static int compareApi(String a, String b) {
    String[] x = a.split("\\.");
    String[] y = b.split("\\.");
    for (int i = 0; i < Math.max(x.length, y.length); i++) {
      int xi = i < x.length ? Integer.parseInt(x[i]) : 0;
      int yi = i < y.length ? Integer.parseInt(y[i]) : 0;
      if (xi != yi) {
        return Integer.compare(xi, yi);
      }
    }
    return 0;
  }
}
