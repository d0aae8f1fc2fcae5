package io.jmigrate.snapshot;

/** A retention policy is invalid or would remove every snapshot without being told to. */
public final class RetentionException extends Exception {
  private static final long serialVersionUID = 1L;

  public RetentionException(String message) {
    super(message);
  }
}
