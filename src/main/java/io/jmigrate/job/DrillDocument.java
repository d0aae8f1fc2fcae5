package io.jmigrate.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.restore.VolumeRenames;
import io.jmigrate.snapshot.SnapshotDocument;
import java.util.List;
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
    // Volumes and bind mounts become fresh local volumes, shared with restore --volume-prefix; mounts the snapshot
    // does not record are dropped, so the clone never mounts the original's paths or volumes.
    SnapshotDocument renamed = VolumeRenames.apply(doc, (i, v) -> {
      Map<String, String> labels = new TreeMap<>(v.labels() == null ? Map.of() : v.labels());
      labels.put(JobRunner.DRILL_LABEL, label);
      if ("volume".equals(v.type()) && v.anonymous()) {
        return new SnapshotDocument.Volume(v.name(), v.type(), true, "local", Map.of(), labels, v.destination(),
            null, v.readOnly(), v.content(), v.diffId(), v.uncompressedSize(), v.method());
      }
      String scratchVolume = scratch + "-" + ("volume".equals(v.type()) ? clean(v.name()) : "bind" + i);
      return new SnapshotDocument.Volume(scratchVolume, "volume", false, "local", Map.of(), labels,
          v.destination(), null, v.readOnly(), v.content(), v.diffId(), v.uncompressedSize(), v.method());
    }, false);

    ObjectNode inspect = renamed.container().inspect();
    inspect.put("Name", "/" + scratch);
    ObjectNode config = inspect.path("Config").isObject() ? (ObjectNode) inspect.get("Config") : inspect.putObject("Config");
    ObjectNode labels = config.path("Labels").isObject() ? (ObjectNode) config.get("Labels") : config.putObject("Labels");
    labels.put(JobRunner.DRILL_LABEL, label);
    config.remove("MacAddress");

    ObjectNode host = (ObjectNode) inspect.get("HostConfig");
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
    ObjectNode ns = inspect.path("NetworkSettings").isObject() ? (ObjectNode) inspect.get("NetworkSettings")
        : inspect.putObject("NetworkSettings");
    ns.putObject("Networks");

    return new SnapshotDocument(doc.schemaVersion(), doc.tool(),
        new SnapshotDocument.Container(scratch, doc.container().id(), inspect), doc.image(), renamed.volumes(),
        List.of(), doc.consistency(), doc.source(), doc.times());
  }

  private static String clean(String name) {
    String s = name == null ? "volume" : name.replaceAll("[^a-zA-Z0-9_.-]", "_");
    return s.length() > 60 ? s.substring(0, 60) : s;
  }
}
