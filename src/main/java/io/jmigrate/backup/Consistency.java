package io.jmigrate.backup;

import java.util.Locale;

/**
 * How a container is kept still while its writable layer and volumes are read.
 * <ul>
 *   <li>{@code PAUSE} (default): freeze its processes with the cgroup freezer. Downtime is the time to commit and
 *       read the volumes; applications see no restart, but in-memory state that was not flushed is not on disk.
 *   <li>{@code STOP}: stop it (SIGTERM, then SIGKILL after the grace period) and start it again after. Databases
 *       flush; the application restarts.
 *   <li>{@code NONE}: read while it runs. Only for data that is not being written.
 * </ul>
 */
public enum Consistency {
  PAUSE,
  STOP,
  NONE;

  /** Parses pause|stop|none; the message lists the choices. */
  public static Consistency parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new IllegalArgumentException("unknown consistency '" + value + "': use pause, stop or none");
    }
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
