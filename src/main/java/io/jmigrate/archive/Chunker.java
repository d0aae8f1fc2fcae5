package io.jmigrate.archive;

import io.jmigrate.blob.Digest;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Objects;

/**
 * Content-defined chunking with FastCDC (Xia et al., "FastCDC: a Fast and Efficient Content-Defined Chunking
 * Approach for Data Deduplication", USENIX ATC 2016): a gear rolling hash, no cut before {@code min}, normalized
 * chunking level 2 (a mask two bits stricter than {@code avg} calls for until the chunk reaches {@code avg}, two
 * bits looser after it), and a forced cut at {@code max}. Because a boundary depends only on the 64 bytes before
 * it, an insert or a deletion moves the boundaries near it and none after the next one.
 *
 * <p>Defaults are restic's chunker sizes: min 512 KiB, avg 1 MiB, max 8 MiB. On random data chunks average
 * about 1.2 × {@code avg} (the stretch below {@code min} is never cut).
 *
 * <p><b>Format (docs/repository-format.md, "Chunks"; changing any of it changes every boundary, so it is part of
 * the repository format, algorithm {@code fastcdc-2016}):</b>
 * <ul>
 *   <li>gear table: {@code G[4j+k]} = the k-th big-endian 64-bit word of {@code SHA-256(seed ‖ uint32be(j))},
 *       j = 0..63, k = 0..3 (SHA-256 in counter mode over the 32-byte seed);
 *   <li>hash: starts at 0 at byte {@code min} of a chunk; {@code h = (h << 1) + G[byte]} for each byte;
 *   <li>masks: for n one-bits, bit {@code 63 - floor(i * 48 / n)} for i = 0..n-1, spread over the top 48 bits as
 *       the paper's zero-padded masks are (a bit k of h depends on the last k+1 bytes, so high, spread bits make
 *       the hash look at the whole 64-byte window); with {@code b = log2(avg)}, the mask before {@code avg} has
 *       {@code b + 2} bits and the one after {@code b - 2};
 *   <li>a chunk ends after the byte whose hash ANDed with the current mask is zero, or at {@code max}, or at the
 *       end of the data. Empty data has no chunk; data of at most {@code min} bytes is one chunk.
 * </ul>
 *
 * <p>Streaming use: {@link #begin}, then {@link #append} (from a channel, e.g. a {@code FileChannel} positioned
 * at each data extent of a sparse file in turn, or from bytes) any number of times, then {@link #finish}.
 * Boundaries restart at each {@code begin}. Each chunk goes to the {@link ChunkHandler} as a slice of the
 * chunker's one reusable buffer of {@code max} bytes; nothing is allocated per chunk. An instance is not
 * thread-safe: use one per thread.
 */
public final class Chunker {
  public static final int DEFAULT_MIN = 512 * 1024;
  public static final int DEFAULT_AVG = 1024 * 1024;
  public static final int DEFAULT_MAX = 8 * 1024 * 1024;
  /** The algorithm's name in the repository config. */
  public static final String ALGORITHM = "fastcdc-2016";
  /**
   * The public seed of plain repositories: SHA-256 of the ASCII string {@code "jmigrate fastcdc-2016 gear seed
   * v1"}. Every writer with it cuts alike, so equal data deduplicates across hosts.
   */
  public static final String DEFAULT_SEED_HEX = "e0c449663e754bac3c445d779d14260339e5aa075ed71b3e34b6e69e889be48a";
  /** Normalized chunking level (the paper's NC level 2). */
  static final int NORMALIZATION = 2;
  /** Bytes read per call once past {@code min}: bounds what is moved to the buffer's start after a cut. */
  private static final int READ_BLOCK = 128 * 1024;

  /** Receives each chunk: {@code buf[off, off + len)} is valid only during the call. */
  @FunctionalInterface
  public interface ChunkHandler {
    void chunk(byte[] buf, int off, int len) throws IOException;
  }

  private final int min;
  private final int avg;
  private final int max;
  private final byte[] seed;
  private final long[] gear;
  private final long maskS;
  private final long maskL;
  private final byte[] buf;
  private final ByteBuffer bb;

