package io.jmigrate.cli;

import io.jmigrate.backup.BackupException;
import io.jmigrate.blob.DigestMismatchException;
import io.jmigrate.engine.EngineException;
import io.jmigrate.restore.MetadataLossException;
import io.jmigrate.restore.PreflightException;
import io.jmigrate.snapshot.SnapshotException;
import io.jmigrate.store.StoreException;
import io.jmigrate.store.StoreIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * jmigrate's exit codes, the one list that {@code --help} shows and scripts rely on. They never change meaning.
 */
public final class ExitCode {
  /** Everything succeeded. */
  public static final int OK = 0;
  /** The operation failed; the message says why. */
  public static final int FAILED = 1;
  /** Bad command line or configuration. */
  public static final int USAGE = 2;
  /** An unknown container, snapshot, volume, bucket or repository. */
  public static final int NOT_FOUND = 3;
  /** A Docker engine could not be reached, or is too old. */
  public static final int ENGINE = 4;
  /** The repository could not be read or written (permissions, space, credentials, network). */
  public static final int REPOSITORY = 5;
  /** Stored data failed its digest check, or a tag or snapshot document cannot be read. */
  public static final int CORRUPT = 6;
  /** Pre-flight checks refused: name or port taken, architecture or volume driver missing, no space. */
  public static final int REFUSED = 7;
  /** Another jmigrate holds the repository lock. */
  public static final int LOCKED = 8;
  /** Some containers or jobs succeeded and some failed. */
  public static final int PARTIAL = 9;
  /** A restore drill failed: the snapshot did not restore, did not come up, or failed its check. */
  public static final int DRILL_FAILED = 10;
  /**
   * With --strict-metadata: the target's filesystem dropped volume metadata (owners, modes, xattrs, ACLs, mtimes),
   * or it could not be checked; everything created was removed.
   */
  public static final int METADATA_LOST = 11;
  /** Stopped by Ctrl-C (the JVM reports 143 for SIGTERM). */
  public static final int INTERRUPTED = 130;

  private ExitCode() {}

  /** The list shown under "Exit codes" in every command's help. */
  public static Map<String, String> helpList() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("  0", "success");
    m.put("  1", "failed (the message says why)");
    m.put("  2", "bad command line or configuration");
    m.put("  3", "unknown container, snapshot, repository or other object");
    m.put("  4", "Docker engine unreachable or unsupported");
    m.put("  5", "repository unreadable or unwritable (permissions, space, credentials)");
    m.put("  6", "stored data is corrupt (digest mismatch, unreadable tag or document)");
    m.put("  7", "refused by pre-flight checks (name/port taken, architecture, driver, space)");
    m.put("  8", "repository locked by another jmigrate");
    m.put("  9", "partly succeeded: some containers or jobs failed");
    m.put(" 10", "drill failed: the snapshot did not restore, come up or pass its check");
    m.put(" 11", "--strict-metadata: the target's filesystem dropped volume metadata (rolled back)");
    m.put("130", "interrupted (143 for SIGTERM)");
    return m;
  }

  /** Maps a failure to its exit code, looking through wrapping exceptions for the root kind. */
  public static int of(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof DigestMismatchException) {
        return CORRUPT;
      }
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof PreflightException) {
        return REFUSED;
      }
      if (c instanceof MetadataLossException) {
        return METADATA_LOST;
      }
      if (c instanceof SnapshotException) {
        SnapshotException s = (SnapshotException) c;
        return switch (s.kind()) {
          case NOT_FOUND -> NOT_FOUND;
          case AMBIGUOUS, INVALID -> USAGE;
          case CORRUPT -> CORRUPT;
        };
      }
      if (c instanceof EngineException) {
        EngineException e = (EngineException) c;
        return switch (e.kind()) {
          case NOT_FOUND -> NOT_FOUND;
          case UNREACHABLE, UNSUPPORTED, AUTH -> ENGINE;
          case CONFLICT -> REFUSED;
          default -> FAILED;
        };
      }
      if (c instanceof StoreException || c instanceof StoreIOException) {
        StoreException e = c instanceof StoreIOException ? ((StoreIOException) c).storeException()
            : (StoreException) c;
        return switch (e.kind()) {
          case NOT_FOUND -> NOT_FOUND;
          case CORRUPT -> CORRUPT;
          case LOCKED -> LOCKED;
          case INVALID -> USAGE;
          default -> REPOSITORY;
        };
      }
      if (c instanceof BackupException) {
        return FAILED;
      }
      if (c instanceof io.jmigrate.job.ConfigException || c instanceof io.jmigrate.snapshot.RetentionException) {
        return USAGE;
      }
    }
    return FAILED;
  }
}
