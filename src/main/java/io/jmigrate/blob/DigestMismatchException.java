package io.jmigrate.blob;

import java.io.IOException;

/** Content read back does not have the digest (or size) it was stored under. */
public final class DigestMismatchException extends IOException {
  private static final long serialVersionUID = 1L;
  private final transient Digest expected;
  private final transient Digest actual;

  public DigestMismatchException(String message, Digest expected, Digest actual) {
    super(message);
    this.expected = expected;
    this.actual = actual;
  }

  public Digest expected() {
    return expected;
  }

  /** Null when the content was already too long before its end. */
  public Digest actual() {
    return actual;
  }
}
