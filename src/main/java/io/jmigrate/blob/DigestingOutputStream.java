package io.jmigrate.blob;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;

/**
 * Passes bytes through to another stream while computing their sha256 and counting them.
 *
 * <p>{@link #close()} flushes but never closes the wrapped stream: the caller owns it.
 */
public final class DigestingOutputStream extends FilterOutputStream {
  private final MessageDigest md = Digest.newSha256();
  private long count;
  private Digest digest;

  public DigestingOutputStream(OutputStream out) {
    super(out);
  }

  @Override
  public void write(int b) throws IOException {
    out.write(b);
    md.update((byte) b);
    count++;
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    out.write(b, off, len);
    md.update(b, off, len);
    count += len;
  }

  /** Bytes written so far. */
  public long count() {
    return count;
  }

  /** Finishes the digest; no more bytes may be written after this. */
  public Digest digest() {
    if (digest == null) {
      digest = Digest.of(md);
    }
    return digest;
  }

  /** Flushes; leaves the wrapped stream open. */
  @Override
  public void close() throws IOException {
    out.flush();
  }
}
