package io.jmigrate.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Json;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A record on this machine's disk of what a running jmigrate froze and created on an engine: the containers it
 * paused or stopped and the temporary images it committed. A Ctrl-C or SIGTERM is caught and undone at once
 * ({@link Freeze}, the shutdown hook); a SIGKILL or a power loss cannot be, so the record is written before each
 * such step and removed once it is undone. The next jmigrate command that meets a record of a process that is gone
 * ({@link #recover}: backup, run, migrate, and {@code jmigrate recover} for runbooks) unpauses or starts the
 * containers again and removes the images, saying so, one line each.
 *
 * <p>Records live in {@code $JMIGRATE_STATE_DIR}, else {@code /var/lib/jmigrate/recovery} for root, else
 * {@code $XDG_STATE_HOME/jmigrate/recovery} (default {@code ~/.local/state/jmigrate/recovery}); one JSON file per
 * running command, 0600 in a 0700 directory, replaced whole by a rename at each change. A process is gone when its
 * pid no longer runs, or runs with another start time (a reused pid).
 */
public final class RecoveryJournal implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RecoveryJournal.class);

  private final Path file;
  private final String engine;
  private final Map<String, String[]> frozen = new LinkedHashMap<>(); // id -> {name, PAUSE|STOP}
  private final Set<String> images = new LinkedHashSet<>();
  private boolean closed;

  private RecoveryJournal(Path file, String engine) {
    this.file = file;
    this.engine = engine;
  }

  /**
   * Opens a record for this process's work on {@code engine}. Never fails the caller's work: a record that cannot
   * be written is logged, and the work goes on without the SIGKILL safety net.
   */
  public static RecoveryJournal open(Engine engine) {
    Path dir = dir();
    RecoveryJournal j = new RecoveryJournal(dir.resolve(UUID.randomUUID() + ".json"), engine.display());
    j.write();
    return j;
  }

  /** The directory of the records; see the class comment. */
  static Path dir() {
    String override = System.getenv("JMIGRATE_STATE_DIR");
    if (override != null && !override.isBlank()) {
      return Path.of(override).resolve("recovery");
    }
    if ("root".equals(System.getProperty("user.name"))) {
      return Path.of("/var/lib/jmigrate/recovery");
    }
    String xdg = System.getenv("XDG_STATE_HOME");
    Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local",
        "state");
    return base.resolve("jmigrate").resolve("recovery");
  }

  /** {@code container} is about to be paused ({@code PAUSE}) or stopped ({@code STOP}) by this process. */
  public synchronized void freezing(String id, String name, Consistency action) {
    frozen.put(id, new String[] {name, action.name()});
    write();
  }

  /** {@code container} runs again as before, or is left as it is on purpose (a migrated source). */
  public synchronized void resumed(String id) {
    if (frozen.remove(id) != null) {
      write();
    }
  }

  /** A temporary image this process is about to commit; {@link #imageRemoved} once it is gone. */
  public synchronized void image(String ref) {
    images.add(ref);
    write();
  }

  /** The temporary image is removed. */
  public synchronized void imageRemoved(String ref) {
    if (images.remove(ref)) {
      write();
    }
  }

  /** The work ended and undid or kept what it meant to: the record is removed. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      LOG.warn("could not remove the recovery record {}: {}", file, e.getMessage());
    }
  }

  private void write() {
    if (closed) {
      return;
    }
    ObjectNode o = Json.newObject();
    o.put("pid", ProcessHandle.current().pid());
    o.put("started", startOf(ProcessHandle.current()).map(Instant::toString).orElse(null));
    o.put("engine", engine);
    ArrayNode f = o.putArray("frozen");
    frozen.forEach((id, v) -> f.addObject().put("id", id).put("name", v[0]).put("action", v[1]));
    ArrayNode i = o.putArray("images");
    images.forEach(i::add);
    try {
      Path dir = file.getParent();
      if (!Files.isDirectory(dir)) {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
            "rwx------")));
      }
      Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
      Files.write(tmp, Json.bytes(o));
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      LOG.warn("could not write the recovery record {} ({}); a SIGKILL now would leave what it does for you to "
          + "undo by hand", file, e.getMessage());
    }
  }

  private static Optional<Instant> startOf(ProcessHandle p) {
    return p.info().startInstant();
  }

  /**
   * Undoes what jmigrate processes that are gone left on {@code engine} (see the class comment), and returns one
   * line per thing done, for the caller to show. Records of live processes, or of other engines, are left alone.
   * Never throws: a step that fails is reported in its line, and the record is kept for the next try.
   */
  public static List<String> recover(Engine engine) {
    List<String> done = new ArrayList<>();
    Path dir = dir();
    if (!Files.isDirectory(dir)) {
      return done;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
      for (Path f : files) {
        recoverOne(engine, f, done);
      }
    } catch (IOException e) {
      done.add("could not read the recovery records in " + dir + ": " + e.getMessage());
    }
    return done;
  }

  private static void recoverOne(Engine engine, Path f, List<String> done) {
    JsonNode o;
    try {
      o = Json.tree(Files.readAllBytes(f), "recovery record " + f);
    } catch (NoSuchFileException e) {
      return; // its process ended meanwhile
    } catch (IOException e) {
      done.add("ignoring the unreadable recovery record " + f + ": " + e.getMessage() + "; remove it");
      return;
    }
    if (!engine.display().equals(o.path("engine").asText()) || alive(o)) {
      return;
    }
    String who = "a jmigrate that was killed (pid " + o.path("pid").asLong() + ")";
    boolean clean = true;
    for (JsonNode c : o.path("frozen")) {
      String id = c.path("id").asText();
      String name = c.path("name").asText();
      String action = c.path("action").asText();
      try {
        Optional<com.fasterxml.jackson.databind.node.ObjectNode> inspect = engine.findContainer(id);
        if (inspect.isEmpty()) {
          continue;
        }
        JsonNode state = inspect.get().path("State");
        if ("PAUSE".equals(action) && state.path("Paused").asBoolean()) {
          engine.unpauseContainer(id);
          done.add("unpaused container " + name + " on " + engine.display() + ", which " + who + " had paused");
        } else if ("STOP".equals(action) && !state.path("Running").asBoolean()) {
          engine.startContainer(id);
          done.add("started container " + name + " on " + engine.display() + " again, which " + who + " had stopped");
        }
      } catch (EngineException e) {
        clean = false;
        done.add("could not resume container " + name + " that " + who + " froze: " + e.getMessage());
      }
    }
    for (JsonNode i : o.path("images")) {
      String ref = i.asText();
      try {
        if (engine.findImage(ref).isPresent()) {
          engine.removeImage(ref, true);
          done.add("removed temporary image " + ref + " on " + engine.display() + ", left by " + who);
        }
      } catch (EngineException e) {
        clean = false;
        done.add("could not remove temporary image " + ref + " left by " + who + ": " + e.getMessage());
      }
    }
    if (clean) {
      try {
        Files.deleteIfExists(f);
      } catch (IOException e) {
        done.add("could not remove the recovery record " + f + ": " + e.getMessage());
      }
    }
  }

  /** Whether the record's process still runs: same pid, same start time. */
  private static boolean alive(JsonNode o) {
    Optional<ProcessHandle> p = ProcessHandle.of(o.path("pid").asLong());
    if (p.isEmpty() || !p.get().isAlive()) {
      return false;
    }
    String started = o.path("started").asText(null);
    return started == null || startOf(p.get()).map(s -> s.toString().equals(started)).orElse(true);
  }
}
