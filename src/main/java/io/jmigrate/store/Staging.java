package io.jmigrate.store;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the stores have staged and not yet committed or dropped, so that a stop leaves none of it behind: uploads
 * (a temp file in tmp/, a multipart upload, a registry upload session) and short writes in progress (a temp file
 * renamed into place).
 *
 * <p>When the process is told to stop (Ctrl-C, SIGTERM, {@code System.exit}), one shutdown hook refuses new staged
 * work, aborts every staged upload and waits for them and for the short writes to end. The refusal and the
 * registration share one lock, so nothing can be staged after the hook took its list: the work that is still
 * running after a stop (the JVM keeps running the command's threads while the hooks run) fails instead of leaving a
 * temp file that nobody removes. Issue 9: a SIGTERM at the pause line left an empty {@code tmp/blob-<uuid>.tmp},
 * created by an upload that started while the hooks ran and could no longer register its own hook.
 */
final class Staging {
  private static final Logger LOG = LoggerFactory.getLogger(Staging.class);
  /**
   * How long a stop waits for staged work to end once asked: an S3 abort waits for the parts on their way, then may
   * retry for 30 s while the server is unreachable.
   */
  static final Duration STOP_WAIT = Duration.ofMinutes(3);

  private static final Object LOCK = new Object();
  /** Guarded by {@link #LOCK}. */
  private static final Set<Token> OPEN = new LinkedHashSet<>();
  /** Short writes the current thread is inside of: writes nested in them may still run during a stop. */
  private static final ThreadLocal<int[]> WRITING = ThreadLocal.withInitial(() -> new int[1]);
  /** Guarded by {@link #LOCK}. */
  private static boolean stopping;
  /** Guarded by {@link #LOCK}. */
  private static boolean hooked;

  private Staging() {}

  /** Staged work; closing it says that it ended (committed, dropped or failed). Idempotent. */
  static final class Token implements AutoCloseable {
    private final String what;
    private final boolean scoped;
    private final CountDownLatch ended = new CountDownLatch(1);
    /** Guarded by this. */
    private Runnable onStop;
    /** Guarded by this. */
    private boolean stopAsked;

    private Token(String what, boolean scoped) {
      this.what = what;
      this.scoped = scoped;
    }

    /**
     * What a stop does to this work, e.g. abort the upload. Run at once (on this thread) when a stop already
     * asked for it, which happens when the work began just before the stop and set this just after.
     */
    void onStop(Runnable action) {
      boolean now;
      synchronized (this) {
        onStop = action;
        now = stopAsked;
      }
      if (now) {
        action.run();
      }
    }

    private void stop() {
      Runnable r;
      synchronized (this) {
        stopAsked = true;
        r = onStop;
      }
      if (r != null) {
        r.run();
      }
    }

    @Override
    public void close() {
      if (ended.getCount() == 0) {
        return;
      }
      synchronized (LOCK) {
        OPEN.remove(this);
      }
      if (scoped) {
        WRITING.get()[0]--;
      }
      ended.countDown();
    }

    @Override
    public String toString() {
      return what;
    }
  }

  /**
   * Registers an upload that stages data until its commit or abort; {@link Token#onStop} should abort it. Refused
   * once a stop began, before anything is created.
   */
  static Token upload(String what) throws StoreException {
    return begin(what, false);
  }

  /**
   * Registers a short write on this thread (a temp file renamed into place); a stop waits for it to end. Refused
   * once a stop began, unless this thread is already inside such a write (a tag and the index.json rebuilt after
   * it), so that a write that began is finished as a whole.
   */
  static Token write(String what) throws StoreException {
    return begin(what, true);
  }

  private static Token begin(String what, boolean scoped) throws StoreException {
    Token t = new Token(what, scoped);
    synchronized (LOCK) {
      if (stopping && !(scoped && WRITING.get()[0] > 0)) {
        throw stopped(what);
      }
      if (!hooked) {
        try {
          Runtime.getRuntime().addShutdownHook(new Thread(Staging::stopAll, "jmigrate-abort-staged"));
        } catch (IllegalStateException e) {
          // The JVM is already shutting down (our hook was never needed before): stage nothing more.
          stopping = true;
          throw stopped(what);
        }
        hooked = true;
      }
      OPEN.add(t);
    }
    if (scoped) {
      WRITING.get()[0]++;
    }
    return t;
  }

  private static StoreException stopped(String what) {
    return new StoreException(StoreException.Kind.OTHER, "jmigrate is stopping: not starting to " + what);
  }

  /** True once a stop began: nothing new is staged. */
  static boolean stopping() {
    synchronized (LOCK) {
      return stopping;
    }
  }

  /**
   * The shutdown hook: refuses new staged work, aborts the staged uploads side by side, and waits for everything
   * staged to end. Package-private so that a test can run it without stopping its JVM (nothing can be staged
   * afterwards in that JVM: use it in a forked one).
   */
  static void stopAll() {
    List<Token> todo;
    synchronized (LOCK) {
      stopping = true;
      todo = new ArrayList<>(OPEN);
    }
    List<Thread> aborts = new ArrayList<>();
    for (Token t : todo) {
      Thread th = new Thread(() -> {
        try {
          t.stop();
        } catch (RuntimeException e) {
          LOG.warn("could not abort {}: {}", t, e.getMessage());
        }
      }, "jmigrate-abort-" + aborts.size());
      th.setDaemon(true);
      th.start();
      aborts.add(th);
    }
    long deadline = System.nanoTime() + STOP_WAIT.toNanos();
    for (Token t : todo) {
      try {
        if (!t.ended.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          LOG.warn("{} did not end within {} s of the stop; jmigrate prune removes what it left in tmp/", t,
              STOP_WAIT.toSeconds());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
