package io.jmigrate.backup;

/** A backup cannot be taken: the message names the container and says what to do. */
public class BackupException extends Exception {
  private static final long serialVersionUID = 1L;

  public BackupException(String message) {
    super(message);
  }

  public BackupException(String message, Throwable cause) {
    super(message, cause);
  }
}
