package io.jmigrate.store;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** Thread factories for the stores' pools. */
final class DaemonThreads {
  private DaemonThreads() {}

  /**
   * Daemon threads named {@code <name>-<n>}: a pool thread left waiting on a dead server never keeps the JVM
   * from exiting, and jstack shows which store a thread works for.
   */
  static ThreadFactory named(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
