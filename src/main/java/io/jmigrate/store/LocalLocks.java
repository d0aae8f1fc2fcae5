package io.jmigrate.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lock of a local repository: a shared or exclusive {@link FileLock} on {@code locks/lock} between
 * processes, plus a holder file per holder ({@code locks/holder-<uuid>.json}) so that a refused process can say
 * who holds it.
 *
 * <p>A JVM can hold only one FileLock on a file (a second one throws OverlappingFileLockException), and tests
 * run several "processes" in one JVM, so holders in this JVM are coordinated by a per-repository gate first: a
 * fair semaphore where a shared holder takes one permit and an exclusive holder takes them all. Unlike a
 * ReentrantReadWriteLock it is not owned by a thread, so a lock may be released from another thread (a
 * shutdown hook) and a thread that holds the lock cannot take it a second time by re-entry. The first holder
 * in the JVM takes the FileLock; the last one out releases it.
 */
final class LocalLocks {
  private static final Logger LOG = LoggerFactory.getLogger(LocalLocks.class);
  private static final int ALL = Integer.MAX_VALUE;
  private static final Map<Path, Gate> GATES = new ConcurrentHashMap<>();
  private static final long POLL_MILLIS = 100;

  private LocalLocks() {}

  /** One repository's lock state in this JVM. */
  private static final class Gate {
    final Semaphore permits = new Semaphore(ALL, true);
    final ReentrantLock guard = new ReentrantLock();
    FileChannel channel;
    FileLock fileLock;
    int users;
  }

  static StoreLock acquire(LocalStore store, Path lockDir, Store.LockMode mode, String purpose, Duration wait)
      throws StoreException {
    Path key;
    try {
      key = lockDir.toRealPath();
    } catch (IOException e) {
      throw store.failure("open the repository lock", e);
    }
    Gate gate = GATES.computeIfAbsent(key, k -> new Gate());
    long deadline = System.nanoTime() + wait.toNanos();
    int n = mode == Store.LockMode.EXCLUSIVE ? ALL : 1;
    boolean exclusive = mode == Store.LockMode.EXCLUSIVE;
    LockHolder self = LockHolder.self(mode, purpose);
    try {
      boolean got = wait.isZero() ? gate.permits.tryAcquire(n) : gate.permits.tryAcquire(n, remaining(deadline),
          TimeUnit.NANOSECONDS);
      if (!got) {
        throw locked(store, lockDir, mode, wait);
      }
      boolean fileLocked = false;
      try {
        if (!gate.guard.tryLock(remaining(deadline), TimeUnit.NANOSECONDS)) {
          throw locked(store, lockDir, mode, wait);
        }
        try {
          if (gate.users == 0) {
            FileChannel ch = store.openLockFile(lockDir.resolve("lock"));
            FileLock fl = null;
            try {
              while ((fl = ch.tryLock(0, Long.MAX_VALUE, !exclusive)) == null) {
                long left = remaining(deadline);
                if (left <= 0) {
                  break;
                }
                Thread.sleep(Math.max(1, Math.min(POLL_MILLIS, TimeUnit.NANOSECONDS.toMillis(left))));
              }
            } finally {
              if (fl == null) {
                ch.close();
              }
            }
            if (fl == null) {
              throw locked(store, lockDir, mode, wait);
            }
            gate.channel = ch;
            gate.fileLock = fl;
            removeStaleHolders(lockDir, exclusive);
          }
          gate.users++;
          fileLocked = true;
        } finally {
          gate.guard.unlock();
        }
      } finally {
        if (!fileLocked) {
          gate.permits.release(n);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(StoreException.Kind.OTHER,
          "interrupted while waiting for the lock of " + store.location(), e);
    } catch (IOException e) {
      throw store.failure("take the repository lock", e);
    }
    Path holderFile = lockDir.resolve("holder-" + UUID.randomUUID() + ".json");
    Held held = new Held(gate, n, holderFile, self);
    try {
      store.writeAtomic(holderFile, StoreJson.write(self), "lock holder record");
    } catch (StoreException e) {
      held.close();
      throw e;
    }
    LOG.debug("locked {} for {}", store.location(), self);
    return held;
  }

  private static long remaining(long deadline) {
    return Math.max(0, deadline - System.nanoTime());
  }

  /** Removes holder records that cannot be current now that we hold the file lock. */
  private static void removeStaleHolders(Path lockDir, boolean exclusive) {
    for (Path p : holderFiles(lockDir)) {
      LockHolder h = readHolder(p);
      // Exclusive: nobody else can hold it. Shared, first in this JVM: no exclusive holder can be left.
      if (h == null || exclusive || h.mode() == Store.LockMode.EXCLUSIVE || h.deadOnThisHost()) {
        LocalStore.deleteQuietly(p);
      }
    }
  }

  private static StoreException locked(LocalStore store, Path lockDir, Store.LockMode mode, Duration wait) {
    List<String> names = new ArrayList<>();
    for (Path p : holderFiles(lockDir)) {
      LockHolder h = readHolder(p);
      if (h == null || h.deadOnThisHost()) {
        continue;
      }
      if (mode == Store.LockMode.EXCLUSIVE || h.mode() == Store.LockMode.EXCLUSIVE) {
        names.add(h.describe());
      }
    }
    String who = names.isEmpty() ? "another jmigrate process (it left no holder record)" : String.join("; ", names);
    String waited = wait.isZero() ? "" : " after waiting " + human(wait);
    return new StoreException(StoreException.Kind.LOCKED, "repository " + store.location() + " is locked by " + who
        + waited + "; wait for it to finish, then retry");
  }

  static String human(Duration d) {
    long s = d.toSeconds();
    if (s < 1) {
      return d.toMillis() + " ms";
    }
    return s < 120 ? s + " s" : (s / 60) + " min";
  }

  private static List<Path> holderFiles(Path lockDir) {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(lockDir, "holder-*.json")) {
      dir.forEach(out::add);
    } catch (IOException e) {
      LOG.debug("cannot list lock holders in {}: {}", lockDir, e.toString());
    }
    return out;
  }

  private static LockHolder readHolder(Path p) {
    try {
      return StoreJson.holder(Files.readAllBytes(p));
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException | RuntimeException e) {
      LOG.debug("unreadable lock holder record {}: {}", p, e.toString());
      return null;
    }
  }

  /** A held lock; closing it twice, or from another thread, is safe. */
  private static final class Held implements StoreLock {
    private final Gate gate;
    private final int permits;
    private final Path holderFile;
    private final LockHolder self;
    private final AtomicBoolean released = new AtomicBoolean();

    Held(Gate gate, int permits, Path holderFile, LockHolder self) {
      this.gate = gate;
      this.permits = permits;
      this.holderFile = holderFile;
      this.self = self;
    }

    @Override
    public String holder() {
      return self.describe();
    }

    @Override
    public void close() {
      if (!released.compareAndSet(false, true)) {
        return;
      }
      LocalStore.deleteQuietly(holderFile);
      gate.guard.lock();
      try {
        if (--gate.users == 0) {
          try {
            gate.fileLock.release();
            gate.channel.close();
          } catch (IOException e) {
            LOG.debug("cannot release repository lock: {}", e.toString());
          }
          gate.fileLock = null;
          gate.channel = null;
        }
      } finally {
        gate.guard.unlock();
        gate.permits.release(permits);
      }
      LOG.debug("unlocked for {}", self);
    }
  }
}