  // Session state: buf[0, end) holds the current chunk's bytes so far; buf[0, scanned) has been hashed.
  private ChunkHandler handler;
  private int end;
  private int scanned;
  private long hash;
  private long total;

  private Chunker(int min, int avg, int max, byte[] seed) {
    if (seed.length != 32) {
      throw new IllegalArgumentException("chunker seed must be 32 bytes, got " + seed.length);
    }
    if (Integer.bitCount(avg) != 1 || avg < 256) {
      throw new IllegalArgumentException("chunker average size must be a power of two of at least 256, got " + avg);
    }
    if (min < 1 || min >= avg || max <= avg || max > (1 << 30)) {
      throw new IllegalArgumentException("chunker sizes must satisfy 1 <= min < avg < max <= 1 GiB, got min " + min
          + ", avg " + avg + ", max " + max);
    }
    this.min = min;
    this.avg = avg;
    this.max = max;
    this.seed = seed.clone();
    this.gear = gearTable(seed);
    int bits = Integer.numberOfTrailingZeros(avg);
    this.maskS = mask(bits + NORMALIZATION);
    this.maskL = mask(bits - NORMALIZATION);
    this.buf = new byte[max];
    this.bb = ByteBuffer.wrap(buf);
  }

  /** A chunker with the default sizes and seed. */
  public static Chunker defaults() {
    return of(DEFAULT_MIN, DEFAULT_AVG, DEFAULT_MAX, HexFormat.of().parseHex(DEFAULT_SEED_HEX));
  }

  /** A chunker with these sizes (avg a power of two, min < avg < max) and 32-byte seed; the message names bad input. */
  public static Chunker of(int min, int avg, int max, byte[] seed) {
    return new Chunker(min, avg, max, seed);
  }

  public int min() {
    return min;
  }

  public int avg() {
    return avg;
  }

  public int max() {
    return max;
  }

  /** A copy of the seed. */
  public byte[] seed() {
    return seed.clone();
  }

  /** The gear table for {@code seed}: SHA-256 in counter mode, see the class comment. */
  static long[] gearTable(byte[] seed) {
    long[] g = new long[256];
    MessageDigest md = Digest.newSha256();
    ByteBuffer counter = ByteBuffer.allocate(4);
    for (int j = 0; j < 64; j++) {
      md.update(seed);
      counter.clear();
      md.update(counter.putInt(j).array());
      ByteBuffer block = ByteBuffer.wrap(md.digest()).order(ByteOrder.BIG_ENDIAN);
      for (int k = 0; k < 4; k++) {
        g[4 * j + k] = block.getLong();
      }
    }
    return g;
  }

  /** n one-bits spread over the top 48 bits: bit 63 - floor(i * 48 / n) for i in [0, n). */
  static long mask(int n) {
    if (n < 1 || n > 48) {
      throw new IllegalArgumentException("mask bits must be in [1, 48], got " + n);
    }
    long m = 0;
    for (int i = 0; i < n; i++) {
      m |= 1L << (63 - (i * 48) / n);
    }
    return m;
  }

  /** Starts a new chunking (boundaries restart here); chunks go to {@code h}. */
  public void begin(ChunkHandler h) {
    this.handler = h;
    this.end = 0;
    this.scanned = 0;
    this.hash = 0;
    this.total = 0;
  }

  /**
   * Reads up to {@code length} bytes from {@code in} (fewer at its end) into the current chunking. Does not close
   * {@code in}. Returns the number of bytes read.
   */
  public long append(ReadableByteChannel in, long length) throws IOException {
    requireSession();
    long left = length;
    while (left > 0) {
      // Below min nothing is hashed, so read up to min at once; past it, read in blocks so that what follows a
      // cut (moved to the buffer's start) stays small.
      int want = end < min ? min - end + READ_BLOCK : READ_BLOCK;
      want = (int) Math.min(Math.min(want, buf.length - end), left);
      bb.limit(end + want).position(end);
      int n = in.read(bb);
      if (n < 0) {
        break;
      }
      end += n;
      left -= n;
      total += n;
      scanAndEmit();
    }
    return length - left;
  }

