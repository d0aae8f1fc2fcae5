package io.jmigrate.migrate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The order in which the containers of a compose project start: each after the services it depends on, as the
 * {@code com.docker.compose.depends_on} label that Compose v2 writes says, e.g.
 * {@code db:service_started:false,cache:service_healthy:true} (service, condition, restart; older Compose writes
 * only service and condition).
 */
public final class ServiceOrder {
  /** The label that names a container's compose project. */
  public static final String PROJECT_LABEL = "com.docker.compose.project";
  /** The label that names a container's compose service. */
  public static final String SERVICE_LABEL = "com.docker.compose.service";
  /** The label that lists a container's dependencies. */
  public static final String DEPENDS_ON_LABEL = "com.docker.compose.depends_on";

  /** The conditions Compose knows: a dependency must have started, be healthy, or have exited with 0. */
  public enum Condition {
    SERVICE_STARTED,
    SERVICE_HEALTHY,
    SERVICE_COMPLETED_SUCCESSFULLY;

    static Condition parse(String s, String entry) {
      try {
        return valueOf(s.strip().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown depends_on condition '" + s + "' in '" + entry
            + "': expected service_started, service_healthy or service_completed_successfully");
      }
    }
  }

  /** One dependency: the service, the condition it must meet, and whether a restart of it restarts the dependent. */
  public record Dependency(String service, Condition condition, boolean restart) {}

  private ServiceOrder() {}

  /** Parses a depends_on label; null or blank means none. The message of a failure quotes the bad entry. */
  public static List<Dependency> parse(String label) {
    List<Dependency> out = new ArrayList<>();
    if (label == null || label.isBlank()) {
      return out;
    }
    for (String entry : label.split(",")) {
      String e = entry.strip();
      if (e.isEmpty()) {
        continue;
      }
      String[] p = e.split(":");
      if (p.length < 1 || p.length > 3 || p[0].isBlank()) {
        throw new IllegalArgumentException("cannot read depends_on entry '" + e + "': expected "
            + "service[:condition[:restart]]");
      }
      Condition c = p.length >= 2 ? Condition.parse(p[1], e) : Condition.SERVICE_STARTED;
      boolean restart = p.length == 3 && Boolean.parseBoolean(p[2].strip());
      out.add(new Dependency(p[0].strip(), c, restart));
    }
    return out;
  }

  /**
   * Orders {@code items} so that each comes after the items of every service it depends on; items whose order is
   * free keep their given order. Dependencies on services that no item provides are ignored (see
   * {@link #unknownDependencies}).
   *
   * @throws IllegalArgumentException on a dependency cycle, naming the services in it
   */
  public static <T> List<T> sort(List<T> items, Function<T, String> service, Function<T, List<Dependency>> deps) {
    Set<String> provided = new LinkedHashSet<>();
    for (T t : items) {
      provided.add(service.apply(t));
    }
    List<T> left = new ArrayList<>(items);
    List<T> out = new ArrayList<>();
    Map<String, Integer> unplaced = new LinkedHashMap<>();
    for (T t : items) {
      unplaced.merge(service.apply(t), 1, Integer::sum);
    }
    while (!left.isEmpty()) {
      T next = null;
      for (T t : left) {
        boolean ready = true;
        for (Dependency d : deps.apply(t)) {
          if (provided.contains(d.service()) && !d.service().equals(service.apply(t))
              && unplaced.getOrDefault(d.service(), 0) > 0) {
            ready = false;
            break;
          }
        }
        if (ready) {
          next = t;
          break;
        }
      }
      if (next == null) {
        Set<String> cycle = new LinkedHashSet<>();
        left.forEach(t -> cycle.add(service.apply(t)));
        throw new IllegalArgumentException("the services " + String.join(", ", cycle) + " depend on each other "
            + "(com.docker.compose.depends_on forms a cycle): fix the project's depends_on");
      }
      left.remove(next);
      out.add(next);
      unplaced.merge(service.apply(next), -1, Integer::sum);
    }
    return out;
  }

  /** The dependencies of {@code items} on services that none of them provides, as "dependent -> service". */
  public static <T> List<String> unknownDependencies(List<T> items, Function<T, String> service,
      Function<T, List<Dependency>> deps) {
    Set<String> provided = new LinkedHashSet<>();
    items.forEach(t -> provided.add(service.apply(t)));
    List<String> out = new ArrayList<>();
    for (T t : items) {
      for (Dependency d : deps.apply(t)) {
        if (!provided.contains(d.service())) {
          out.add(service.apply(t) + " -> " + d.service());
        }
      }
    }
    return out;
  }
}
