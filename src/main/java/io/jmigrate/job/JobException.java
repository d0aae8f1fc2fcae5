package io.jmigrate.job;

/**
 * A job step failed for a reason that is not an engine, store or snapshot error: a hook that failed or timed out,
 * a selection that matched nothing, a run that was stopped. The message names the job or container and says what
 * to do.
 */
public final class JobException extends Exception {
  private static final long serialVersionUID = 1L;

  public JobException(String message) {
    super(message);
  }

  public JobException(String message, Throwable cause) {
    super(message, cause);
  }
}
