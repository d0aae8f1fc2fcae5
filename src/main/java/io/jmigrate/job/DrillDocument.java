package io.jmigrate.job;

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
import java.util.TreeMap;

/**
 * The snapshot document a drill restores: the snapshot's, rewritten so that the clone can run next to the
 * original on the same host and touch none of its things. Pure; the stored snapshot is not changed.
 * <ul>
 *   <li>every named volume and every bind mount becomes a fresh local volume named
 *       {@code <scratch>-<volume>} (filled with the snapshot's data; an uncaptured bind stays empty), so the
 *       original's volumes and host directories are never mounted or written; driver options are dropped, so a
 *       volume backed by, say, an NFS export is not mounted either;
 *   <li>anonymous volumes stay anonymous (a restore always gives them fresh volumes);
 *   <li>no network ({@code NetworkMode none}): the clone's aliases must not answer for the original's, and nothing
 *       may reach it; no published ports, no links, no {@code --volumes-from}, no shared IPC or PID namespace;
 *   <li>restart policy {@code no}, so a clone that cleanup could not remove never comes back after a reboot;
 *   <li>the label {@value JobRunner#DRILL_LABEL} on the clone and its volumes, so jobs never back it up and a later
 *       drill can recognise a leftover.
 * </ul>
 */
public final class DrillDocument {
  private DrillDocument() {}

  /** The clone's name: {@code <container>-drill-<short snapshot id>}. */
  public static String scratchName(String container, String shortId) {
    String base = container.replaceAll("[^a-zA-Z0-9_.-]", "_");
    if (base.length() > 100) {
      base = base.substring(0, 100);
    }
    return base + "-drill-" + shortId;
  }

  /**
   * Rewrites {@code doc} for a drill clone named {@code scratch}.
   *
   * @param label the value of the drill label (the snapshot's short id)
   */
  public static SnapshotDocument of(SnapshotDocument doc, String scratch, String label) {
    Map<String, String> named = new LinkedHashMap<>(); // source (volume name or host path) -> scratch volume
    List<SnapshotDocument.Volume> volumes = new ArrayList<>();
    int i = 0;
    for (SnapshotDocument.Volume v : doc.volumes()) {
      i++;
      Map<String, String> labels = new TreeMap<>(v.labels() == null ? Map.of() : v.labels());
      labels.put(JobRunner.DRILL_LABEL, label);
      if ("volume".equals(v.type()) && v.anonymous()) {
        volumes.add(new SnapshotDocument.Volume(v.name(), v.type(), true, "local", Map.of(), labels, v.destination(),
            null, v.readOnly(), v.content(), v.diffId(), v.uncompressedSize(), v.method()));
        continue;
      }
      String source = "volume".equals(v.type()) ? v.name() : v.source();
      String scratchVolume = scratch + "-" + ("volume".equals(v.type()) ? clean(v.name()) : "bind" + i);
      named.put(source, scratchVolume);
      volumes.add(new SnapshotDocument.Volume(scratchVolume, "volume", false, "local", Map.of(), labels,
          v.destination(), null, v.readOnly(), v.content(), v.diffId(), v.uncompressedSize(), v.method()));
    }

    ObjectNode inspect = doc.container().inspect().deepCopy();
    inspect.put("Name", "/" + scratch);
    ObjectNode config = inspect.path("Config").isObject() ? (ObjectNode) inspect.get("Config") : inspect.putObject("Config");
    ObjectNode labels = config.path("Labels").isObject() ? (ObjectNode) config.get("Labels") : config.putObject("Labels");
    labels.put(JobRunner.DRILL_LABEL, label);
    config.remove("MacAddress");

    ObjectNode host = inspect.path("HostConfig").isObject() ? (ObjectNode) inspect.get("HostConfig")
        : inspect.putObject("HostConfig");
    host.put("NetworkMode", "none");
    host.remove("PortBindings");
    host.put("PublishAllPorts", false);
    host.remove("Links");
    host.remove("VolumesFrom");
    host.remove("ExtraHosts");
    ObjectNode restart = host.putObject("RestartPolicy");
    restart.put("Name", "no");
    restart.put("MaximumRetryCount", 0);
    host.put("AutoRemove", false);
    if (host.path("IpcMode").asText("").startsWith("container:")) {
      host.put("IpcMode", "private");
    }
    if (host.path("PidMode").asText("").startsWith("container:")) {
      host.put("PidMode", "");
    }
    rewriteBinds(host, named);
    rewriteMounts(host, named);
    ObjectNode ns = inspect.path("NetworkSettings").isObject() ? (ObjectNode) inspect.get("NetworkSettings")
        : inspect.putObject("NetworkSettings");
    ns.putObject("Networks");

    return new SnapshotDocument(doc.schemaVersion(), doc.tool(),
        new SnapshotDocument.Container(scratch, doc.container().id(), inspect), doc.image(), volumes, List.of(),
        doc.consistency(), doc.source(), doc.times());
  }

  /** {@code SRC:DST[:OPTS]}: a named volume or host path becomes its scratch volume; only ro/rw options stay. */
  private static void rewriteBinds(ObjectNode host, Map<String, String> named) {
    if (!host.path("Binds").isArray()) {
      return;
    }
    ArrayNode out = Json.MAPPER.createArrayNode();
    for (JsonNode b : host.path("Binds")) {
      String[] parts = b.asText().split(":", 3);
      if (parts.length < 2) {
        out.add(b.asText());
        continue;
      }
      // A mount the snapshot does not record (e.g. a bound file such as docker.sock) is left out: the clone never
      // mounts the original's paths or volumes.
      String target = named.get(parts[0]);
      String opts = "";
      if (parts.length == 3) {
        List<String> keep = new ArrayList<>();
        for (String o : parts[2].split(",")) {
          if (o.equals("ro") || o.equals("rw")) {
            keep.add(o);
          }
        }
        opts = keep.isEmpty() ? "" : ":" + String.join(",", keep);
      }
      if (target != null) {
        out.add(target + ":" + parts[1] + opts);
      }
    }
    host.set("Binds", out);
  }

  /** {@code --mount} entries: volumes and binds become the scratch volumes, without driver or bind options. */
  private static void rewriteMounts(ObjectNode host, Map<String, String> named) {
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

  private static String clean(String name) {
    String s = name == null ? "volume" : name.replaceAll("[^a-zA-Z0-9_.-]", "_");
    return s.length() > 60 ? s.substring(0, 60) : s;
  }
}
