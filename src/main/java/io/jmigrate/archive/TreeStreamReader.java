package io.jmigrate.archive;

import java.io.IOException;

/**
 * Reads a volume's metadata stream back, record by record, from its metadata chunks in order (as
 * {@link TreeStreamWriter} cut them). One chunk is held at a time: the source is asked for the next only when the
 * current one is used up. Each chunk must hold whole lines (a chunk always starts with a whole record), and the
 * records must be in strict tar order; anything else is a corrupt stream, reported with the chunk's number.
 */
public final class TreeStreamReader implements TreeRecord.Source {
  /** Gives the raw (uncompressed, verified) bytes of each metadata chunk in order; {@code null} at the end. */
  @FunctionalInterface
  public interface ChunkSource {
    byte[] next() throws IOException;
  }

  private final ChunkSource source;
  private final String what;
  private byte[] chunk;
  private int pos;
  private int chunkNumber = -1;
  private String lastPath;
  private boolean done;

  /** {@code what} names the stream in errors, e.g. "volume data of snapshot 3f2a…". */
  public TreeStreamReader(ChunkSource source, String what) {
    this.source = source;
    this.what = what;
  }

  /** The next record, or {@code null} after the last. */
  @Override
  public TreeRecord next() throws IOException {
    while (chunk == null || pos == chunk.length) {
      if (done) {
        return null;
      }
      chunk = source.next();
      pos = 0;
      if (chunk == null) {
        done = true;
        return null;
      }
      chunkNumber++;
      if (chunk.length == 0 || chunk[chunk.length - 1] != '\n') {
        throw corrupt("does not end with a whole record");
      }
    }
    int nl = pos;
    while (chunk[nl] != '\n') {
      nl++;
    }
    TreeRecord r;
    try {
      r = TreeRecordJson.read(chunk, pos, nl - pos);
    } catch (IOException e) {
      throw corrupt("byte " + pos + ": " + e.getMessage());
    }
    pos = nl + 1;
    if (lastPath != null && TarOrder.compare(lastPath, r.path()) >= 0) {
      throw corrupt("record '" + r.path() + "' comes after '" + lastPath + "', out of tar order");
    }
    lastPath = r.path();
    return r;
  }

  /** The number of the chunk the last record came from (0 for the first chunk). */
  public int chunkNumber() {
    return chunkNumber;
  }

  private IOException corrupt(String detail) {
    return new IOException("corrupt metadata stream of " + what + ": chunk " + chunkNumber + " " + detail
        + "; run jmigrate verify on the repository");
  }
}
