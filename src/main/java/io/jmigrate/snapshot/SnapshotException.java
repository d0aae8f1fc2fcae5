package io.jmigrate.snapshot;

/** A snapshot cannot be found, is ambiguous, or is damaged. The message names the snapshot and what to do. */
public class SnapshotException extends Exception {
  private static final long serialVersionUID = 1L;

  /** What went wrong. */
  public enum Kind {
    NOT_FOUND,
    AMBIGUOUS,
    CORRUPT,
    INVALID
  }

  private final Kind kind;

  public SnapshotException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public SnapshotException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
