package io.jmigrate.restore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.snapshot.SnapshotDocument;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Checks, before anything is changed, that a snapshot can be recreated on a target engine. Every problem found is
 * reported at once, each with what to do, so an operator fixes them in one go.
 */
public final class Preflight {
  private Preflight() {}

  /** A volume the container mounts: its name, whether it is anonymous, and its driver (null = local). */
  public record VolumeUse(String name, boolean anonymous, String driver) {}

  /**
   * Runs the checks and throws when any fails.
   *
   * @param name the container name to create
   * @param replace whether an existing container and volumes of the same names may be replaced
   * @param publishPorts whether the clone publishes the snapshot's ports (then they must be free)
   * @param bytesNeeded bytes the target needs on its data-root disk (layers staged twice, volume data), or -1
   */
  public static void check(Engine target, SnapshotDocument doc, String name, boolean replace, boolean publishPorts,
      long bytesNeeded) throws EngineException, PreflightException {
    List<VolumeUse> volumes = new ArrayList<>();
    for (SnapshotDocument.Volume v : doc.volumes()) {
      if ("volume".equals(v.type())) {
        volumes.add(new VolumeUse(v.name(), v.anonymous(), v.driver()));
      }
    }
    List<String> problems = new ArrayList<>(problems(target, name, doc.container().inspect(),
        doc.source().architecture(), volumes, replace, publishPorts, false));
    diskProblem(target, bytesNeeded, "the restore").ifPresent(problems::add);
    if (!problems.isEmpty()) {
      throw new PreflightException(problems);
    }
  }

  /**
   * The problems that would keep a container with this inspect output, CPU architecture (null = unknown) and
   * volumes from being created on {@code target} as {@code name}; each says what to do. Empty when none.
   * {@code migration} words the advice for {@code jmigrate migrate} rather than {@code restore}.
   */
  public static List<String> problems(Engine target, String name, ObjectNode inspect, String architecture,
      List<VolumeUse> volumes, boolean replace, boolean publishPorts, boolean migration) throws EngineException {
    List<String> problems = new ArrayList<>();
    String where = " on " + target.display();
    Optional<ObjectNode> existing = target.findContainer(name);
    if (existing.isPresent() && !replace) {
      problems.add("a container named " + name + " already exists" + where + ": remove or rename it, "
          + (migration ? "" : "restore with --name NEW, ") + "or use --replace");
    }
    if (architecture != null && !architecture.equals(target.architecture())) {
      problems.add((migration ? "container " + name + " runs on " + architecture : "the snapshot is for "
          + architecture) + " but " + target.display() + " is " + target.architecture() + ": "
          + (migration ? "migrate to a " : "restore on a ") + architecture + " host");
    }
    Set<String> drivers = target.volumeDrivers();
    for (VolumeUse v : volumes) {
      String driver = v.driver() == null ? "local" : v.driver();
      if (!drivers.contains(driver)) {
        problems.add("volume " + v.name() + " needs the volume driver '" + driver + "', which " + target.display()
            + " lacks (it has " + String.join(", ", drivers) + "): install the plugin there first");
      }
      if (!v.anonymous() && !replace && target.findVolume(v.name()).isPresent()) {
        problems.add("a volume named " + v.name() + " already exists" + where
            + ": remove it (after saving its data), use --replace"
            + (migration ? "" : ", or restore a copy beside it with --volume-prefix PREFIX"));
      }
    }
    if (publishPorts) {
      problems.addAll(portConflicts(target, inspect, existing.map(c -> c.path("Id").asText())
          .filter(id -> replace).orElse(null)));
    }
    String mode = inspect.path("HostConfig").path("NetworkMode").asText("");
    if (mode.startsWith("container:") && target.findContainer(mode.substring("container:".length())).isEmpty()) {
      problems.add("the container shares the network of container " + mode.substring("container:".length())
          + ", which does not exist" + where + ": restore that container first");
    }
    return problems;
  }

  /**
   * The problem when {@code target} has less free disk under its data root than {@code bytesNeeded} (-1 or 0:
   * nothing to check); {@code what} names the operation. Empty when there is room, or when the free space cannot
   * be known (remote engines).
   */
  public static Optional<String> diskProblem(Engine target, long bytesNeeded, String what) {
    OptionalLong free = target.freeDiskBytes();
    if (bytesNeeded > 0 && free.isPresent() && free.getAsLong() < bytesNeeded) {
      return Optional.of(String.format("%s has %,d MB free under its data root but %s needs about %,d MB "
          + "(the engine stages an image load in full): free disk space there", target.display(),
          free.getAsLong() >> 20, what, bytesNeeded >> 20));
    }
    return Optional.empty();
  }

  /** Host ports the container publishes that a running container on the target (other than {@code ignoreId}) holds. */
  static List<String> portConflicts(Engine target, ObjectNode inspect, String ignoreId) throws EngineException {
    Set<String> wanted = new HashSet<>();
    JsonNode bindings = inspect.path("HostConfig").path("PortBindings");
    bindings.fields().forEachRemaining(e -> {
      String proto = e.getKey().contains("/") ? e.getKey().substring(e.getKey().indexOf('/') + 1) : "tcp";
      for (JsonNode b : e.getValue()) {
        String hostPort = b.path("HostPort").asText("");
        if (!hostPort.isEmpty() && !"0".equals(hostPort)) {
          wanted.add(hostPort + "/" + proto);
        }
      }
    });
    List<String> problems = new ArrayList<>();
    if (wanted.isEmpty()) {
      return problems;
    }
    for (ObjectNode c : target.listContainers(false, Map.of())) {
      if (c.path("Id").asText().equals(ignoreId)) {
        continue;
      }
      for (JsonNode p : c.path("Ports")) {
        String key = p.path("PublicPort").asText("") + "/" + p.path("Type").asText("tcp");
        if (p.has("PublicPort") && wanted.remove(key)) {
          String holder = c.path("Names").path(0).asText(c.path("Id").asText()).replaceFirst("^/", "");
          problems.add("host port " + key + " is already published by container " + holder + " on "
              + target.display() + ": stop it, or restore without that port");
        }
      }
    }
    return problems;
  }
}
