package io.jmigrate.blob;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * Passes bytes through to another stream and reports each write to a {@link TransferListener.Transfer}. It changes
 * nothing that is written.
 *
 * <p>{@link #close()} flushes but never closes the wrapped stream: the caller owns it.
 */
public final class CountingOutputStream extends FilterOutputStream {
  private final TransferListener.Transfer transfer;
  private long count;

  public CountingOutputStream(OutputStream out, TransferListener.Transfer transfer) {
    super(Objects.requireNonNull(out, "out"));
    this.transfer = Objects.requireNonNull(transfer, "transfer");
  }

  @Override
  public void write(int b) throws IOException {
    out.write(b);
    count++;
    transfer.transferred(1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    out.write(b, off, len);
    count += len;
    transfer.transferred(len);
  }

  /** Bytes written so far. */
  public long count() {
    return count;
  }

  /** Flushes; leaves the wrapped stream open. */
  @Override
  public void close() throws IOException {
    out.flush();
  }
}
