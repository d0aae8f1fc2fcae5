package io.jmigrate.migrate;

import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestingInputStream;
import io.jmigrate.blob.Pipe;
import io.jmigrate.snapshot.Contents;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A volume's tar as it streams from the source to the target, hashed on the way, so that the migration knows the
 * diffID of what the target received without reading the volume twice. The tar is produced on its own thread
 * ({@link Pipe}), so memory stays bounded.
 *
 * <p>Readers such as the extractor stop at the tar's end-of-archive blocks; {@link #close()} reads what little
 * follows, so that the digest covers the whole stream, then releases the producer.
 */
final class HashedTar extends FilterInputStream {
  /** At most this much may follow the end-of-archive blocks; more means the reader stopped early. */
  private static final int TAIL_LIMIT = 1 << 20;

  private final DigestingInputStream hashed;
  private final InputStream pipe;
  private boolean complete;
  private boolean closed;

  private HashedTar(InputStream pipe, DigestingInputStream hashed) {
    super(hashed);
    this.pipe = pipe;
    this.hashed = hashed;
  }

  /** Starts writing {@code source} on a thread named after {@code what}; the caller closes the stream. */
  static HashedTar open(String what, Contents.Source source) {
    InputStream pipe = Pipe.produce("migrate-volume-" + what, source::accept);
    return new HashedTar(pipe, new DigestingInputStream(pipe));
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      byte[] buf = new byte[64 * 1024];
      long tail = 0;
      int n;
      while (tail <= TAIL_LIMIT && (n = hashed.read(buf)) >= 0) {
        tail += n;
      }
      complete = tail <= TAIL_LIMIT;
    } finally {
      pipe.close();
    }
  }

  /** The diffID of the whole stream; only after {@link #close()} found the stream read to its end. */
  Digest diffId() {
    check();
    return hashed.digest();
  }

  /** The bytes of the whole stream; see {@link #diffId()}. */
  long bytes() {
    check();
    return hashed.count();
  }

  private void check() {
    if (!complete) {
      throw new IllegalStateException("the volume stream was not read to its end");
    }
  }
}
