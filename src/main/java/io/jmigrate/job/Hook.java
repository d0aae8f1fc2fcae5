package io.jmigrate.job;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A command run inside a container through exec, before ({@code pre}) or after ({@code post}) its snapshot.
 * Its output is logged.
 *
 * @param command the argv; a shell string from the file or a label becomes {@code sh -c STRING}
 * @param timeout how long it may run before it is killed and counted as failed
 * @param onError {@link OnError#ABORT} or {@link OnError#CONTINUE}
 * @param container the container to run it in; empty means each selected container
 */
public record Hook(List<String> command, Duration timeout, OnError onError, Optional<String> container) {
  /** The timeout when none is given. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

  /** What happens when a hook fails (non-zero exit, timeout, or exec error). */
  public enum OnError {
    /**
     * Pre hook: the container is not snapshotted and counts as failed. Post hook: the snapshot is kept, but the
     * container counts as failed.
     */
    ABORT,
    /** Log the failure and go on as if it had passed. */
    CONTINUE;

    /** The lower-case name used in YAML. */
    public String value() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public Hook {
    Objects.requireNonNull(command, "command");
    command = List.copyOf(command);
    if (command.isEmpty()) {
      throw new IllegalArgumentException("a hook needs a command");
    }
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isZero() || timeout.isNegative()) {
      throw new IllegalArgumentException("hook timeout must be above zero: " + timeout);
    }
    Objects.requireNonNull(onError, "onError");
    Objects.requireNonNull(container, "container");
  }

  /** A {@code sh -c STRING} hook, as a label or a YAML string gives it. */
  public static Hook shell(String script, Duration timeout, OnError onError, Optional<String> container) {
    return new Hook(List.of("sh", "-c", script), timeout, onError, container);
  }

  /** The same hook with another timeout (a label or flag override). */
  public Hook withTimeout(Duration t) {
    return new Hook(command, t, onError, container);
  }

  /** For logs and errors: the command joined with spaces. */
  public String display() {
    return String.join(" ", command);
  }
}
