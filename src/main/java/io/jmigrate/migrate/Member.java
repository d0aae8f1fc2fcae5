package io.jmigrate.migrate;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.backup.MountPlan;
import io.jmigrate.blob.Digest;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One container of a migration: what the source says about it, and what the migration did with it so far. */
final class Member {
  private final String id;
  private final String name;
  private final String service;
  private final ObjectNode inspect;
  private final List<MountPlan.Mount> mounts;
  private final List<ServiceOrder.Dependency> dependencies;
  private final boolean running;

  /** The temporary image committed while the source ran, and its diffIDs. */
  String precopyImage;
  List<Digest> precopyDiffIds;
  /** The digest of its overlay2 upper directory while it was paused for that commit, when it could be read. */
  Digest precopyUpper;
  /** The image the clone is created from on the target (repo:tag). */
  String targetImage;
  /** Anonymous volume destination → the name of its replacement on the target. */
  final Map<String, String> anonymous = new LinkedHashMap<>();
  String targetId;
  String state;
  /** When the clone was running (or healthy, when it has a healthcheck). */
  Instant readyAt;
  long layerBytes;
  long volumeBytes;

  Member(String id, String name, String service, ObjectNode inspect, List<MountPlan.Mount> mounts,
      List<ServiceOrder.Dependency> dependencies, boolean running) {
    this.id = id;
    this.name = name;
    this.service = service;
    this.inspect = inspect;
    this.mounts = List.copyOf(mounts);
    this.dependencies = List.copyOf(dependencies);
    this.running = running;
  }

  String id() {
    return id;
  }

  String name() {
    return name;
  }

  /** The compose service, or the container name when it has none. */
  String service() {
    return service;
  }

  /** The source container's inspect output, taken before anything was changed. */
  ObjectNode inspect() {
    return inspect;
  }

  List<MountPlan.Mount> mounts() {
    return mounts;
  }

  List<ServiceOrder.Dependency> dependencies() {
    return dependencies;
  }

  /** True when the source was running at the start: it is stopped (or paused) for the final pass. */
  boolean running() {
    return running;
  }

  /** True when the container has a healthcheck, so that "ready" means healthy. */
  boolean hasHealthcheck() {
    var test = inspect.path("Config").path("Healthcheck").path("Test");
    return test.isArray() && test.size() > 0 && !"NONE".equals(test.get(0).asText());
  }
}
