package io.jmigrate.archive;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The data extents of a file, in order, found with {@code lseek(SEEK_DATA)} and {@code lseek(SEEK_HOLE)}: what lies
 * between them is a hole, which reads as zeros and occupies no disk blocks. Volume tars store such files as GNU
 * sparse 1.0 entries ({@link VolumeArchive}); the chunked volume format can use the same extents to skip holes.
 *
 * <p>Extents are read lazily, one pair of lseek calls each, so memory does not depend on the file. They reflect the
 * file when each is read: a file written meanwhile may give extents that no longer match; reading the data at them
 * still gives the file's bytes (a hole reads as zeros), so the content stays right. Extents end at {@code size},
 * the size the caller stat'ed, even if the file grew since. On a filesystem that does not track holes the whole
 * file is one extent (Linux generic_file_llseek). Never follows a symlink. Close it to release the descriptor.
 */
public final class DataExtents implements Closeable {
  /** {@code length} bytes of data starting at {@code offset}; length is above zero. */
  public record Extent(long offset, long length) {
    /** The offset just after the extent. */
    public long end() {
      return offset + length;
    }
  }

  private final String path;
  private final long size;
  private final int fd;
  private long pos;
  private boolean closed;

  private DataExtents(String path, long size, int fd) {
    this.path = path;
    this.size = size;
    this.fd = fd;
  }

  /** Opens {@code file}, whose extents are reported up to {@code size} bytes. The caller closes it. */
  public static DataExtents open(Path file, long size) throws IOException {
    if (size < 0) {
      throw new IllegalArgumentException("size must not be negative: " + size);
    }
    String p = file.toString();
    return new DataExtents(p, size, Posix.openForReading(p));
  }

  /** The next extent, or null when only a hole (or nothing) is left before {@code size}. */
  public Extent next() throws IOException {
    if (closed) {
      throw new IllegalStateException("closed");
    }
    if (pos >= size) {
      return null;
    }
    long data = Posix.seekData(fd, pos, path);
    if (data < 0 || data >= size) {
      pos = size;
      return null;
    }
    long hole = Math.min(size, Posix.seekHole(fd, data, path));
    if (hole <= data) {
      // The file shrank between the calls: nothing more up to size.
      pos = size;
      return null;
    }
    pos = hole;
    return new Extent(data, hole - data);
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      Posix.close(fd);
    }
  }
}
