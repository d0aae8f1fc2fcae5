package io.jmigrate.store;

/** A held repository lock; {@link #close()} releases it. */
public interface StoreLock extends AutoCloseable {
  /** Who holds it, as shown to a process that waits for it: "jmigrate run, pid 4242 on host-a, since …". */
  String holder();

  @Override
  void close();
}