  /** Like {@link #append(ReadableByteChannel, long)} for a stream; does not close {@code in}. */
  public long append(InputStream in, long length) throws IOException {
    requireSession();
    long left = length;
    while (left > 0) {
      int want = end < min ? min - end + READ_BLOCK : READ_BLOCK;
      want = (int) Math.min(Math.min(want, buf.length - end), left);
      int n = in.read(buf, end, want);
      if (n < 0) {
        break;
      }
      end += n;
      left -= n;
      total += n;
      scanAndEmit();
    }
    return length - left;
  }

  /** Appends {@code data[off, off + len)} to the current chunking. */
  public void append(byte[] data, int off, int len) throws IOException {
    requireSession();
    Objects.checkFromIndexSize(off, len, data.length);
    while (len > 0) {
      int n = Math.min(len, buf.length - end);
      System.arraycopy(data, off, buf, end, n);
      end += n;
      off += n;
      len -= n;
      total += n;
      scanAndEmit();
    }
  }

  /**
   * Reads exactly {@code length} bytes from {@code in} into the current chunking; fails naming {@code what} when
   * it ends sooner.
   */
  public void appendFully(ReadableByteChannel in, long length, String what) throws IOException {
    long n = append(in, length);
    if (n < length) {
      throw new EOFException(what + " ended after " + n + " of " + length + " bytes");
    }
  }

  /** Emits the last chunk, if any, and ends the chunking. Returns the number of bytes chunked since begin. */
  public long finish() throws IOException {
    requireSession();
    ChunkHandler h = handler;
    handler = null;
    if (end > 0) {
      h.chunk(buf, 0, end);
    }
    end = 0;
    return total;
  }

  /** Chunks everything {@code in} holds (to its end) in one chunking. Does not close {@code in}. */
  public long chunkAll(ReadableByteChannel in, ChunkHandler h) throws IOException {
    begin(h);
    append(in, Long.MAX_VALUE);
    return finish();
  }

  /** Chunks {@code data[off, off + len)} in one chunking. */
  public long chunkAll(byte[] data, int off, int len, ChunkHandler h) throws IOException {
    begin(h);
    append(data, off, len);
    return finish();
  }

  private void requireSession() {
    if (handler == null) {
      throw new IllegalStateException("Chunker.begin was not called");
    }
  }

  /** Hashes what arrived and emits every chunk that ended; keeps {@code end < max} on return. */
  private void scanAndEmit() throws IOException {
    while (true) {
      int from = Math.max(scanned, min);
      if (from >= end) {
        return; // below min, or nothing new (end < max here: min < max, and a full buffer was cut below)
      }
      int cut = scan(from, end);
      if (cut < 0) {
        scanned = end;
        if (end < max) {
          return;
        }
        cut = max;
      }
      cutAt(cut);
    }
  }

  /** Hands buf[0, cut) to the handler and moves the rest to the buffer's start. */
  private void cutAt(int cut) throws IOException {
    handler.chunk(buf, 0, cut);
    int rest = end - cut;
    System.arraycopy(buf, cut, buf, 0, rest);
    end = rest;
    scanned = 0;
    hash = 0;
  }

  /** Hashes buf[from, to) (from >= min); returns the chunk length when a cut falls there, else -1. */
  private int scan(int from, int to) {
    final long[] g = gear;
    final byte[] b = buf;
    long h = hash;
    int i = from;
    int stop = Math.min(to, avg);
    final long ms = maskS;
    for (; i < stop; i++) {
      h = (h << 1) + g[b[i] & 0xff];
      if ((h & ms) == 0) {
        return i + 1;
      }
    }
    final long ml = maskL;
    for (; i < to; i++) {
      h = (h << 1) + g[b[i] & 0xff];
      if ((h & ml) == 0) {
        return i + 1;
      }
    }
    hash = h;
    return -1;
  }

  @Override
  public String toString() {
    return ALGORITHM + "(min " + min + ", avg " + avg + ", max " + max + ")";
  }
}
