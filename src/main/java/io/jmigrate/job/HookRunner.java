package io.jmigrate.job;

import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a container's pre or post hooks through the engine's exec, in order. Each output line is logged with the
 * container's name; a failing hook (non-zero exit, timeout, or an exec the engine refuses) is logged with its last
 * lines of output, then its {@link Hook.OnError} decides: {@code continue} goes on, {@code abort} stops the hooks
 * and reports why.
 *
 * <p>A hook that runs past its timeout counts as failed. The engine API has no way to stop an exec'd process, so
 * when jmigrate runs on the engine's host it kills the process (and its children) by the host pid the engine
 * reports, after checking that the process belongs to that container; elsewhere the process is left running and
 * a warning says so.
 */
public final class HookRunner {
  private static final Logger LOG = LoggerFactory.getLogger(HookRunner.class);
  /** Lines of output kept for the failure message. */
  static final int TAIL_LINES = 5;

  private final Engine engine;

  /**
   * What a failure message tells the user to do, in the terms of where the hook came from.
   *
   * @param failed after a non-zero exit
   * @param timedOut after the timeout
   */
  public record Advice(String failed, String timedOut) {
    /** Hooks of a job file, where {@code on-error} and {@code timeout} are keys. */
    public static final Advice JOB_FILE =
        new Advice("fix the command or set on-error: continue", "make it faster or raise its timeout");
  }

  public HookRunner(Engine engine) {
    this.engine = engine;
  }

  /**
   * Runs {@code hooks} in the container.
   *
   * @param phase "pre" or "post", for messages
   * @param name the container's name, for messages
   * @param containerId the container to exec in
   * @return empty when every hook passed (or failed with {@code on-error: continue}); else the message of the
   *     first failure whose policy is {@code abort}, naming the hook, the container and what to do
   */
  public Optional<String> run(String phase, String name, String containerId, List<Hook> hooks) {
    for (Hook hook : hooks) {
      Optional<String> failure = runOne(phase, name, containerId, hook);
      if (failure.isEmpty()) {
        continue;
      }
      if (hook.onError() == Hook.OnError.CONTINUE) {
        LOG.warn("{}; on-error: continue, so the backup goes on", failure.get());
        continue;
      }
      return failure;
    }
    return Optional.empty();
  }

  /** Runs one hook of a job file; empty when it passed, else what went wrong. */
  Optional<String> runOne(String phase, String name, String containerId, Hook hook) {
    return runOne(phase, name, containerId, hook, Advice.JOB_FILE);
  }

  /** Runs one hook; empty when it passed, else what went wrong and, from {@code advice}, what to do. */
  Optional<String> runOne(String phase, String name, String containerId, Hook hook, Advice advice) {
    String what = phase + " hook `" + hook.display() + "` in container " + name;
    Deque<String> tail = new ArrayDeque<>();
    Instant started = Instant.now();
    LOG.info("{}: running {} hook `{}` (timeout {})", name, phase, hook.display(), Durations.format(hook.timeout()));
    Engine.ExecResult r;
    try {
      r = engine.exec(containerId, hook.command(), hook.timeout(), line -> {
        LOG.info("{} [{}]: {}", name, phase, line);
        synchronized (tail) {
          tail.addLast(line);
          if (tail.size() > TAIL_LINES) {
            tail.removeFirst();
          }
        }
      });
    } catch (EngineException e) {
      return Optional.of(what + " could not run: " + e.getMessage());
    }
    String took = Durations.format(Duration.between(started, Instant.now()).withNanos(0));
    if (r.timedOut()) {
      String killed = kill(name, containerId, r.pid());
      return Optional.of(what + " did not finish within its timeout of " + Durations.format(hook.timeout()) + " ("
          + killed + ")" + lastOutput(tail) + "; " + advice.timedOut());
    }
    if (r.exitCode() != 0) {
      return Optional.of(what + " failed with exit code " + r.exitCode() + " after " + took + lastOutput(tail)
          + "; " + advice.failed());
    }
    LOG.info("{}: {} hook `{}` passed in {}", name, phase, hook.display(), took);
    return Optional.empty();
  }

  private static String lastOutput(Deque<String> tail) {
    synchronized (tail) {
      if (tail.isEmpty()) {
        return "";
      }
      return "; its last output: " + String.join(" | ", tail);
    }
  }

  /**
   * Kills a timed-out exec's process tree when it is visible from here and provably in the container (its cgroup
   * names the container id): jmigrate runs on the engine's host, in the same pid namespace. Returns what happened.
   */
  String kill(String name, String containerId, long pid) {
    if (pid <= 0 || !engine.isLocal()) {
      LOG.warn("{}: a timed-out hook may still be running in the container: the engine API cannot stop it and "
          + "jmigrate does not run on the engine's host; check with `docker top {}`", name, name);
      return "it may still run in the container";
    }
    String fullId = containerId;
    try {
      fullId = engine.inspectContainer(containerId).path("Id").asText(containerId);
    } catch (EngineException e) {
      LOG.debug("cannot inspect {}: {}", containerId, e.getMessage());
    }
    if (!inContainer(pid, fullId)) {
      LOG.warn("{}: a timed-out hook may still be running: host pid {} is not visible as a process of the "
          + "container from here; check with `docker top {}`", name, pid, name);
      return "it may still run in the container";
    }
    Optional<ProcessHandle> p = ProcessHandle.of(pid);
    if (p.isEmpty()) {
      return "it has ended since";
    }
    // Children first, so none is re-parented away before it is reached.
    p.get().descendants().forEach(ProcessHandle::destroyForcibly);
    p.get().destroyForcibly();
    LOG.info("{}: killed the timed-out hook (host pid {})", name, pid);
    return "killed";
  }

  /** True when /proc says {@code pid} runs in the cgroup of the container with this full id. */
  static boolean inContainer(long pid, String containerId) {
    if (containerId == null || containerId.length() < 12) {
      return false;
    }
    try {
      String cgroup = Files.readString(Path.of("/proc", Long.toString(pid), "cgroup"), StandardCharsets.UTF_8);
      return cgroup.contains(containerId);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }
}
