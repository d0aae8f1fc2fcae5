package io.jmigrate.restore;

import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.engine.Shutdown;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything a restore created on the target, so that a failure (or Ctrl-C, SIGTERM) removes exactly that, newest
 * first. Objects that existed before are never recorded, so never removed.
 */
public final class TargetJournal implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TargetJournal.class);

  private final Engine engine;
  private final Deque<Entry> entries = new ArrayDeque<>();
  private final Shutdown.Registration registration;
  private boolean committed;

  private enum Kind { CONTAINER, VOLUME, NETWORK, IMAGE }

  private record Entry(Kind kind, String ref) {}

  public TargetJournal(Engine engine) {
    this.engine = engine;
    this.registration = Shutdown.onInterrupt("remove what was created on " + engine.display(), this::rollback);
  }

  public synchronized void container(String id) {
    entries.push(new Entry(Kind.CONTAINER, id));
  }

  public synchronized void volume(String name) {
    entries.push(new Entry(Kind.VOLUME, name));
  }

  public synchronized void network(String id) {
    entries.push(new Entry(Kind.NETWORK, id));
  }

  public synchronized void image(String ref) {
    entries.push(new Entry(Kind.IMAGE, ref));
  }

  /** Forgets a container that was removed on purpose (e.g. a helper container). */
  public synchronized void removed(String ref) {
    entries.removeIf(e -> e.ref().equals(ref));
  }

  /** The restore succeeded: keep everything. */
  public synchronized void commit() {
    committed = true;
    entries.clear();
    registration.close();
  }

  /**
   * Removes everything recorded, newest first, trying every object even when one fails; what could not be
   * removed is reported on stderr, to be removed by hand, and forgotten.
   */
  public synchronized void rollback() {
    for (String problem : tryRollback()) {
      System.err.println("jmigrate: " + problem + "; remove it by hand");
    }
    entries.clear();
  }

  /**
   * Removes everything recorded, newest first, trying every object even when one fails. What could not be
   * removed stays recorded, so that a later call retries it (an engine that is restarting); returns one message
   * per such object, naming it, the engine and the error.
   */
  public synchronized List<String> tryRollback() {
    List<String> problems = new ArrayList<>();
    Deque<Entry> failed = new ArrayDeque<>();
    while (!entries.isEmpty()) {
      Entry e = entries.pop();
      try {
        switch (e.kind()) {
          case CONTAINER -> engine.removeContainer(e.ref(), true, false);
          case VOLUME -> engine.removeVolume(e.ref(), true);
          case NETWORK -> engine.removeNetwork(e.ref());
          case IMAGE -> engine.removeImage(e.ref(), true);
          default -> throw new IllegalStateException(e.kind().name());
        }
        LOG.info("rolled back: removed {} {} on {}", e.kind().name().toLowerCase(), e.ref(), engine.display());
      } catch (EngineException ex) {
        failed.addLast(e);
        problems.add("could not remove " + e.kind().name().toLowerCase() + " " + e.ref() + " on "
            + engine.display() + ": " + ex.getMessage());
      }
    }
    entries.addAll(failed);
    return problems;
  }

  /** True when nothing is recorded (after a commit or a complete rollback). */
  public synchronized boolean isEmpty() {
    return entries.isEmpty();
  }

  /**
   * The docker commands that remove what is still recorded, newest first, for an operator to run when the
   * engine could not be reached; {@code docker} is the command that reaches the engine, e.g. {@code docker -H
   * ssh://host-b}.
   */
  public synchronized List<String> manualCommands(String docker) {
    List<String> out = new ArrayList<>();
    for (Entry e : entries) {
      out.add(docker + switch (e.kind()) {
        case CONTAINER -> " rm -f " + e.ref();
        case VOLUME -> " volume rm -f " + e.ref();
        case NETWORK -> " network rm " + e.ref();
        case IMAGE -> " rmi -f " + e.ref();
      });
    }
    return out;
  }

  @Override
  public void close() {
    if (!committed) {
      rollback();
    }
    registration.close();
  }
}
