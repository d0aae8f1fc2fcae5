package io.jmigrate.store;

/**
 * A repository operation failed. The message names the action, the object and the repository, e.g.
 * "cannot write blob sha256:… to s3://bucket/prefix: Access Denied; check the credentials".
 */
public class StoreException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why it failed, so that the command line can choose an exit code and a hint. */
  public enum Kind {
    /** Something asked for is not there (blob, tag, bucket, repository). */
    NOT_FOUND,
    /** Credentials missing, wrong or without permission. */
    AUTH,
    /** The server or directory could not be reached or written (network, full disk, read-only). */
    UNAVAILABLE,
    /** Stored content does not match its digest. */
    CORRUPT,
    /** Another process holds the lock. */
    LOCKED,
    /** The URL or an option is malformed. */
    INVALID,
    /** Anything else. */
    OTHER
  }

  private final Kind kind;

  public StoreException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public StoreException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
