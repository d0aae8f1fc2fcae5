package io.jmigrate.archive;

import io.jmigrate.blob.Digest;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * Writes a volume's metadata stream: each {@link TreeRecord} as one JSON line ({@link TreeRecordJson}), cut into
 * metadata chunks between records (docs/repository-format.md, "Chunks"):
 * <ul>
 *   <li>before a record that would take a non-empty chunk past {@value #MAX_CHUNK} bytes, so a chunk is at most
 *       1 MiB, or holds just one record that is larger;
 *   <li>after a record when the chunk has reached {@value #MIN_CHUNK} bytes and the record's cut hash is 0 modulo
 *       {@value #CUT_MODULUS}. The cut hash is the first 8 bytes of SHA-256 of the record's line (its JSON,
 *       without the newline), read as a big-endian unsigned integer.
 * </ul>
 * The cuts depend on the records alone, so a stretch of unchanged records gives the same chunks, and a chunk
 * always starts with a whole record. Records must come in tar order ({@link TarOrder}), each path once: the
 * parent merge join and the lookup by a chunk's first path rely on it, so the writer refuses anything else.
 *
 * <p>Each finished chunk goes to the {@link ChunkHandler} as a slice of a reusable buffer, with its first
 * record's path. Not thread-safe.
 */
public final class TreeStreamWriter {
  public static final int MIN_CHUNK = 64 * 1024;
  public static final int MAX_CHUNK = 1024 * 1024;
  public static final int CUT_MODULUS = 64;

  /** Receives each metadata chunk: {@code buf[off, off + len)} is valid only during the call. */
  @FunctionalInterface
  public interface ChunkHandler {
    void chunk(byte[] buf, int off, int len, String firstPath) throws IOException;
  }

  private final ChunkHandler handler;
  private final Line line = new Line();
  private final MessageDigest sha = Digest.newSha256();
  private byte[] chunk = new byte[MIN_CHUNK];
  private int chunkLen;
  private String firstPath;
  private String lastPath;
  private long entries;
  private long files;
  private long bytes;
  private long holeBytes;
  private long chunks;
  private boolean finished;

  public TreeStreamWriter(ChunkHandler handler) {
    this.handler = handler;
  }

  /**
   * Adds a record. Refuses (IllegalArgumentException naming the paths) a record out of tar order, and a file
   * whose chunk refs do not cover its data.
   */
  public void add(TreeRecord r) throws IOException {
    if (finished) {
      throw new IllegalStateException("the metadata stream is finished");
    }
    if (lastPath != null && TarOrder.compare(lastPath, r.path()) >= 0) {
      throw new IllegalArgumentException("metadata record '" + r.path() + "' comes after '" + lastPath
          + "': records must be in tar order, each path once");
    }
    if (r.type() == TreeRecord.Type.FILE && r.dataLength() > 0 && r.chunkCount() == 0) {
      throw new IllegalArgumentException("metadata record '" + r.path() + "' has " + r.dataLength()
          + " bytes of data but no chunk refs");
    }
    line.reset();
    TreeRecordJson.write(r, line);
    sha.update(line.buf, 0, line.len);
    byte[] h = sha.digest();
    if (chunkLen > 0 && chunkLen + line.len + 1 > MAX_CHUNK) {
      emit();
    }
    if (chunkLen == 0) {
      firstPath = r.path();
    }
    ensure(chunkLen + line.len + 1);
    System.arraycopy(line.buf, 0, chunk, chunkLen, line.len);
    chunkLen += line.len;
    chunk[chunkLen++] = '\n';
    if (line.buf.length > MAX_CHUNK) {
      line.buf = new byte[512]; // nor the line buffer of such a record
    }
    lastPath = r.path();
    entries++;
    if (r.type() == TreeRecord.Type.FILE) {
      files++;
      bytes += r.size();
      holeBytes += r.size() - r.dataLength();
    }
    // The low 6 bits of the big-endian 8-byte prefix are those of its last byte, h[7].
    if (chunkLen >= MAX_CHUNK || (chunkLen >= MIN_CHUNK && (h[7] & (CUT_MODULUS - 1)) == 0)) {
      emit();
    }
  }

  /** Hands over the last chunk. The stream is then complete; {@link #add} is refused. */
  public void finish() throws IOException {
    if (!finished) {
      finished = true;
      if (chunkLen > 0) {
        emit();
      }
    }
  }

  private void emit() throws IOException {
    handler.chunk(chunk, 0, chunkLen, firstPath);
    chunks++;
    chunkLen = 0;
    firstPath = null;
    if (chunk.length > MAX_CHUNK) {
      chunk = new byte[MAX_CHUNK]; // a record larger than 1 MiB passed: do not keep its buffer
    }
  }

  private void ensure(int n) {
    if (n > chunk.length) {
      chunk = Arrays.copyOf(chunk, Math.max(n, Math.min(MAX_CHUNK, chunk.length * 2)));
    }
  }

  /** Records written. */
  public long entries() {
    return entries;
  }

  /** Regular files written. */
  public long files() {
    return files;
  }

  /** Sum of the regular files' sizes, holes included. */
  public long bytes() {
    return bytes;
  }

  /** Bytes of the regular files that are holes (size minus data extents). */
  public long holeBytes() {
    return holeBytes;
  }

  /** Metadata chunks handed over so far. */
  public long chunks() {
    return chunks;
  }

  /** The line of one record, without its newline: what the stream holds and the cut hash covers. */
  static byte[] encode(TreeRecord r) throws IOException {
    Line l = new Line();
    TreeRecordJson.write(r, l);
    return Arrays.copyOf(l.buf, l.len);
  }

  /** A growable byte buffer the JSON generator writes into, reused for every record. */
  private static final class Line extends OutputStream {
    byte[] buf = new byte[512];
    int len;

    void reset() {
      len = 0;
    }

    @Override
    public void write(int b) {
      grow(1);
      buf[len++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int n) {
      grow(n);
      System.arraycopy(b, off, buf, len, n);
      len += n;
    }

    private void grow(int n) {
      if (len + n > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(len + n, buf.length * 2));
      }
    }
  }
}
