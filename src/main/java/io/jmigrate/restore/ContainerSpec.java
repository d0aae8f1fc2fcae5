package io.jmigrate.restore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Json;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns a container's inspect output into the body of {@code POST /containers/create} that recreates it.
 *
 * <p>Inspect shows merged values (image Env, Cmd, Entrypoint, User, WorkingDir, Labels, Healthcheck folded in,
 * daemon defaults written into HostConfig). The clone is created from the committed image, whose config already
 * holds those same merged values, so copying Config and HostConfig back is idempotent (docs/engine-notes.md,
 * "Recreating a container"). Both are copied as raw JSON, so fields this code does not know survive. Only
 * ephemeral or host-specific values are changed:
 * <ul>
 *   <li>the image becomes the restored image;
 *   <li>anonymous volumes are mounted by the names of their fresh, already filled, replacements;
 *   <li>network endpoints keep aliases, static IPs and links, but drop addresses, ids and the source's short-id
 *       alias, which the engine adds by itself;
 *   <li>legacy links "/db:/web/db" become "db:db", since the container may get a new name.
 * </ul>
 */
public final class ContainerSpec {
  /** Built-in networks that are never created and take no aliases. */
  public static final Set<String> BUILTIN_NETWORKS = Set.of("bridge", "host", "none", "default");

  private final ObjectNode body;
  private final Map<String, ObjectNode> connectAfterCreate;

  private ContainerSpec(ObjectNode body, Map<String, ObjectNode> connectAfterCreate) {
    this.body = body;
    this.connectAfterCreate = connectAfterCreate;
  }

  /**
   * Builds the create body.
   *
   * @param inspect the source container's inspect output
   * @param image the image reference to create from
   * @param anonymousVolumes destination → name of the volume that replaces an anonymous volume there
   * @param multiNetworkCreate true when the engine takes several networks at create (API ≥ 1.44); otherwise
   *     only the primary network goes in the body and the others are connected after create
   * @param publishPorts false to drop published ports (a drill must not take the production ports)
   */
  public static ContainerSpec from(ObjectNode inspect, String image, Map<String, String> anonymousVolumes,
      boolean multiNetworkCreate, boolean publishPorts) {
    ObjectNode body = inspect.path("Config").deepCopy();
    body.put("Image", image);
    ObjectNode host = inspect.path("HostConfig").isObject() ? inspect.path("HostConfig").deepCopy()
        : Json.newObject();
    mountAnonymous(host, anonymousVolumes, inspect);
    rewriteLinks(host);
    normaliseUlimits(host);
    if (!publishPorts) {
      host.remove("PortBindings");
      host.put("PublishAllPorts", false);
    }
    body.set("HostConfig", host);

    String sourceShortId = inspect.path("Id").asText("").length() >= 12 ? inspect.path("Id").asText().substring(0, 12)
        : "";
    String mode = host.path("NetworkMode").asText("default");
    Map<String, ObjectNode> endpoints = new LinkedHashMap<>();
    if (!mode.startsWith("container:") && !"host".equals(mode) && !"none".equals(mode)) {
      inspect.path("NetworkSettings").path("Networks").fields().forEachRemaining(e ->
          endpoints.put(e.getKey(), endpoint(e.getKey(), e.getValue(), sourceShortId)));
    }
    Map<String, ObjectNode> later = new LinkedHashMap<>();
    ObjectNode epc = body.putObject("NetworkingConfig").putObject("EndpointsConfig");
    String primary = "default".equals(mode) ? "bridge" : mode;
    for (Map.Entry<String, ObjectNode> e : endpoints.entrySet()) {
      if (multiNetworkCreate || e.getKey().equals(primary)) {
        epc.set(e.getKey(), e.getValue());
      } else {
        later.put(e.getKey(), e.getValue());
      }
    }
    return new ContainerSpec(body, later);
  }

  /**
   * Podman's inspect names ulimits as the kernel does ({@code RLIMIT_NOFILE}); both engines' create takes Docker's
   * names ({@code nofile}), and Podman refuses its own ("invalid ulimit type: RLIMIT_NOFILE", Podman 4.3).
   */
  static void normaliseUlimits(ObjectNode host) {
    for (com.fasterxml.jackson.databind.JsonNode u : host.path("Ulimits")) {
      String name = u.path("Name").asText("");
      if (u instanceof ObjectNode && name.toUpperCase(java.util.Locale.ROOT).startsWith("RLIMIT_")) {
        ((ObjectNode) u).put("Name", name.substring("RLIMIT_".length()).toLowerCase(java.util.Locale.ROOT));
      }
    }
  }

  /** The create body (Config fields, HostConfig, NetworkingConfig). */
  public ObjectNode body() {
    return body.deepCopy();
  }

  /** Networks to connect after create, with their endpoint configs (engines before API 1.44). */
  public Map<String, ObjectNode> connectAfterCreate() {
    return connectAfterCreate;
  }

  /** The user-defined networks the container needs, primary first. */
  public List<String> networks() {
    List<String> out = new ArrayList<>();
    body.path("NetworkingConfig").path("EndpointsConfig").fieldNames().forEachRemaining(out::add);
    out.addAll(connectAfterCreate.keySet());
    out.removeIf(BUILTIN_NETWORKS::contains);
    return out;
  }

