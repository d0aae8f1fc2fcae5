package io.jmigrate.cli;

import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SIGTERM and SIGINT for the long-running {@code schedule}: the first one asks for an orderly stop (the
 * scheduler finishes the container it is backing up, skips the rest, releases its locks, exits 0); a second one
 * stops at once through the JVM's shutdown hooks, which resume frozen containers and keep any half-written snapshot
 * from being published ({@code engine.Shutdown}). Uses {@code sun.misc.Signal} (module jdk.unsupported), the JDK's
 * only way to handle a signal without exiting.
 */
final class Signals {
  private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

  private Signals() {}

  /**
   * Installs the handlers: the first signal runs {@code onFirst} (on the signal's own thread), a second one exits
   * with {@code exitCode} through the shutdown hooks.
   */
  static void onTermination(Runnable onFirst, int exitCode) {
    AtomicInteger count = new AtomicInteger();
    sun.misc.SignalHandler h = sig -> {
      if (count.incrementAndGet() == 1) {
        LOG.info("received SIG{}: stopping after the current container (send it again to stop at once)",
            sig.getName());
        onFirst.run();
      } else {
        LOG.warn("received SIG{} again: stopping now; frozen containers are resumed and nothing half-written is "
            + "published", sig.getName());
        System.exit(exitCode);
      }
    };
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(name), h);
      } catch (IllegalArgumentException e) {
        LOG.debug("cannot handle SIG{}: {}", name, e.getMessage());
      }
    }
  }
}
