package io.jmigrate.job;

import java.util.Locale;

/** How a container is held still while its snapshot is taken. */
public enum Consistency {
  /** Freeze its processes (cgroup freezer) for the commit and volume export; the default. */
  PAUSE,
  /** Stop it (its stop signal and timeout), snapshot it, start it again: for databases that need a clean shutdown. */
  STOP,
  /** Leave it running: fastest, but files written during the export may be torn. */
  NONE;

  /** What the error messages say is expected. */
  public static final String EXPECTED = "pause, stop or none";

  /** The lower-case name used in YAML, labels and flags. */
  public String value() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses {@code pause}, {@code stop} or {@code none} (any case).
   *
   * @throws IllegalArgumentException naming the value and the choices
   */
  public static Consistency parse(String value) {
    if (value != null) {
      for (Consistency c : values()) {
        if (c.value().equalsIgnoreCase(value.strip())) {
          return c;
        }
      }
    }
    throw new IllegalArgumentException("bad consistency \"" + value + "\"; expected " + EXPECTED);
  }
}
