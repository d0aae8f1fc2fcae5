package io.jmigrate.migrate;

/**
 * A migration failed. The message says what failed, on which container and host, and what was done about it
 * (the source restarted, what was created on the target removed, or the commands that remove it by hand).
 */
public class MigrateException extends Exception {
  private static final long serialVersionUID = 1L;

  public MigrateException(String message) {
    super(message);
  }

  public MigrateException(String message, Throwable cause) {
    super(message, cause);
  }
}
