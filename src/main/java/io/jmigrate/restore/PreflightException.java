package io.jmigrate.restore;

import java.util.List;

/**
 * Pre-flight checks refused a restore or migration before anything was changed. Each problem says what is wrong
 * and what to do; the message joins them.
 */
public class PreflightException extends Exception {
  private static final long serialVersionUID = 1L;
  private final List<String> problems;

  public PreflightException(List<String> problems) {
    super(String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
