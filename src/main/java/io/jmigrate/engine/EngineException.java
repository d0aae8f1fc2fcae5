package io.jmigrate.engine;

/**
 * An engine call failed. The message names the action, the object and the host, and says what to do, e.g.
 * "cannot pause container web on unix:///var/run/docker.sock: container is not running; start it first".
 */
public class EngineException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why it failed, so that callers and the command line can react and choose an exit code. */
  public enum Kind {
    /** The container, image, volume or network does not exist (HTTP 404). */
    NOT_FOUND,
    /** A name is taken or the object is in the wrong state (HTTP 409). */
    CONFLICT,
    /** The engine cannot be reached: missing socket, refused connection, ssh failure. */
    UNREACHABLE,
    /** The engine answers but its API version is too old (or too new) for jmigrate. */
    UNSUPPORTED,
    /** TLS or ssh authentication failed. */
    AUTH,
    /** The engine reported an error doing the work (HTTP 500, a load error line). */
    FAILED,
    /** A timeout passed. */
    TIMEOUT
  }

  private final Kind kind;
  private final int status;

  public EngineException(Kind kind, String message) {
    this(kind, 0, message, null);
  }

  public EngineException(Kind kind, String message, Throwable cause) {
    this(kind, 0, message, cause);
  }

  public EngineException(Kind kind, int status, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.status = status;
  }

  public Kind kind() {
    return kind;
  }

  /** The HTTP status, or 0 when there was none. */
  public int status() {
    return status;
  }
}
