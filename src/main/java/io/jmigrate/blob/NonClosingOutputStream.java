package io.jmigrate.blob;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Passes writes through to a stream the caller owns; {@link #close()} only flushes. For wrappers (compressors, tar
 * writers) whose own close must finish their format without closing the caller's stream.
 */
public final class NonClosingOutputStream extends FilterOutputStream {
  public NonClosingOutputStream(OutputStream out) {
    super(out);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    // FilterOutputStream would write byte by byte.
    out.write(b, off, len);
  }

  @Override
  public void close() throws IOException {
    out.flush();
  }
}
