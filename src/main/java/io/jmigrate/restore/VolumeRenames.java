package io.jmigrate.restore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Json;
import io.jmigrate.snapshot.SnapshotDocument;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rewrites a snapshot document so that its named volumes and captured bind mounts are restored into fresh volumes
 * under other names, and the container mounts those: the volume list, {@code HostConfig.Binds} and
 * {@code HostConfig.Mounts}. A copy restored this way never mounts or writes the original's volumes or host
 * directories, so it can run beside the original on the same host. Pure: the stored snapshot is not changed.
 *
 * <p>Used by {@code restore --volume-prefix} ({@link #withPrefix}) and by restore drills, which name their
 * volumes after the scratch container.
 */
public final class VolumeRenames {
  private static final Logger LOG = LoggerFactory.getLogger(VolumeRenames.class);
  /** The start of a volume name, by the engine's rule (moby volume/local: {@code [a-zA-Z0-9][a-zA-Z0-9_.-]+}). */
  private static final Pattern PREFIX = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]*");
  /** Bind options that also mean something for a volume; propagation and SELinux options are bind-only. */
  private static final Set<String> VOLUME_BIND_OPTIONS = Set.of("ro", "rw");

  private VolumeRenames() {}

  /**
   * The volume to restore in place of one of the document's volumes or bind mounts ({@code index} counts from 1 in
   * the document's order). For a named volume or a bind mount it must be a named volume with the new name; for an
   * anonymous volume, an anonymous volume (a restore gives those fresh volumes anyway).
   */
  @FunctionalInterface
  public interface Renamer {
    SnapshotDocument.Volume rename(int index, SnapshotDocument.Volume volume);
  }

  /**
   * Rewrites {@code doc}: every named volume and every captured bind mount becomes the volume {@code renamer}
   * gives, and the container's Binds and Mounts name it instead. A mount the snapshot does not record (a bind
   * mount left out of the backup, e.g. a bound docker.sock) is kept as configured when {@code keepUnrecorded},
   * else dropped. Kept bind options are ro/rw only (propagation and relabelling apply to host paths); a rewritten
   * {@code --mount} keeps its target and read-only flag only.
   */
  public static SnapshotDocument apply(SnapshotDocument doc, Renamer renamer, boolean keepUnrecorded) {
    Map<String, String> named = new LinkedHashMap<>(); // volume name or host path -> new volume name
    List<SnapshotDocument.Volume> volumes = new ArrayList<>();
    int i = 0;
    for (SnapshotDocument.Volume v : doc.volumes()) {
      i++;
      SnapshotDocument.Volume renamed = renamer.rename(i, v);
      if ("volume".equals(v.type()) && v.anonymous()) {
        if (!renamed.anonymous()) {
          throw new IllegalArgumentException("an anonymous volume must stay anonymous, got " + renamed);
        }
        volumes.add(renamed);
        continue;
      }
      if (!"volume".equals(renamed.type()) || renamed.anonymous() || renamed.name() == null) {
        throw new IllegalArgumentException("a renamed mount must be a named volume, got " + renamed);
      }
      named.put("volume".equals(v.type()) ? v.name() : v.source(), renamed.name());
      volumes.add(renamed);
    }
    ObjectNode inspect = doc.container().inspect().deepCopy();
    ObjectNode host = inspect.path("HostConfig").isObject() ? (ObjectNode) inspect.get("HostConfig")
        : inspect.putObject("HostConfig");
    rewriteBinds(host, named, keepUnrecorded);
    rewriteMounts(host, named, keepUnrecorded);
    return new SnapshotDocument(doc.schemaVersion(), doc.tool(),
        new SnapshotDocument.Container(doc.container().name(), doc.container().id(), inspect), doc.image(), volumes,
        doc.networks(), doc.consistency(), doc.source(), doc.times());
  }

  /**
   * The copy of {@code doc} that {@code restore --volume-prefix PREFIX} creates: each named volume {@code NAME}
   * becomes {@code PREFIX+NAME}, each captured bind mount a volume named {@code PREFIX} plus its host path with
   * slashes turned into underscores ({@code /srv/www} → {@code PREFIXsrv_www}); unrecorded bind mounts are kept.
   * Driver, options and labels stay, except that a local-driver volume backed by a device (an NFS export, a bind
   * of a host directory, a disk) loses its options: with them the copy would mount the original's storage.
   *
   * @throws IllegalArgumentException when {@code prefix} cannot start a volume name
   */
  public static SnapshotDocument withPrefix(SnapshotDocument doc, String prefix) {
    checkPrefix(prefix);
    return apply(doc, (i, v) -> {
      if (v.anonymous()) {
        return v;
      }
      boolean bind = !"volume".equals(v.type());
      String name = prefix + (bind ? clean(v.source()) : v.name());
      String driver = bind ? "local" : v.driver();
      Map<String, String> opts = bind ? Map.of() : v.driverOpts();
      if (sharesStorage(driver, opts)) {
        LOG.warn("volume {} is backed by {} {}: its copy {} is a plain local volume, so that the original's storage "
            + "is not written", v.name(), opts.getOrDefault("type", "device"), opts.get("device"), name);
        opts = Map.of();
      }
      return new SnapshotDocument.Volume(name, "volume", false, driver, opts, v.labels(), v.destination(), null,
          v.readOnly(), v.content(), v.diffId(), v.uncompressedSize(), v.method());
    }, true);
  }

  /** Checks that {@code prefix} can start a volume name; the message says what is allowed. */
  public static void checkPrefix(String prefix) {
    if (prefix == null || !PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException("volume prefix '" + prefix + "' cannot start a volume name: use letters, "
          + "digits, '_', '.' or '-', starting with a letter or digit (e.g. copy-)");
    }
  }

  /**
   * True when a volume of this driver and options mounts storage that exists outside the volume: the local driver
   * with a {@code device} (moby volume/local: {@code mount -t TYPE -o O DEVICE}) other than a fresh tmpfs.
   */
  static boolean sharesStorage(String driver, Map<String, String> opts) {
    boolean local = driver == null || "local".equals(driver);
    return local && opts != null && opts.containsKey("device")
        && !"tmpfs".equals(opts.getOrDefault("type", "").toLowerCase(Locale.ROOT));
  }

  /** A host path as part of a volume name: {@code /srv/www} → {@code srv_www}. */
  static String clean(String path) {
    String s = path == null ? "bind" : path.replaceAll("^/+", "").replaceAll("[^a-zA-Z0-9_.-]", "_");
    if (s.isEmpty()) {
      s = "root";
    }
    return s.length() > 60 ? s.substring(0, 60) : s;
  }

  /** {@code SRC:DST[:OPTS]}: a renamed volume or host path becomes its new volume; only ro/rw options stay. */
  private static void rewriteBinds(ObjectNode host, Map<String, String> named, boolean keepUnrecorded) {
    if (!host.path("Binds").isArray()) {
      return;
    }
    ArrayNode out = Json.MAPPER.createArrayNode();
    for (JsonNode b : host.path("Binds")) {
      String[] parts = b.asText().split(":", 3);
      String target = parts.length < 2 ? null : named.get(parts[0]);
      if (target == null) {
        if (keepUnrecorded || parts.length < 2) {
          out.add(b.asText());
        }
        continue;
      }
      String opts = "";
      if (parts.length == 3) {
        List<String> keep = new ArrayList<>();
        for (String o : parts[2].split(",")) {
          if (VOLUME_BIND_OPTIONS.contains(o)) {
            keep.add(o);
          }
        }
        opts = keep.isEmpty() ? "" : ":" + String.join(",", keep);
      }
      out.add(target + ":" + parts[1] + opts);
    }
    host.set("Binds", out);
  }

  /** {@code --mount} entries: renamed volumes and binds become their new volumes, without driver or bind options. */
  private static void rewriteMounts(ObjectNode host, Map<String, String> named, boolean keepUnrecorded) {
    if (!host.path("Mounts").isArray()) {
      return;
    }
    ArrayNode out = Json.MAPPER.createArrayNode();
    for (JsonNode m : host.path("Mounts")) {
      String type = m.path("Type").asText("").toLowerCase(Locale.ROOT);
      if (!type.equals("volume") && !type.equals("bind")) {
        out.add(m.deepCopy());
        continue;
      }
      if (type.equals("volume") && !m.hasNonNull("Source")) {
        out.add(m.deepCopy()); // anonymous: the restore names its fresh volume
        continue;
      }
      String target = named.get(m.path("Source").asText());
      if (target == null) {
        if (keepUnrecorded) {
          out.add(m.deepCopy());
        }
        continue;
      }
      ObjectNode n = Json.newObject();
      n.put("Type", "volume");
      n.put("Source", target);
      n.set("Target", m.path("Target").deepCopy());
      if (m.path("ReadOnly").asBoolean(false)) {
        n.put("ReadOnly", true);
      }
      out.add(n);
    }
    host.set("Mounts", out);
  }
}
