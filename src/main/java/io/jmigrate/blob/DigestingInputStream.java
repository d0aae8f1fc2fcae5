package io.jmigrate.blob;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/**
 * Computes the sha256 of the bytes read through it, and counts them.
 *
 * <p>When constructed with an expected digest, reaching end of stream with other content throws a
 * {@link DigestMismatchException}: a reader can never take corrupt content for good content.
 * {@link #close()} closes the wrapped stream, since the wrapper takes it over.
 */
public final class DigestingInputStream extends FilterInputStream {
  private final MessageDigest md = Digest.newSha256();
  private final Digest expected;
  private final long expectedSize;
  private final String what;
  private long count;
  private Digest digest;

  /** Computes without checking. */
  public DigestingInputStream(InputStream in) {
    this(in, null, -1, null);
  }

  /**
   * Checks at end of stream that the content has {@code expected} digest and, when {@code expectedSize >= 0},
   * that size. {@code what} names the object in the error, e.g. "blob sha256:… of snapshot 3f2a…".
   */
  public DigestingInputStream(InputStream in, Digest expected, long expectedSize, String what) {
    super(in);
    this.expected = expected;
    this.expectedSize = expectedSize;
    this.what = what;
  }

  @Override
  public int read() throws IOException {
    int b = in.read();
    if (b < 0) {
      finish();
    } else {
      md.update((byte) b);
      count++;
      checkSize();
    }
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    if (n < 0) {
      finish();
    } else {
      md.update(b, off, n);
      count += n;
      checkSize();
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    // Skipped bytes must still be hashed, so read them.
    byte[] buf = new byte[8192];
    long left = n;
    while (left > 0) {
      int r = read(buf, 0, (int) Math.min(buf.length, left));
      if (r < 0) {
        break;
      }
      left -= r;
    }
    return n - left;
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  private void checkSize() throws DigestMismatchException {
    if (expectedSize >= 0 && count > expectedSize) {
      throw new DigestMismatchException(
          what + " is corrupt: longer than its recorded size of " + expectedSize + " bytes", expected, null);
    }
  }

  private void finish() throws DigestMismatchException {
    if (digest == null) {
      digest = Digest.of(md);
    }
    if (expected != null && (!expected.equals(digest) || (expectedSize >= 0 && count != expectedSize))) {
      throw new DigestMismatchException(
          what + " is corrupt: expected " + expected + " (" + expectedSize + " bytes), read " + digest
              + " (" + count + " bytes)",
          expected,
          digest);
    }
  }

  /** Bytes read so far. */
  public long count() {
    return count;
  }

  /** The digest of everything read; only valid once end of stream was reached. */
  public Digest digest() {
    if (digest == null) {
      throw new IllegalStateException("digest asked for before end of stream");
    }
    return digest;
  }

  /** Reads to the end (which checks the digest) without closing. */
  public void drain() throws IOException {
    byte[] buf = new byte[65536];
    while (read(buf, 0, buf.length) >= 0) {
      // hashing happens in read
    }
  }
}
