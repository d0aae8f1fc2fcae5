package io.jmigrate.restore;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.archive.MetadataCheck;
import io.jmigrate.archive.VolumeArchive;
import io.jmigrate.blob.CountingInputStream;
import io.jmigrate.blob.Json;
import io.jmigrate.blob.Pipe;
import io.jmigrate.blob.TransferListener;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a container's pieces on a target engine, each recorded in a {@link TargetJournal} so that a failure
 * removes it: user-defined networks, volumes (filled directly when the target is this machine, else through a
 * helper container that is created but never started), and the container itself. Restore builds from a snapshot,
 * migrate from a live source; both go through here.
 */
public final class TargetBuilder {
  private static final Logger LOG = LoggerFactory.getLogger(TargetBuilder.class);
  private static final String HELPER_ROOT = "/.jmigrate-restore/";

  private final Engine target;
  private final TargetJournal journal;
  private final RestoreRunner.VolumeWriter writer;
  private final boolean strictMetadata;

  /** A builder that reports metadata the target's filesystem dropped as warnings. */
  public TargetBuilder(Engine target, TargetJournal journal, RestoreRunner.VolumeWriter writer) {
    this(target, journal, writer, false);
  }

  /**
   * A builder; {@code strictMetadata} makes {@link #checkMetadata} fail when a volume's metadata was dropped
   * (or, for xattrs and ACLs, could not be checked) instead of warning.
   */
  public TargetBuilder(Engine target, TargetJournal journal, RestoreRunner.VolumeWriter writer,
      boolean strictMetadata) {
    this.target = target;
    this.journal = journal;
    this.writer = writer;
    this.strictMetadata = strictMetadata;
  }

  /** A volume created on the target: its name and its host directory (the engine's Mountpoint, may be null). */
  public record CreatedVolume(String name, String hostDir) {}

  /** Opens a volume's uncompressed tar, in the volume-relative form of {@link VolumeArchive#write}. */
  @FunctionalInterface
  public interface TarSource {
    /** The caller closes the stream. */
    InputStream open() throws IOException;
  }

  /**
   * Creates the user-defined networks that a container with this inspect output joins and that the target lacks,
   * from their inspect output on the source where known ({@code known}: name → network inspect). Returns the names
   * of the networks created.
   */
  public List<String> createNetworks(ObjectNode containerInspect, Map<String, ObjectNode> known)
      throws EngineException {
    ContainerSpec spec = ContainerSpec.from(containerInspect, "x", Map.of(), true, false);
    List<String> created = new java.util.ArrayList<>();
    for (String net : spec.networks()) {
      if (target.findNetwork(net).isPresent()) {
        continue;
      }
      String id = target.createNetwork(networkBody(net, known.get(net)));
      journal.network(id);
      created.add(net);
      LOG.info("created network {} on {}", net, target.display());
    }
    return created;
  }

