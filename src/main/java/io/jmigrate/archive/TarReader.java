package io.jmigrate.archive;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads tar entries from pax, ustar and GNU archives (the engine's archive API, GNU tar, busybox, our own
 * {@link TarWriter}), keeping pax values as raw bytes so binary xattrs survive. Understands pax 'x' and 'g'
 * headers (path, linkpath, size, uid, gid, mtime, SCHILY.devmajor/devminor, SCHILY.xattr.*,
 * LIBARCHIVE.xattr.*), GNU long names ('L', 'K'), base-256 numbers and the ustar prefix field. Sparse files in
 * GNU's sparse format 1.0 (pax) come with their extents in {@link TarEntry#sparse} and their data as content;
 * other sparse formats are refused with a clear error. Never closes the underlying stream.
 */
final class TarReader {
  private static final int BLOCK = 512;
  /** The most extents a sparse map may have: 16 MiB of offsets and lengths. */
  static final long MAX_SPARSE_EXTENTS = 1 << 20;

  private final InputStream in;
  private final byte[] header = new byte[BLOCK];
  private final Map<String, byte[]> global = new HashMap<>();
  private long remaining;
  private long padding;
  private int count;
  private boolean ended;

  TarReader(InputStream in) {
    this.in = in;
  }

  /** The next entry, or null at the end of the archive (the rest of the stream is then drained). */
  TarEntry next() throws IOException {
    skipRest();
    if (ended) {
      return null;
    }
    Map<String, byte[]> pax = new HashMap<>(global);
    String gnuLongName = null;
    String gnuLongLink = null;
    while (true) {
      if (!readBlock(header)) {
        if (count == 0) {
          throw new IOException("not a tar stream: it is empty");
        }
        throw new IOException("the tar stream ended without its end-of-archive blocks after " + count
            + " entries (truncated?)");
      }
      if (isZero(header)) {
        ended = true;
        in.transferTo(OutputStream.nullOutputStream());
        return null;
      }
      checkChecksum();
      byte type = header[156];
      long size = number(124, 12);
      if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
        if (size > 64L << 20) {
          throw new IOException("tar entry " + (count + 1) + ": extended header of " + size + " bytes is too large");
        }
        byte[] data = readFully((int) size);
        skipPadding(size);
        if (type == 'x') {
          parsePax(data, pax);
        } else if (type == 'g') {
          parsePax(data, global);
          parsePax(data, pax);
        } else if (type == 'L') {
          gnuLongName = cString(data);
        } else {
          gnuLongLink = cString(data);
        }
        continue;
      }
      count++;
      TarEntry e = new TarEntry();
      e.type = type == 0 || type == '7' ? TarEntry.FILE : type;
      e.mode = (int) (number(100, 8) & 07777);
      e.uid = number(108, 8);
      e.gid = number(116, 8);
      e.size = size;
      e.mtimeSeconds = number(136, 12);
      e.linkName = cString(Arrays.copyOfRange(header, 157, 257));
      e.devMajor = number(329, 8);
      e.devMinor = number(337, 8);
      String name = cString(Arrays.copyOfRange(header, 0, 100));
      boolean posixUstar = header[257] == 'u' && header[262] == 0 && header[263] == '0';
      if (posixUstar && header[345] != 0) {
        name = cString(Arrays.copyOfRange(header, 345, 500)) + "/" + name;
      }
      e.name = gnuLongName != null ? gnuLongName : name;
      if (e.type == TarEntry.FILE && type != '7' && name.endsWith("/")) {
        e.type = TarEntry.DIR; // pre-POSIX (v7) tars mark directories by the trailing slash only
      }
      if (gnuLongLink != null) {
        e.linkName = gnuLongLink;
      }
      applyPax(e, pax);
      boolean sparse1 = "1".equals(text(pax.get("GNU.sparse.major")))
          && "0".equals(text(pax.get("GNU.sparse.minor")));
      if (type == 'S' || pax.containsKey("GNU.sparse.map") || pax.containsKey("GNU.sparse.size")
          || (pax.containsKey("GNU.sparse.major") && !sparse1)) {
        throw new IOException("tar entry '" + e.name + "' is a sparse file in a format jmigrate does not read"
            + " (it reads GNU sparse 1.0, as tar --sparse --format=posix writes it); re-create the archive that way"
            + " or without --sparse");
      }
      if (e.name.isEmpty()) {
        throw new IOException("tar entry " + count + " has an empty name");
      }
      remaining = e.hasContent() ? e.size : (type == TarEntry.DIR || type == TarEntry.SYMLINK
          || type == TarEntry.HARDLINK || type == TarEntry.CHAR || type == TarEntry.BLOCK
          || type == TarEntry.FIFO ? 0 : e.size);
      padding = remaining % BLOCK == 0 ? 0 : BLOCK - remaining % BLOCK;
      if (sparse1 && e.hasContent()) {
        readSparseMap(e, pax);
      }
      if (!e.hasContent()) {
        e.size = type == TarEntry.HARDLINK || type == TarEntry.DIR ? 0 : e.size;
      }
      return e;
    }
  }

  /**
   * GNU sparse 1.0 (pax): the real name and size come from GNU.sparse.name and GNU.sparse.realsize, and the content
   * starts with the map, decimal numbers one per line (the count, then offset and length of each extent), padded to
   * a 512-byte block; the data of the extents follows. Checks that the extents are in order, inside the real size,
   * and add up to the data that follows. Leaves {@link #remaining} at the data.
   */
  private void readSparseMap(TarEntry e, Map<String, byte[]> pax) throws IOException {
    if (pax.containsKey("GNU.sparse.name")) {
      e.name = new String(pax.get("GNU.sparse.name"), StandardCharsets.UTF_8);
    }
    String where = "tar entry '" + e.name + "': sparse map";
    long realSize;
    try {
      realSize = Long.parseLong(text(pax.get("GNU.sparse.realsize")));
    } catch (NumberFormatException ex) {
      throw new IOException("tar entry '" + e.name + "': bad or missing GNU.sparse.realsize");
    }
    long stored = remaining;
    byte[] block = new byte[BLOCK];
    int blockPos = BLOCK;
    long mapBytes = 0;
    long count = -1;
    long[] extents = null;
    int filled = 0;
    long previousEnd = 0;
    long data = 0;
    StringBuilder digits = new StringBuilder();
    while (count < 0 || filled < extents.length) {
      if (blockPos == BLOCK) {
        if (stored - mapBytes < BLOCK) {
          throw new IOException(where + " runs past the entry's content");
        }
        if (in.readNBytes(block, 0, BLOCK) != BLOCK) {
          throw new IOException("the tar stream ended inside a sparse map (truncated?)");
        }
        mapBytes += BLOCK;
        blockPos = 0;
      }
      byte b = block[blockPos++];
      if (b != '\n') {
        if (b < '0' || b > '9' || digits.length() > 18) {
          throw new IOException(where + " is malformed");
        }
        digits.append((char) b);
        continue;
      }
      if (digits.length() == 0) {
        throw new IOException(where + " is malformed");
      }
      long v = Long.parseLong(digits.toString());
      digits.setLength(0);
      if (count < 0) {
        if (v > MAX_SPARSE_EXTENTS) {
          throw new IOException(where + " has " + v + " extents, more than the " + MAX_SPARSE_EXTENTS
              + " jmigrate reads");
        }
        count = v;
        extents = new long[(int) (2 * v)];
        continue;
      }
      extents[filled++] = v;
      if (filled % 2 == 0) {
        long off = extents[filled - 2];
        if (off < previousEnd || off + v > realSize || off + v < off) {
          throw new IOException(where + " has an extent out of order or past the file's size");
        }
        previousEnd = off + v;
        data += v;
      }
    }
    if (data != stored - mapBytes) {
      throw new IOException(where + " describes " + data + " bytes of data but the entry holds "
          + (stored - mapBytes));
    }
    // Zero-length extents (GNU tar's marker of a final hole) carry nothing: the real size says where the file ends.
    int kept = 0;
    for (int i = 0; i < extents.length; i += 2) {
      if (extents[i + 1] > 0) {
        extents[kept++] = extents[i];
        extents[kept++] = extents[i + 1];
      }
    }
    e.sparse = java.util.Arrays.copyOf(extents, kept);
    e.size = realSize;
    remaining = data;
    padding = data % BLOCK == 0 ? 0 : BLOCK - data % BLOCK;
  }

  private static String text(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8).trim();
  }

  /** Reads the current entry's content; returns -1 at its end. */
  int read(byte[] b, int off, int len) throws IOException {
    if (remaining <= 0) {
      return -1;
    }
    int n = in.read(b, off, (int) Math.min(len, remaining));
    if (n < 0) {
      throw new IOException("the tar stream ended inside an entry's content (truncated?)");
    }
    remaining -= n;
    return n;
  }

  /** Content bytes of the current entry not yet read. */
  long remaining() {
    return remaining;
  }

  private void skipRest() throws IOException {
    byte[] buf = new byte[65536];
    while (remaining > 0) {
      if (read(buf, 0, buf.length) < 0) {
        break;
      }
    }
    skipPaddingBytes(padding);
    padding = 0;
  }

  private void skipPadding(long size) throws IOException {
    skipPaddingBytes(size % BLOCK == 0 ? 0 : BLOCK - size % BLOCK);
  }

  private void skipPaddingBytes(long n) throws IOException {
    if (n > 0 && in.readNBytes((int) n).length != n) {
      throw new IOException("the tar stream ended inside padding (truncated?)");
    }
  }

  private boolean readBlock(byte[] b) throws IOException {
    int n = in.readNBytes(b, 0, BLOCK);
    if (n == 0) {
      return false;
    }
    if (n != BLOCK) {
      throw new IOException(count == 0 ? "not a tar stream: shorter than one header"
          : "the tar stream ended inside a header (truncated?)");
    }
    return true;
  }

  private byte[] readFully(int size) throws IOException {
    byte[] data = in.readNBytes(size);
    if (data.length != size) {
      throw new IOException("the tar stream ended inside an extended header (truncated?)");
    }
    return data;
  }

  private void checkChecksum() throws IOException {
    long stored = number(148, 8);
    long unsigned = 0;
    long signed = 0;
    for (int i = 0; i < BLOCK; i++) {
      int b = i >= 148 && i < 156 ? ' ' : header[i];
      unsigned += b & 0xff;
      signed += (byte) b;
    }
    if (stored != unsigned && stored != signed) {
      throw new IOException("not a tar stream: header checksum mismatch at entry " + (count + 1));
    }
  }

  private long number(int off, int len) throws IOException {
    if ((header[off] & 0x80) != 0) {
      // base-256 (GNU / star): big-endian two's complement in the remaining bytes
      long v = header[off] & 0x7f;
      if ((header[off] & 0x40) != 0) {
        v |= ~0x7fL;
      }
      for (int i = 1; i < len; i++) {
        v = (v << 8) | (header[off + i] & 0xff);
      }
      return v;
    }
    long v = 0;
    int i = off;
    int end = off + len;
    while (i < end && (header[i] == ' ' || header[i] == 0)) {
      i++;
    }
    for (; i < end && header[i] >= '0' && header[i] <= '7'; i++) {
      v = (v << 3) + (header[i] - '0');
    }
    for (; i < end; i++) {
      if (header[i] != ' ' && header[i] != 0) {
        throw new IOException("not a tar stream: bad numeric field at offset " + off + " of entry " + (count + 1));
      }
    }
    return v;
  }

  private static void parsePax(byte[] data, Map<String, byte[]> into) throws IOException {
    int pos = 0;
    while (pos < data.length) {
      if (data[pos] == 0) {
        break;
      }
      int sp = pos;
      while (sp < data.length && data[sp] != ' ') {
        sp++;
      }
      int len;
      try {
        len = Integer.parseInt(new String(data, pos, sp - pos, StandardCharsets.US_ASCII));
      } catch (NumberFormatException ex) {
        throw new IOException("malformed pax header record at byte " + pos);
      }
      int end = pos + len;
      if (len <= 0 || end > data.length || data[end - 1] != '\n') {
        throw new IOException("malformed pax header record at byte " + pos);
      }
      int eq = sp + 1;
      while (eq < end && data[eq] != '=') {
        eq++;
      }
      if (eq >= end) {
        throw new IOException("malformed pax header record at byte " + pos);
      }
      String key = new String(data, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
      byte[] value = Arrays.copyOfRange(data, eq + 1, end - 1);
      if (value.length == 0 && !key.startsWith("SCHILY.xattr.")) {
        into.remove(key); // an empty value deletes a global default (POSIX pax)
      } else {
        into.put(key, value);
      }
      pos = end;
    }
  }

  private static void applyPax(TarEntry e, Map<String, byte[]> pax) throws IOException {
    for (Map.Entry<String, byte[]> r : pax.entrySet()) {
      String key = r.getKey();
      String v = new String(r.getValue(), StandardCharsets.UTF_8);
      try {
        switch (key) {
          case "path":
            e.name = v;
            break;
          case "linkpath":
            e.linkName = v;
            break;
          case "size":
            e.size = Long.parseLong(v);
            break;
          case "uid":
            e.uid = Long.parseLong(v);
            break;
          case "gid":
            e.gid = Long.parseLong(v);
            break;
          case "mtime":
            setTime(e, v);
            break;
          case "SCHILY.devmajor":
            e.devMajor = Long.parseLong(v);
            break;
          case "SCHILY.devminor":
            e.devMinor = Long.parseLong(v);
            break;
          default:
            if (key.startsWith("SCHILY.xattr.")) {
              e.xattrs.put(key.substring("SCHILY.xattr.".length()), r.getValue());
            } else if (key.startsWith("LIBARCHIVE.xattr.")) {
              String name = URLDecoder.decode(key.substring("LIBARCHIVE.xattr.".length()), StandardCharsets.UTF_8);
              e.xattrs.putIfAbsent(name, Base64.getDecoder().decode(v.trim()));
            }
        }
      } catch (IllegalArgumentException ex) {
        throw new IOException("tar entry '" + e.name + "': bad pax value for " + key + ": " + ex.getMessage());
      }
    }
  }

  private static void setTime(TarEntry e, String v) {
    BigDecimal t = new BigDecimal(v);
    BigDecimal secs = t.setScale(0, java.math.RoundingMode.FLOOR);
    e.mtimeSeconds = secs.longValueExact();
    e.mtimeNanos = t.subtract(secs).movePointRight(9).setScale(0, java.math.RoundingMode.DOWN).intValueExact();
  }

  private static String cString(byte[] b) {
    int n = 0;
    while (n < b.length && b[n] != 0) {
      n++;
    }
    return new String(b, 0, n, StandardCharsets.UTF_8);
  }

  private static boolean isZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }
}
