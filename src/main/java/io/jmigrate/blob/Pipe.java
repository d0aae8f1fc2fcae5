package io.jmigrate.blob;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Turns code that writes a stream into a stream that can be read, through a producer thread and a bounded
 * queue of chunks, so that memory stays at {@code chunks * chunkSize} however long the stream is.
 *
 * <p>Used where an API wants an {@link InputStream} (an HTTP request body) but the content is produced by
 * writing (a tar writer, a compressor). A failure in the producer is rethrown to the reader, so a broken
 * producer can never look like a short, valid stream. Closing the reader early makes the producer's next write
 * fail, which stops it. Full chunks the reader has consumed go back to the producer, so a long stream allocates
 * at most {@code chunks + 2} buffers instead of one per chunk (which made the garbage collector grow the heap).
 */
public final class Pipe {
  private static final byte[] EOF = new byte[0];
  private static final int DEFAULT_CHUNK = 1 << 20;
  private static final int DEFAULT_CHUNKS = 8;

  private Pipe() {}

  /**
   * Starts {@code producer} on a daemon thread named {@code name}, writing into the returned stream's other end.
   * The caller closes the returned stream; closing it before the end stops the producer.
   */
  public static InputStream produce(String name, IoConsumer<OutputStream> producer) {
    return produce(name, producer, DEFAULT_CHUNK, DEFAULT_CHUNKS);
  }

  /** As {@link #produce(String, IoConsumer)}, with the buffer geometry given. */
  public static InputStream produce(String name, IoConsumer<OutputStream> producer, int chunkSize, int chunks) {
    Channel channel = new Channel(chunks, chunkSize);
    Thread t = new Thread(() -> {
      try (ChannelOutputStream out = new ChannelOutputStream(channel, chunkSize)) {
        producer.accept(out);
        out.finish();
      } catch (Throwable e) {
        channel.fail(e);
      }
    }, name);
    t.setDaemon(true);
    t.start();
    return new ChannelInputStream(channel, t);
  }

  private static final class Channel {
    final BlockingQueue<byte[]> queue;
    /** Consumed full-size chunks, for the producer to fill again. */
    final BlockingQueue<byte[]> free;
    final int chunkSize;
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    volatile boolean readerClosed;

    Channel(int chunks, int chunkSize) {
      queue = new ArrayBlockingQueue<>(chunks);
      free = new ArrayBlockingQueue<>(chunks + 2);
      this.chunkSize = chunkSize;
    }

    /** A buffer for the producer to fill: a recycled one when there is one. */
    byte[] take() {
      byte[] b = free.poll();
      return b != null ? b : new byte[chunkSize];
    }

    /** Hands a consumed chunk back; only full-size ones are reused. */
    void recycle(byte[] b) {
      if (b != null && b.length == chunkSize && b != EOF) {
        free.offer(b);
      }
    }

    void put(byte[] chunk) throws IOException {
      try {
        while (!queue.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
          if (readerClosed) {
            throw new IOException("the reader of this pipe closed it");
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while writing to pipe");
      }
    }

    void fail(Throwable e) {
      failure.compareAndSet(null, e);
      // Wake the reader; if the queue is full it will find the failure on its next poll.
      queue.offer(EOF);
    }
  }

  private static final class ChannelOutputStream extends OutputStream {
    private final Channel channel;
    private byte[] buf;
    private int pos;

    ChannelOutputStream(Channel channel, int chunkSize) {
      this.channel = channel;
      this.buf = new byte[chunkSize];
    }

    @Override
    public void write(int b) throws IOException {
      if (pos == buf.length) {
        flushChunk();
      }
      buf[pos++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      while (len > 0) {
        if (pos == buf.length) {
          flushChunk();
        }
        int n = Math.min(len, buf.length - pos);
        System.arraycopy(b, off, buf, pos, n);
        pos += n;
        off += n;
        len -= n;
      }
    }

    private void flushChunk() throws IOException {
      if (channel.readerClosed) {
        throw new IOException("the reader of this pipe closed it");
      }
      if (pos > 0) {
        channel.put(pos == buf.length ? buf : Arrays.copyOf(buf, pos));
        buf = channel.take();
        pos = 0;
      }
    }

    void finish() throws IOException {
      flushChunk();
      channel.put(EOF);
    }

    @Override
    public void close() {
      // finish() or fail() ends the stream; close only releases the buffer.
      buf = new byte[0];
    }
  }

  private static final class ChannelInputStream extends InputStream {
    private final Channel channel;
    private final Thread producer;
    private byte[] chunk;
    private int pos;
    private boolean eof;

    ChannelInputStream(Channel channel, Thread producer) {
      this.channel = channel;
      this.producer = producer;
    }

    private boolean fill() throws IOException {
      while (!eof && (chunk == null || pos == chunk.length)) {
        try {
          byte[] next = channel.queue.poll(100, TimeUnit.MILLISECONDS);
          if (next == null) {
            if (channel.failure.get() != null) {
              next = EOF;
            } else if (!producer.isAlive() && channel.queue.isEmpty()) {
              eof = true;
              throw new IOException("producer '" + producer.getName() + "' ended without finishing its stream");
            } else {
              continue;
            }
          }
          if (next == EOF) {
            eof = true;
            Throwable f = channel.failure.get();
            if (f != null) {
              if (f instanceof IOException) {
                throw new IOException(f.getMessage(), f);
              }
              throw new IOException("producer '" + producer.getName() + "' failed: " + f, f);
            }
            return false;
          }
          channel.recycle(chunk);
          chunk = next;
          pos = 0;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while reading from pipe");
        }
      }
      return !eof;
    }

    @Override
    public int read() throws IOException {
      if (!fill()) {
        return -1;
      }
      return chunk[pos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (!fill()) {
        return -1;
      }
      int n = Math.min(len, chunk.length - pos);
      System.arraycopy(chunk, pos, b, off, n);
      pos += n;
      return n;
    }

    @Override
    public int available() {
      return chunk == null ? 0 : chunk.length - pos;
    }

    @Override
    public void close() throws IOException {
      channel.readerClosed = true;
      channel.queue.clear();
      try {
        producer.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