  /** A create body from a network's inspect: driver, IPAM, options, labels and flags; no ids or containers. */
  public static ObjectNode networkBody(String name, ObjectNode inspect) {
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

  /**
   * Creates a volume with this driver, options and labels, named {@code name}, or with a fresh random name when
   * {@code name} is null (the replacement of an anonymous volume).
   */
  public CreatedVolume createVolume(String name, String driver, Map<String, String> driverOpts,
      Map<String, String> labels) throws EngineException {
    String volName = name != null ? name : HexFormat.of().formatHex(randomBytes(32));
    ObjectNode body = Json.newObject();
    body.put("Name", volName);
    body.put("Driver", driver == null ? "local" : driver);
    body.set("DriverOpts", Json.MAPPER.valueToTree(driverOpts == null ? Map.of() : driverOpts));
    body.set("Labels", Json.MAPPER.valueToTree(labels == null ? Map.of() : labels));
    ObjectNode created = target.createVolume(body);
    journal.volume(volName);
    return new CreatedVolume(volName, created.path("Mountpoint").asText(null));
  }

  /**
   * True when the volume at {@code hostDir} on the target can be written directly by this process (the target
   * is a local engine and the directory is writable); {@code what} names the volume in errors.
   *
   * @throws IllegalStateException when the writer is DIRECT but that is impossible
   */
  public boolean writesDirect(String hostDir, String what) {
    if (writer == RestoreRunner.VolumeWriter.ARCHIVE || hostDir == null || !target.isLocal()) {
      if (writer == RestoreRunner.VolumeWriter.DIRECT) {
        throw new IllegalStateException("cannot write " + what + " directly: " + target.display()
            + " is not a local engine whose data root this process can write");
      }
      return false;
    }
    Path dir = Path.of(hostDir);
    Path probe = Files.exists(dir) ? dir : dir.getParent();
    return probe != null && Files.isWritable(probe);
  }

  /**
   * {@code in}, counted into {@code transfer} for a progress listener; closing the returned stream closes
   * {@code in} and ends the transfer. The caller closes the returned stream.
   */
  public static InputStream counted(InputStream in, TransferListener.Transfer transfer) {
    return new FilterInputStream(new CountingInputStream(in, transfer)) {
      @Override
      public void close() throws IOException {
        try {
          super.close();
        } finally {
          transfer.close();
        }
      }
    };
  }

  /**
   * Extracts a volume tar into its host directory on this machine and says what went in. The caller closes
   * {@code tar}.
   */
  public static VolumeArchive.Stats fillDirect(InputStream tar, Path dir) throws IOException {
    Files.createDirectories(dir);
    return VolumeArchive.extract(tar, dir);
  }

  /**
   * Reports what the target's filesystem kept of the metadata of the volume just filled ({@code what}, e.g.
   * "volume data"): one warning line naming every kind it dropped, with counts and examples, or with
   * {@code --strict-metadata} a failure. Metadata the archive API cannot return (xattrs, ACLs, sub-second mtimes)
   * is reported as not checked, never as kept; under --strict-metadata unchecked xattrs and ACLs fail too, while
   * unchecked sub-second mtimes, which every file has, are only reported.
   *
   * @throws MetadataLossException with --strict-metadata, when something was dropped or could not be checked
   */
  public void checkMetadata(String what, VolumeArchive.Stats filled) throws MetadataLossException {
    MetadataCheck check = filled == null ? null : filled.metadata();
    if (check == null) {
      return;
    }
    String line = check.summary(what + " on " + target.display());
    if (line == null) {
      LOG.info("{}: owners, modes, xattrs, ACLs and mtimes of {} entries read back on {}: all kept", what,
          check.checked(), target.display());
      return;
    }
    // Sub-second mtimes the archive API cannot return are on nearly every file: reported, not warned about.
    boolean unchecked = check.unchecked(MetadataCheck.Kind.XATTRS) > 0 || check.unchecked(MetadataCheck.Kind.ACLS) > 0
        || check.unreadable() > 0;
    if (strictMetadata && (check.lossy() || unchecked)) {
      throw new MetadataLossException(line + "; --strict-metadata refuses this: restore onto a filesystem that"
          + " keeps them (not NFS with root_squash, vfat or ramfs)" + (check.lossy() ? "" : ", with the direct"
          + " volume writer (jmigrate as root on the target host)") + ", or drop --strict-metadata to accept it");
    }
    if (check.lossy() || unchecked) {
      LOG.warn("warning: {}", line);
    } else {
      LOG.info("{}", line);
    }
  }

  /**
   * True when a filled volume holds nothing but its root directory. The engine seeds such a volume with the
   * image's files at the mount path when the container is created (docs/engine-notes.md, "Copy-up trap"), so its
   * mount must say "nocopy" ({@link ContainerSpec#withoutCopyUp}).
   */
  public static boolean holdsNothing(VolumeArchive.Stats filled) {
    return filled != null && filled.entries() <= 1 && filled.bytes() == 0;
  }

  /**
   * Fills volumes through the archive API of a helper container that is created but never started. It mounts
   * each source ({@code sources}: key → volume name or host path) under a path the image lacks, so the engine's
   * copy-up of image files into empty volumes cannot happen (docs/engine-notes.md, "Copy-up trap"). Each tar is
   * extracted into the parent with the root as a named entry: the engine skips a "." entry, which would lose the
   * volume root's owner, mode and mtime. {@code image} is any image on the target; {@code what} names each key.
   * Returns what went into each, by key.
   */
  public Map<String, VolumeArchive.Stats> fillThroughHelper(String image, Map<String, String> sources,
      Map<String, TarSource> tars, Map<String, String> what)
      throws EngineException, IOException, MetadataLossException {
    ObjectNode body = Json.newObject();
    body.put("Image", image);
    ArrayNode entry = body.putArray("Entrypoint");
    entry.add("/jmigrate-helper-never-started");
    body.putObject("Labels").put("io.jmigrate.helper", "restore");
    ObjectNode host = body.putObject("HostConfig");
    host.put("NetworkMode", "none");
    ArrayNode binds = host.putArray("Binds");
    Map<String, String> dirs = new LinkedHashMap<>();
    int i = 0;
    for (Map.Entry<String, String> e : sources.entrySet()) {
      String dir = Integer.toString(i++);
      dirs.put(e.getKey(), dir);
      binds.add(e.getValue() + ":" + HELPER_ROOT + dir);
    }
    String name = "jmigrate-helper-" + UUID.randomUUID().toString().substring(0, 12);
    String helper = target.createContainer(name, body);
    journal.container(helper);
    Map<String, VolumeArchive.Stats> filled = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, String> e : dirs.entrySet()) {
        String dir = e.getValue();
        String label = what.getOrDefault(e.getKey(), e.getKey());
        AtomicReference<VolumeArchive.Stats> stats = new AtomicReference<>();
        MetadataCheck.Sample sample = new MetadataCheck.Sample();
        try (InputStream in = tars.get(e.getKey()).open();
            InputStream nested = Pipe.produce("nest-" + dir,
                out -> stats.set(VolumeArchive.nest(in, dir, out, sample)))) {
          target.putArchive(helper, HELPER_ROOT, nested);
        }
        LOG.info("filled {} through the archive API", label);
        // Read a sample back while the helper still mounts the volume: the engine's extractor skips xattrs the
        // filesystem refuses, and chown may be ignored (NFS root_squash), without an error (moby pkg/archive).
        MetadataCheck check = MetadataCheck.verify(sample, sampled -> {
          try {
            return target.getArchive(helper, HELPER_ROOT + sampled);
          } catch (EngineException ex) {
            throw new IOException(ex.getMessage(), ex);
          }
        });
        // The producer set the stats before it ended the stream the engine read to its end.
        VolumeArchive.Stats done = stats.get().withMetadata(check);
        filled.put(e.getKey(), done);
        checkMetadata(label, done);
      }
      return filled;
    } finally {
      target.removeContainer(helper, true, false);
      journal.removed(helper);
    }
  }

  /**
   * Creates the container from {@code spec} under {@code name} and connects the networks that older engines take
   * only after create. Returns its id.
   */
  public String createContainer(String name, ContainerSpec spec) throws EngineException {
    String id = target.createContainer(name, spec.body());
    journal.container(id);
    for (Map.Entry<String, ObjectNode> e : spec.connectAfterCreate().entrySet()) {
      target.connectNetwork(e.getKey(), id, e.getValue());
    }
    return id;
  }

  /** True when the target takes several networks at container create (API 1.44 and later). */
  public boolean multiNetworkCreate() {
    return RestoreRunner.compareApi(target.apiVersion(), "1.44") >= 0;
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    new SecureRandom().nextBytes(b);
    return b;
  }
}
