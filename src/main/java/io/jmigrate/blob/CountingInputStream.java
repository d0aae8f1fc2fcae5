package io.jmigrate.blob;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * Passes bytes through from another stream and reports each read to a {@link TransferListener.Transfer}. It changes
 * nothing that is read. {@link #close()} closes the wrapped stream, as a {@link FilterInputStream} does; the caller
 * still closes the transfer.
 */
public final class CountingInputStream extends FilterInputStream {
  private final TransferListener.Transfer transfer;
  private long count;

  public CountingInputStream(InputStream in, TransferListener.Transfer transfer) {
    super(Objects.requireNonNull(in, "in"));
    this.transfer = Objects.requireNonNull(transfer, "transfer");
  }

  @Override
  public int read() throws IOException {
    int b = in.read();
    if (b >= 0) {
      count++;
      transfer.transferred(1);
    }
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    if (n > 0) {
      count += n;
      transfer.transferred(n);
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    long s = in.skip(n);
    if (s > 0) {
      count += s;
      transfer.transferred(s);
    }
    return s;
  }

  /** Marks would make bytes count twice. */
  @Override
  public boolean markSupported() {
    return false;
  }

  /** Bytes read so far. */
  public long count() {
    return count;
  }
}
