package io.jmigrate.backup;

import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.engine.Shutdown;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds a group of containers still (paused or stopped) and puts each back as it was: on {@link #resume()}, on
 * {@link #close()} after a failure, and from the shutdown hook on Ctrl-C or SIGTERM.
 *
 * <p>A container that was already paused or stopped is left alone, and is not resumed: jmigrate only undoes
 * what it did.
 */
public final class Freeze implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Freeze.class);

  private final Engine engine;
  private final Duration stopTimeout;
  private final List<Held> held = new ArrayList<>();
  private final Shutdown.Registration registration;
  private final RecoveryJournal journal;
  private Instant frozenAt;
  private Instant resumedAt;

  /** What was done to one container, so that exactly that is undone. */
  private record Held(String id, String name, Consistency action) {}

  private Freeze(Engine engine, Duration stopTimeout, RecoveryJournal journal) {
    this.engine = engine;
    this.stopTimeout = stopTimeout;
    this.journal = journal;
    this.registration = Shutdown.onInterrupt("resume frozen containers on " + engine.display(), this::resumeQuietly);
  }

  /**
   * Freezes the containers (id, name and running/paused state from their inspect) in order. If one fails, those
   * already frozen are resumed before the exception propagates.
   *
   * @return the mode actually applied: the requested one, or "none" for a container that was not running
   */
  public static Freeze apply(Engine engine, List<Target> targets, Consistency mode, Duration stopTimeout)
      throws EngineException {
    return apply(engine, targets, mode, stopTimeout, null);
  }

  /**
   * As {@link #apply(Engine, List, Consistency, Duration)}, recording each container in {@code journal} (may be
   * null) before it is frozen, so that a later jmigrate resumes it if this process is killed meanwhile.
   */
  public static Freeze apply(Engine engine, List<Target> targets, Consistency mode, Duration stopTimeout,
      RecoveryJournal journal) throws EngineException {
    Freeze f = new Freeze(engine, stopTimeout, journal);
    try {
      for (Target t : targets) {
        f.freeze(t, mode);
      }
      f.frozenAt = Instant.now();
      return f;
    } catch (EngineException | RuntimeException e) {
      f.close();
      throw e;
    }
  }

  /** A container to freeze, with its state as just inspected. */
  public record Target(String id, String name, boolean running, boolean paused) {}

  private void freeze(Target t, Consistency mode) throws EngineException {
    if (!t.running() || t.paused() || mode == Consistency.NONE) {
      // Stopped or already paused containers are already still; jmigrate does not change their state.
      return;
    }
    if (journal != null) {
      journal.freezing(t.id(), t.name(), mode);
    }
    if (mode == Consistency.PAUSE) {
      engine.pauseContainer(t.id());
      held.add(new Held(t.id(), t.name(), Consistency.PAUSE));
      LOG.info("paused {}", t.name());
    } else {
      engine.stopContainer(t.id(), stopTimeout);
      held.add(new Held(t.id(), t.name(), Consistency.STOP));
      LOG.info("stopped {}", t.name());
    }
  }

  /** When the last container was frozen. */
  public Instant frozenAt() {
    return frozenAt;
  }

  /** When the containers were resumed, or null before. */
  public Instant resumedAt() {
    return resumedAt;
  }

  /** What was actually done to the container with this id: PAUSE, STOP, or NONE when it was left alone. */
  public Consistency appliedTo(String id) {
    return held.stream().filter(h -> h.id().equals(id)).map(Held::action).findFirst().orElse(Consistency.NONE);
  }

  /** Puts every container back, newest first; reports the first failure after trying all. */
  public synchronized void resume() throws EngineException {
    EngineException first = null;
    for (int i = held.size() - 1; i >= 0; i--) {
      Held h = held.get(i);
      try {
        if (h.action() == Consistency.PAUSE) {
          engine.unpauseContainer(h.id());
          LOG.info("unpaused {}", h.name());
        } else {
          engine.startContainer(h.id());
          LOG.info("started {} again", h.name());
        }
        held.remove(i);
        if (journal != null) {
          journal.resumed(h.id());
        }
      } catch (EngineException e) {
        if (first == null) {
          first = new EngineException(e.kind(), "could not resume container " + h.name() + " on " + engine.display()
              + ": " + e.getMessage() + "; run `docker " + (h.action() == Consistency.PAUSE ? "unpause" : "start")
              + " " + h.name() + "` now", e);
        }
      }
    }
    if (resumedAt == null) {
      resumedAt = Instant.now();
    }
    if (first != null) {
      throw first;
    }
    registration.close();
  }

  /**
   * Leaves every container as it is now (stopped or paused) and forgets it, so that neither {@link #close()} nor
   * the shutdown hook starts it again: a migration that moved the containers to another host keeps the sources
   * stopped.
   */
  public synchronized void release() {
    if (journal != null) {
      held.forEach(h -> journal.resumed(h.id()));
    }
    held.clear();
    registration.close();
  }

  private void resumeQuietly() {
    try {
      resume();
    } catch (EngineException e) {
      System.err.println("jmigrate: " + e.getMessage());
    }
  }

  /** Resumes whatever is still frozen; failures are printed, never thrown, since this runs on error paths. */
  @Override
  public void close() {
    if (!held.isEmpty()) {
      resumeQuietly();
    }
    registration.close();
  }
}
