package io.jmigrate.job;

import java.util.Objects;

/**
 * A job configuration (or a container label that overrides it) is wrong. The message is one line that says where
 * ({@code FILE:LINE:COLUMN} for the file, the container and label for labels), what is wrong, and what is
 * expected, so that it can be printed as is.
 */
public final class ConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String file;
  private final int line;
  private final int column;
  private final String problem;

  private ConfigException(String file, int line, int column, String problem, String message, Throwable cause) {
    super(message, cause);
    this.file = file;
    this.line = line;
    this.column = column;
    this.problem = problem;
  }

  /** An error at a position in a configuration file; line and column start at 1. */
  public static ConfigException at(String file, int line, int column, String problem) {
    return at(file, line, column, problem, null);
  }

  /** As {@link #at(String, int, int, String)}, keeping the parser's exception for --debug. */
  public static ConfigException at(String file, int line, int column, String problem, Throwable cause) {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(problem, "problem");
    return new ConfigException(file, line, column, problem, file + ":" + line + ":" + column + ": " + problem, cause);
  }

  /** An error about a whole file (it cannot be read, it is empty). */
  public static ConfigException inFile(String file, String problem, Throwable cause) {
    return new ConfigException(file, 0, 0, problem, file + ": " + problem, cause);
  }

  /** A container label that overrides the job has a bad value. */
  public static ConfigException label(String container, String label, String value, String expected) {
    String problem = "container " + container + ": label " + label + "=" + quote(value) + " is not valid; expected "
        + expected;
    return new ConfigException(null, 0, 0, problem, problem, null);
  }

  /** The file named in the message, or null for a label error. */
  public String file() {
    return file;
  }

  /** 1-based line, or 0 when the error is not about one position. */
  public int line() {
    return line;
  }

  /** 1-based column, or 0 when the error is not about one position. */
  public int column() {
    return column;
  }

  /** The message without the location prefix. */
  public String problem() {
    return problem;
  }

  static String quote(String s) {
    return s == null ? "null" : "\"" + s + "\"";
  }
}
