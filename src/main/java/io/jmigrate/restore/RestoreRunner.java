package io.jmigrate.restore;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.archive.ChainIds;
import io.jmigrate.archive.LoadArchiveWriter;
import io.jmigrate.archive.VolumeArchive;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.Json;
import io.jmigrate.blob.Pipe;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.snapshot.Contents;
import io.jmigrate.snapshot.Snapshot;
import io.jmigrate.snapshot.SnapshotDocument;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
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
  private static final String HELPER_ROOT = "/.jmigrate-restore/";

  /** How volumes are written on the target: directly into their host directory, or through the archive API. */
  public enum VolumeWriter {
    AUTO,
    DIRECT,
    ARCHIVE
  }

  /** How to restore. {@code name} null keeps the snapshot's container name. */
  public record Options(String name, boolean start, boolean replace, boolean publishPorts, Duration waitTimeout,
      VolumeWriter writer) {
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

  public RestoreRunner(Engine target, Options options) {
    this.target = target;
    this.options = options;
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
  public Result restore(SnapshotDocument doc, String label, Content content)
      throws EngineException, PreflightException, RestoreException {
    Instant started = Instant.now();
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
      try {
        if (options.replace()) {
          replaceExisting(doc, name);
        }
        long layerBytes = 0;
        if (imagePresent) {
          LOG.info("image {} is already on {}, not sent", imageId, target.display());
          target.tagImage(imageId, imageRef.substring(0, imageRef.lastIndexOf(':')), label);
        } else {
          layerBytes = loadImage(doc, content, skip, imageRef);
          journal.image(imageRef);
          journal.image(imageId);
        }
        createNetworks(doc, journal);
        Map<String, String> anonymous = new LinkedHashMap<>();
        long volumeBytes = restoreVolumes(doc, content, imageRef, journal, anonymous);
        boolean multi = compareApi(target.apiVersion(), "1.44") >= 0;
        ContainerSpec spec = ContainerSpec.from(doc.container().inspect(), imageRef, anonymous, multi,
            options.publishPorts());
        String id = target.createContainer(name, spec.body());
        journal.container(id);
        for (Map.Entry<String, ObjectNode> e : spec.connectAfterCreate().entrySet()) {
          target.connectNetwork(e.getKey(), id, e.getValue());
        }
        String state = "created";
        if (options.start()) {
          target.startContainer(id);
          state = Readiness.await(target, id, name, options.waitTimeout());
        }
        journal.commit();
        LOG.info("restored {} on {} ({})", name, target.display(), state);
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
    Set<Digest> have = target.layerChainIds();
    List<Digest> chains = ChainIds.of(diffIds);
    int k = 0;
    while (k < chains.size() && have.contains(chains.get(k))) {
      k++;
    }
    return k;
  }

  private long loadImage(SnapshotDocument doc, Content content, int skip, String imageRef)
      throws IOException, EngineException {
    byte[] config = content.imageConfig();
    List<SnapshotDocument.Layer> layers = doc.image().layers();
    long[] sent = new long[1];
    LOG.info("loading image onto {}: {} of {} layers to send", target.display(), layers.size() - skip,
        layers.size());
    try (InputStream tar = Pipe.produce("load-" + imageRef, out -> {
      LoadArchiveWriter w = new LoadArchiveWriter(out);
      w.writeConfig(config);
      for (int i = skip; i < layers.size(); i++) {
        SnapshotDocument.Layer l = layers.get(i);
        try (InputStream in = content.openLayer(i)) {
          w.writeLayer(l.diffId(), l.uncompressedSize(), in);
        }
        sent[0] += l.uncompressedSize();
        LOG.info("sent layer {} ({} bytes)", l.diffId(), l.uncompressedSize());
      }
      w.finish(doc.image().diffIds(), List.of(imageRef));
      w.close();
    })) {
      target.loadImage(tar);
    }
    return sent[0];
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

  private void createNetworks(SnapshotDocument doc, TargetJournal journal) throws EngineException {
    Map<String, ObjectNode> known = new LinkedHashMap<>();
    for (SnapshotDocument.Network n : doc.networks()) {
      known.put(n.name(), n.inspect());
    }
    ContainerSpec spec = ContainerSpec.from(doc.container().inspect(), "x", Map.of(), true, false);
    for (String net : spec.networks()) {
      if (target.findNetwork(net).isPresent()) {
        continue;
      }
      ObjectNode body = networkBody(net, known.get(net));
      String id = target.createNetwork(body);
      journal.network(id);
      LOG.info("created network {} on {}", net, target.display());
    }
  }

  /** A create body from a network's inspect: driver, IPAM, options, labels and flags; no ids or containers. */
  static ObjectNode networkBody(String name, ObjectNode inspect) {
    ObjectNode body = Json.newObject();
    body.put("Name", name);
    body.put("CheckDuplicate", true);
    if (inspect == null) {
      return body;
    }
    for (String f : List.of("Driver", "Internal", "Attachable", "EnableIPv6", "Ingress")) {
      if (inspect.has(f)) {
        body.set(f, inspect.get(f).deepCopy());
      }
    }
    for (String f : List.of("Options", "Labels", "IPAM")) {
      if (inspect.path(f).isObject()) {
        body.set(f, inspect.get(f).deepCopy());
      }
    }
    return body;
  }

  private long restoreVolumes(SnapshotDocument doc, Content content, String imageRef, TargetJournal journal,
      Map<String, String> anonymous) throws EngineException, IOException {
    List<SnapshotDocument.Volume> volumes = doc.volumes();
    Map<Integer, String> viaHelper = new LinkedHashMap<>();
    Map<Integer, String> sourceOf = new LinkedHashMap<>();
    long bytes = 0;
    for (int j = 0; j < volumes.size(); j++) {
      SnapshotDocument.Volume v = volumes.get(j);
      String hostDir;
      if ("volume".equals(v.type())) {
        String volName = v.anonymous() ? HexFormat.of().formatHex(randomBytes(32)) : v.name();
        ObjectNode body = Json.newObject();
        body.put("Name", volName);
        body.put("Driver", v.driver() == null ? "local" : v.driver());
        body.set("DriverOpts", Json.MAPPER.valueToTree(v.driverOpts() == null ? Map.of() : v.driverOpts()));
        body.set("Labels", Json.MAPPER.valueToTree(v.labels() == null ? Map.of() : v.labels()));
        ObjectNode created = target.createVolume(body);
        journal.volume(volName);
        if (v.anonymous()) {
          anonymous.put(v.destination(), volName);
        }
        hostDir = created.path("Mountpoint").asText(null);
        sourceOf.put(j, volName);
      } else {
        hostDir = v.source();
        sourceOf.put(j, v.source());
      }
      if (v.content() == null) {
        continue;
      }
      bytes += Math.max(0, v.uncompressedSize());
      if (writeDirect(hostDir, v)) {
        Path dir = Path.of(hostDir);
        Files.createDirectories(dir);
        try (InputStream in = content.openVolume(j)) {
          VolumeArchive.extract(in, dir);
        }
        LOG.info("filled {} directly at {}", describe(v), dir);
      } else {
        viaHelper.put(j, sourceOf.get(j));
      }
    }
    if (!viaHelper.isEmpty()) {
      fillThroughHelper(volumes, content, imageRef, journal, viaHelper);
    }
    return bytes;
  }

  private boolean writeDirect(String hostDir, SnapshotDocument.Volume v) {
    if (options.writer() == VolumeWriter.ARCHIVE || hostDir == null || !target.isLocal()) {
      if (options.writer() == VolumeWriter.DIRECT) {
        throw new IllegalStateException("cannot write " + describe(v) + " directly: " + target.display()
            + " is not a local engine whose data root this process can write");
      }
      return false;
    }
    Path dir = Path.of(hostDir);
    Path probe = Files.exists(dir) ? dir : dir.getParent();
    return probe != null && Files.isWritable(probe);
  }

  /**
   * Fills volumes through the archive API of a helper container that is created but never started. It mounts
   * each volume under a path the image lacks, so the engine's copy-up of image files into empty volumes cannot
   * happen (docs/engine-notes.md, "Copy-up trap").
   */
  private void fillThroughHelper(List<SnapshotDocument.Volume> volumes, Content content, String imageRef,
      TargetJournal journal, Map<Integer, String> sources) throws EngineException, IOException {
    ObjectNode body = Json.newObject();
    body.put("Image", imageRef);
    ArrayNode entry = body.putArray("Entrypoint");
    entry.add("/jmigrate-helper-never-started");
    body.putObject("Labels").put("io.jmigrate.helper", "restore");
    ObjectNode host = body.putObject("HostConfig");
    host.put("NetworkMode", "none");
    ArrayNode binds = host.putArray("Binds");
    sources.forEach((j, src) -> binds.add(src + ":" + HELPER_ROOT + j));
    String helper = target.createContainer(null, body);
    journal.container(helper);
    try {
      for (Map.Entry<Integer, String> e : sources.entrySet()) {
        SnapshotDocument.Volume v = volumes.get(e.getKey());
        String dir = Integer.toString(e.getKey());
        try (InputStream in = content.openVolume(e.getKey());
            InputStream nested = Pipe.produce("nest-" + dir, out -> VolumeArchive.nest(in, dir, out))) {
          // Extract into the parent with the root as a named entry: the engine skips a "." entry, which would
          // lose the volume root's owner, mode and mtime.
          target.putArchive(helper, HELPER_ROOT, nested);
        }
        LOG.info("filled {} through the archive API", describe(v));
      }
    } finally {
      target.removeContainer(helper, true, false);
      journal.removed(helper);
    }
  }

  private static String describe(SnapshotDocument.Volume v) {
    return "volume".equals(v.type()) ? "volume " + (v.anonymous() ? "(anonymous) at " + v.destination() : v.name())
        : "bind mount " + v.source();
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    new SecureRandom().nextBytes(b);
    return b;
  }

  /** Compares API versions like "1.41" numerically. */
  static int compareApi(String a, String b) {
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
