package io.jmigrate.restore;

/** A restore failed after it started changing the target; what it created has been removed. */
public class RestoreException extends Exception {
  private static final long serialVersionUID = 1L;

  public RestoreException(String message) {
    super(message);
  }

  public RestoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
