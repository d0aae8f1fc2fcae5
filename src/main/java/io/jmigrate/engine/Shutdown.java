package io.jmigrate.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What must happen if the process is told to stop (Ctrl-C, SIGTERM) in the middle of work: unpause or restart
 * a source container, remove what a restore half-created, abort staged uploads.
 *
 * <p>The JVM runs shutdown hooks on SIGINT and SIGTERM (not on SIGKILL). One hook runs the registered actions,
 * newest first. Publishing a snapshot goes through {@link #critical}, which shares a lock with the hook: either
 * the publish completes before the hook starts, or it never starts, so no half-published snapshot can appear.
 */
public final class Shutdown {
  private static final Logger LOG = LoggerFactory.getLogger(Shutdown.class);
  private static final ReentrantLock LOCK = new ReentrantLock();
  private static final Deque<Action> ACTIONS = new ArrayDeque<>();
  private static final List<Runnable> LAST = new java.util.concurrent.CopyOnWriteArrayList<>();
  private static volatile boolean started;
  private static volatile boolean installed;

  private Shutdown() {}

  /** A registered action; closing it unregisters the action without running it. */
  public interface Registration extends AutoCloseable {
    @Override
    void close();
  }

  private static final class Action implements Registration {
    final String description;
    final Runnable body;

    Action(String description, Runnable body) {
      this.description = description;
      this.body = body;
    }

    @Override
    public void close() {
      synchronized (ACTIONS) {
        ACTIONS.remove(this);
      }
    }
  }

  /**
   * Registers {@code action}, described for the log (e.g. "unpause container web"), to run if the process is
   * stopped before the returned registration is closed.
   */
  public static Registration onInterrupt(String description, Runnable action) {
    install();
    Action a = new Action(description, action);
    synchronized (ACTIONS) {
      ACTIONS.push(a);
    }
    return a;
  }

  /**
   * Runs {@code action} after every registered action, when the process stops: for what those actions still need,
   * such as the ssh tunnels a rollback talks through. (Separate JVM hooks would run at the same time as ours.)
   */
  public static void atLast(Runnable action) {
    install();
    LAST.add(action);
  }

  /** True once a stop signal started the shutdown actions. */
  public static boolean inProgress() {
    return started;
  }

  /**
   * Runs {@code body} unless a shutdown started, and keeps the shutdown from starting while it runs.
   *
   * @throws InterruptedException when a shutdown already started, so the body was not run
   */
  public static <T> T critical(Callable<T> body) throws Exception {
    LOCK.lock();
    try {
      if (started) {
        throw new InterruptedException("jmigrate is stopping: not starting the final step");
      }
      return body.call();
    } finally {
      LOCK.unlock();
    }
  }

  private static synchronized void install() {
    if (installed) {
      return;
    }
    installed = true;
    Runtime.getRuntime().addShutdownHook(new Thread(Shutdown::runAll, "jmigrate-shutdown"));
  }

  /** Runs and clears the registered actions; also used by tests and by {@code schedule} on SIGTERM. */
  static void runAll() {
    LOCK.lock();
    try {
      started = true;
    } finally {
      LOCK.unlock();
    }
    List<Action> todo;
    synchronized (ACTIONS) {
      todo = new ArrayList<>(ACTIONS);
      ACTIONS.clear();
    }
    for (Action a : todo) {
      try {
        System.err.println("jmigrate: stopping: " + a.description);
        a.body.run();
      } catch (RuntimeException e) {
        LOG.debug("shutdown action failed: {}", a.description, e);
        System.err.println("jmigrate: could not " + a.description + ": " + e.getMessage());
      }
    }
    for (Runnable r : LAST) {
      try {
        r.run();
      } catch (RuntimeException e) {
        LOG.debug("final shutdown action failed", e);
      }
    }
  }
}
