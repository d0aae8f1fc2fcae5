package io.jmigrate.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The mounts of a container as its inspect shows them (the {@code Mounts} array), and which of them jmigrate
 * reads: named and anonymous volumes always, bind mounts only when asked, tmpfs never (it is memory).
 */
public final class MountPlan {
  private static final Pattern ANONYMOUS_NAME = Pattern.compile("[0-9a-f]{64}");

  /** One mount: type "volume" or "bind", volume name (null for binds), host source, container destination. */
  public record Mount(String type, String name, String source, String destination, String driver, boolean readOnly,
      boolean anonymous, Set<String> nested) {
    /** A label for logs and errors, e.g. "volume data at /var/lib/data". */
    public String describe() {
      return ("volume".equals(type) ? "volume " + name : "bind mount " + source) + " at " + destination;
    }
  }

  private MountPlan() {}

  /**
   * The mounts to capture, in destination order, each with the relative paths of the other captured mounts that
   * sit beneath it (they are captured on their own, so they are left out of their parent's archive).
   */
  public static List<Mount> of(ObjectNode inspect, boolean includeBinds) {
    Set<String> namedInConfig = namedSources(inspect);
    List<Mount> raw = new ArrayList<>();
    for (JsonNode m : inspect.path("Mounts")) {
      String type = m.path("Type").asText();
      if (!"volume".equals(type) && !("bind".equals(type) && includeBinds)) {
        continue;
      }
      String name = "volume".equals(type) ? m.path("Name").asText() : null;
      boolean anonymous = name != null && ANONYMOUS_NAME.matcher(name).matches() && !namedInConfig.contains(name);
      raw.add(new Mount(type, name, m.path("Source").asText(), m.path("Destination").asText(),
          m.path("Driver").asText(null), !m.path("RW").asBoolean(true), anonymous, Set.of()));
    }
    raw.sort((a, b) -> a.destination().compareTo(b.destination()));
    List<Mount> out = new ArrayList<>();
    for (Mount m : raw) {
      Set<String> nested = new HashSet<>();
      String prefix = m.destination().endsWith("/") ? m.destination() : m.destination() + "/";
      for (Mount o : raw) {
        if (o != m && o.destination().startsWith(prefix)) {
          nested.add(o.destination().substring(prefix.length()));
        }
      }
      out.add(new Mount(m.type(), m.name(), m.source(), m.destination(), m.driver(), m.readOnly(), m.anonymous(),
          Set.copyOf(nested)));
    }
    return out;
  }

  /** Bind mounts that are left out (reported, since the user may want --include-binds). */
  public static List<String> skippedBinds(ObjectNode inspect, boolean includeBinds) {
    List<String> out = new ArrayList<>();
    if (!includeBinds) {
      for (JsonNode m : inspect.path("Mounts")) {
        if ("bind".equals(m.path("Type").asText())) {
          out.add(m.path("Source").asText() + " at " + m.path("Destination").asText());
        }
      }
    }
    return out;
  }

  /** Volume names the user wrote in HostConfig.Binds ("name:/dst") or HostConfig.Mounts: those are not anonymous. */
  private static Set<String> namedSources(ObjectNode inspect) {
    Set<String> names = new HashSet<>();
    for (JsonNode b : inspect.path("HostConfig").path("Binds")) {
      String s = b.asText();
      int colon = s.indexOf(':');
      if (colon > 0) {
        names.add(s.substring(0, colon));
      }
    }
    for (JsonNode m : inspect.path("HostConfig").path("Mounts")) {
      if (m.hasNonNull("Source")) {
        names.add(m.path("Source").asText());
      }
    }
    return names;
  }
}
