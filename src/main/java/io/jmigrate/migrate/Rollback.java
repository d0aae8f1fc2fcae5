package io.jmigrate.migrate;

import io.jmigrate.backup.Freeze;
import io.jmigrate.backup.RecoveryJournal;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.engine.HostSpec;
import io.jmigrate.engine.Shutdown;
import io.jmigrate.restore.TargetJournal;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Undoes a migration that failed or was interrupted (Ctrl-C, SIGTERM), in the order that keeps the service
 * reachable: remove what was created on the target (a started clone may hold the host ports the source needs),
 * start the source again, then keep retrying the target for a bounded time when its engine cannot be reached, and
 * finally print the commands that finish the clean-up by hand.
 *
 * <p>It is registered as one shutdown action that runs before those of the {@link Freeze} and the
 * {@link TargetJournal} (actions run newest first; {@link #reregister()} keeps it the newest), so that the order
 * holds on signals too. Running it twice does nothing the second time.
 *
 * <p>On a signal the migration's own thread is still working: sending a layer, filling a volume, creating a
 * container. Undoing beside it raced it (the rollback read a list the migration was still filling, and a volume
 * created after the rollback had removed it stayed on the target). So the shutdown action first stops the work:
 * it interrupts the migration thread and its workers and waits (bounded) until the migration has ended, which it
 * does by rolling back itself, on its own thread, with nothing running beside it; then there is nothing left to
 * do. Only a migration that does not stop in time is rolled back from the shutdown thread.
 */
final class Rollback {
  private static final Logger LOG = LoggerFactory.getLogger(Rollback.class);
  private static final Duration RETRY_PAUSE = Duration.ofSeconds(2);

  private final Engine source;
  private final Engine target;
  private final TargetJournal journal;
  private final Duration retryFor;
  private final Consumer<String> report;
  private final Set<String> sourceImages = new LinkedHashSet<>();
  private volatile Freeze freeze;
  private Shutdown.Registration registration;
  private boolean done;
  /** The migration's thread: the one that built this rollback. */
  private final Thread worker = Thread.currentThread();
  private volatile ExecutorService workers;
  /** Counted down when the migration has ended, by success, failure or its own rollback. */
  private final CountDownLatch ended = new CountDownLatch(1);

  /**
   * What this migration froze and committed on the source, on disk: a SIGKILL cannot run this rollback, so the
   * next jmigrate on the source (or {@code jmigrate recover}) starts the containers again and removes the images.
   */
  private final RecoveryJournal recovery;

  /** How long a signal waits for the migration to stop before rolling back beside it. */
  static final Duration STOP_WAIT = Duration.ofSeconds(60);

  Rollback(Engine source, Engine target, TargetJournal journal, Duration retryFor, Consumer<String> report) {
    this.source = source;
    this.target = target;
    this.journal = journal;
    this.retryFor = retryFor;
    this.report = report;
    this.recovery = RecoveryJournal.open(source);
    this.registration = Shutdown.onInterrupt("roll back the migration to " + target.display(), this::onSignal);
  }

  /** The source's recovery record, for the freezes of the migration to write to before they freeze. */
  RecoveryJournal recovery() {
    return recovery;
  }

  /** The pool the migration runs commits and hashes on: interrupted with it on a signal. */
  void workers(ExecutorService pool) {
    this.workers = pool;
  }

  /** The migration has ended (its {@code finally}): a signal's rollback no longer waits for it. */
  void ended() {
    recovery.close();
    ended.countDown();
  }

  /** The shutdown action: stop the migration, let it roll back on its own thread, and only then check. */
  private void onSignal() {
    if (Thread.currentThread() != worker) {
      // Under the lock that run() holds: once the migration thread has begun to roll back it must not be
      // interrupted any more (its engine calls would break off; seen under load when a worker's failure, caused by
      // shutting the pool down, made it start rolling back just before the interrupt).
      synchronized (this) {
        if (!done) {
          worker.interrupt();
          ExecutorService pool = workers;
          if (pool != null) {
            pool.shutdownNow();
          }
        }
      }
      try {
        if (!ended.await(STOP_WAIT.toSeconds(), TimeUnit.SECONDS)) {
          report.accept("the migration did not stop within " + STOP_WAIT.toSeconds() + " s; rolling back beside it");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    run();
  }

  /** The source containers are frozen (stopped or paused): rolling back starts them again. */
  synchronized void frozen(Freeze f) {
    this.freeze = f;
    reregister();
  }

  /** A temporary image committed on the source, removed by the rollback (and at the end of a success). */
  synchronized void sourceImage(String ref) {
    sourceImages.add(ref);
    recovery.image(ref);
  }

  /** Registers again, so that this action runs before any registered since (a {@link Freeze}'s). */
  private void reregister() {
    Shutdown.Registration old = registration;
    registration = Shutdown.onInterrupt("roll back the migration to " + target.display(), this::onSignal);
    old.close();
  }

  /** The migration succeeded: nothing to undo any more. */
  synchronized void disarm() {
    done = true;
    registration.close();
  }

  /** Removes the temporary source images; used on success too. */
  synchronized void removeSourceImages() {
    for (String ref : sourceImages) {
      try {
        source.removeImage(ref, true);
        recovery.imageRemoved(ref);
      } catch (EngineException e) {
        report.accept("could not remove temporary image " + ref + " on " + source.display() + ": "
            + e.getMessage() + "; remove it with `" + docker(source) + " rmi " + ref + "`");
      }
    }
    sourceImages.clear();
  }

  /** What a rollback achieved: the target cleaned up, the source running (or resumed) again. */
  record Outcome(boolean targetClean, boolean sourceBack) {}

  /**
   * Undoes everything; idempotent (a second call, e.g. from the shutdown hook after a failure, does nothing and
   * reports success). Never throws: it runs on failure paths and in the shutdown hook.
   */
  synchronized Outcome run() {
    if (done) {
      return new Outcome(true, true);
    }
    done = true;
    registration.close();
    // The migration thread rolls back after a signal interrupted it: its engine calls (NIO sockets) would fail at
    // once with the flag set, so it is cleared for the undo and set again after.
    boolean interrupted = Thread.interrupted();
    try {
      return undo();
    } catch (RuntimeException e) {
      LOG.debug("rollback failed", e);
      report.accept("the rollback failed: " + e + "; check " + source.display() + " and " + target.display()
          + " by hand");
      return new Outcome(false, false);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private Outcome undo() {
    List<String> problems = journal.tryRollback();
    boolean sourceUp = resumeSource(false);
    Instant deadline = Instant.now().plus(retryFor);
    if (!journal.isEmpty()) {
      report.accept("cannot clean up " + target.display() + " yet (" + (problems.isEmpty() ? "it did not answer"
          : problems.get(0)) + "); retrying for up to "
          + retryFor.toSeconds() + " s");
    }
    while ((!journal.isEmpty() || !sourceUp) && Instant.now().isBefore(deadline)) {
      try {
        Thread.sleep(RETRY_PAUSE.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      problems = journal.tryRollback();
      if (!sourceUp) {
        sourceUp = resumeSource(false);
      }
    }
    if (!sourceUp) {
      sourceUp = resumeSource(true);
    }
    boolean clean = journal.isEmpty();
    if (!clean) {
      report.accept("could not clean up " + target.display() + ": " + String.join("; ", problems)
          + ". Remove what the migration created there by hand:");
      for (String c : journal.manualCommands(docker(target))) {
        report.accept("  " + c);
      }
      // The operator has the commands; the journal must not try (and report) again on exit.
      journal.commit();
    } else {
      LOG.info("rolled back: removed everything the migration created on {}", target.display());
    }
    removeSourceImages();
    return new Outcome(clean, sourceUp);
  }

  private boolean resumeSource(boolean last) {
    Freeze f = freeze;
    if (f == null) {
      return true;
    }
    try {
      f.resume();
      return true;
    } catch (EngineException e) {
      if (last) {
        report.accept(e.getMessage());
        f.release();
      }
      return false;
    }
  }

  /** The docker CLI command that reaches an engine, for commands printed to an operator. */
  static String docker(Engine engine) {
    HostSpec spec = engine.spec();
    if (spec.context().isPresent()) {
      return "docker --context " + spec.context().get();
    }
    String url = spec.url();
    int q = url.indexOf('?');
    return "docker -H " + (q >= 0 ? url.substring(0, q) : url);
  }
}