  private static ObjectNode endpoint(String network, JsonNode src, String sourceShortId) {
    ObjectNode ep = Json.newObject();
    if (src.path("IPAMConfig").isObject() && src.path("IPAMConfig").size() > 0) {
      ep.set("IPAMConfig", src.path("IPAMConfig").deepCopy());
    }
    if (!BUILTIN_NETWORKS.contains(network)) {
      ArrayNode aliases = ep.putArray("Aliases");
      for (JsonNode a : src.path("Aliases")) {
        // The engine adds the container's short id as an alias on user-defined networks; the source's id is
        // meaningless on the target.
        if (!a.asText().equals(sourceShortId)) {
          aliases.add(a.asText());
        }
      }
      if (aliases.isEmpty()) {
        ep.remove("Aliases");
      }
    }
    if (src.path("Links").isArray() && src.path("Links").size() > 0) {
      ep.set("Links", src.path("Links").deepCopy());
    }
    if (src.path("DriverOpts").isObject() && src.path("DriverOpts").size() > 0) {
      ep.set("DriverOpts", src.path("DriverOpts").deepCopy());
    }
    return ep;
  }

  /**
   * Marks the volume mounts at {@code destinations} "nocopy" and returns this spec. When a container is created,
   * the engine seeds each empty volume with the image's files at its mount path (docs/engine-notes.md, "Copy-up
   * trap"): a volume that was empty on the source would come back holding them. Mounts given as
   * {@code HostConfig.Mounts} get {@code VolumeOptions.NoCopy}; {@code HostConfig.Binds} of named volumes get the
   * {@code nocopy} option. Host-path binds are never seeded and stay as they are.
   */
  public ContainerSpec withoutCopyUp(Set<String> destinations) {
    if (destinations.isEmpty()) {
      return this;
    }
    Set<String> wanted = new HashSet<>();
    destinations.forEach(d -> wanted.add(trimSlash(d)));
    ObjectNode host = (ObjectNode) body.path("HostConfig");
    if (host.path("Mounts").isArray()) {
      for (JsonNode m : host.path("Mounts")) {
        if ("volume".equals(m.path("Type").asText()) && wanted.contains(trimSlash(m.path("Target").asText()))) {
          JsonNode vo = m.path("VolumeOptions");
          ObjectNode o = vo.isObject() ? (ObjectNode) vo : ((ObjectNode) m).putObject("VolumeOptions");
          o.put("NoCopy", true);
        }
      }
    }
    if (host.path("Binds").isArray()) {
      ArrayNode out = Json.MAPPER.createArrayNode();
      for (JsonNode b : host.path("Binds")) {
        out.add(bindWithoutCopyUp(b.asText(), wanted));
      }
      host.set("Binds", out);
    }
    return this;
  }

  /** "name:/dst[:opts]" with "nocopy" added to its options when it is a named volume at a wanted destination. */
  static String bindWithoutCopyUp(String bind, Set<String> wanted) {
    String[] p = bind.split(":", -1);
    if (p.length < 2 || p.length > 3 || p[0].startsWith("/") || !wanted.contains(trimSlash(p[1]))) {
      return bind;
    }
    if (p.length == 2) {
      return bind + ":nocopy";
    }
    return List.of(p[2].split(",")).contains("nocopy") ? bind : bind + ",nocopy";
  }

  private static String trimSlash(String path) {
    return path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
  }

  private static void mountAnonymous(ObjectNode host, Map<String, String> anonymous, ObjectNode inspect) {
    if (anonymous.isEmpty()) {
      return;
    }
    Map<String, String> left = new LinkedHashMap<>(anonymous);
    if (host.path("Mounts").isArray()) {
      for (JsonNode m : host.path("Mounts")) {
        String target = m.path("Target").asText();
        if ("volume".equals(m.path("Type").asText()) && !m.hasNonNull("Source") && left.containsKey(target)) {
          ((ObjectNode) m).put("Source", left.remove(target));
        }
      }
    }
    if (left.isEmpty()) {
      return;
    }
    ArrayNode binds = host.path("Binds").isArray() ? (ArrayNode) host.path("Binds") : host.putArray("Binds");
    for (Map.Entry<String, String> e : left.entrySet()) {
      boolean ro = false;
      for (JsonNode m : inspect.path("Mounts")) {
        if (e.getKey().equals(m.path("Destination").asText())) {
          ro = !m.path("RW").asBoolean(true);
        }
      }
      binds.add(e.getValue() + ":" + e.getKey() + (ro ? ":ro" : ""));
    }
  }

  private static void rewriteLinks(ObjectNode host) {
    if (!host.path("Links").isArray()) {
      return;
    }
    ArrayNode out = Json.MAPPER.createArrayNode();
    for (JsonNode l : host.path("Links")) {
      String s = l.asText();
      int colon = s.indexOf(':');
      if (colon < 0) {
        out.add(s);
        continue;
      }
      String target = s.substring(0, colon).replaceFirst("^/", "");
      String alias = s.substring(colon + 1);
      alias = alias.substring(alias.lastIndexOf('/') + 1);
      out.add(target + ":" + alias);
    }
    host.set("Links", out);
  }
}
