package io.jmigrate.archive;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes POSIX.1-2001 (pax) tar entries deterministically: ustar headers with numeric ids and empty
 * uname/gname, plus a pax extended header (typeflag 'x') only when a value does not fit ustar: long or non-ASCII
 * names and link targets, sizes of 8 GiB and more, large ids or device numbers, sub-second mtimes (9 digits)
 * and extended attributes as {@code SCHILY.xattr.<name>} with the raw value bytes (as GNU tar and Go's
 * archive/tar write them). Records are sorted by key; the pax header's own fields are fixed, so the same entries
 * always give the same bytes.
 *
 * <p>Why not commons-compress's TarArchiveOutputStream: it writes pax mtimes with 7 fractional digits only, and
 * its reader decodes every pax value as UTF-8, which corrupts binary xattrs (security.capability, ACLs).
 *
 * <p>Never closes the underlying stream.
 */
final class TarWriter {
  private static final int BLOCK = 512;
  private static final long MAX_OCTAL_8 = 07777777L;
  private static final long MAX_OCTAL_12 = 077777777777L;

  private final OutputStream out;
  private final byte[] header = new byte[BLOCK];
  private long remaining;
  private long dataSize;
  private long written;

  TarWriter(OutputStream out) {
    this.out = out;
  }

  /**
   * Writes the entry's headers; for a regular file, exactly {@code e.dataSize()} content bytes must follow: the
   * whole file, or for a sparse file ({@code e.sparse}) the bytes of its data extents one after the other.
   *
   * <p>A sparse file is written in GNU tar's sparse format 1.0 for pax archives, as {@code tar --sparse
   * --format=posix} writes it: pax records {@code GNU.sparse.major=1}, {@code GNU.sparse.minor=0},
   * {@code GNU.sparse.name} (the real name) and {@code GNU.sparse.realsize}; a ustar name
   * {@code <dir>/GNUSparseFile.0/<base>} (GNU tar puts its pid where we put 0, which would not be deterministic);
   * and at the start of the content the map in decimal lines (the number of extents, then each offset and length,
   * plus a zero-length extent at the real size when the file ends in a hole, which GNU tar needs to set the size),
   * padded with zeros to a 512-byte block. The header's size is that block plus the data. Go's archive/tar (the
   * engine's) and GNU tar read it; a reader that knows no sparse format sees a file holding the map and the data.
   */
  void putEntry(TarEntry e) throws IOException {
    if (remaining != 0) {
      throw new IllegalStateException("previous entry is missing " + remaining + " content bytes");
    }
    boolean sparse = e.sparse != null && e.hasContent();
    byte[] name = e.name.getBytes(StandardCharsets.UTF_8);
    byte[] link = e.linkName.getBytes(StandardCharsets.UTF_8);
    Map<String, byte[]> pax = new TreeMap<>();
    byte[] map = null;
    String headerName = e.name;
    if (sparse) {
      map = sparseMap(e.sparse, e.size);
      pax.put("GNU.sparse.major", ascii("1"));
      pax.put("GNU.sparse.minor", ascii("0"));
      pax.put("GNU.sparse.name", name);
      pax.put("GNU.sparse.realsize", ascii(Long.toString(e.size)));
      headerName = asciiName(sparseHeaderName(e.name));
    } else if (name.length > 100 || !isAscii(name)) {
      pax.put("path", name);
    }
    if (link.length > 100 || !isAscii(link)) {
      pax.put("linkpath", link);
    }
    long data = e.hasContent() ? e.dataSize() : 0;
    long size = sparse ? padded(map.length) + data : data;
    if (size > MAX_OCTAL_12) {
      pax.put("size", ascii(Long.toString(size)));
    }
    if (e.uid > MAX_OCTAL_8 || e.uid < 0) {
      pax.put("uid", ascii(Long.toString(e.uid)));
    }
    if (e.gid > MAX_OCTAL_8 || e.gid < 0) {
      pax.put("gid", ascii(Long.toString(e.gid)));
    }
    if (e.mtimeNanos != 0 || e.mtimeSeconds < 0 || e.mtimeSeconds > MAX_OCTAL_12) {
      pax.put("mtime", ascii(formatTime(e.mtimeSeconds, e.mtimeNanos)));
    }
    if (e.devMajor > MAX_OCTAL_8) {
      pax.put("SCHILY.devmajor", ascii(Long.toString(e.devMajor)));
    }
    if (e.devMinor > MAX_OCTAL_8) {
      pax.put("SCHILY.devminor", ascii(Long.toString(e.devMinor)));
    }
    for (Map.Entry<String, byte[]> x : e.xattrs.entrySet()) {
      pax.put("SCHILY.xattr." + x.getKey(), x.getValue());
    }
    if (!pax.isEmpty()) {
      byte[] records = paxRecords(pax);
      writeHeader(paxHeaderName(e.name), (byte) 'x', 0644, 0, 0, records.length, 0, "", 0, 0);
      out.write(records);
      pad(records.length);
    }
    writeHeader(headerName, e.type, e.mode, e.uid, e.gid, size, e.mtimeSeconds, e.linkName, e.devMajor,
        e.devMinor);
    if (sparse) {
      out.write(map);
      pad(map.length);
    }
    remaining = data;
    dataSize = data;
  }

  /** GNU sparse 1.0's map: "count\n" then "offset\nlength\n" per extent, and a zero-length one at a final hole. */
  static byte[] sparseMap(long[] extents, long realSize) {
    if (extents.length % 2 != 0) {
      throw new IllegalArgumentException("sparse extents come in offset, length pairs");
    }
    int count = extents.length / 2;
    long end = count == 0 ? 0 : extents[extents.length - 2] + extents[extents.length - 1];
    boolean finalHole = end < realSize || count == 0;
    StringBuilder sb = new StringBuilder();
    sb.append(count + (finalHole ? 1 : 0)).append('\n');
    for (int i = 0; i < extents.length; i += 2) {
      sb.append(extents[i]).append('\n').append(extents[i + 1]).append('\n');
    }
    if (finalHole) {
      sb.append(realSize).append('\n').append(0).append('\n');
    }
    return ascii(sb.toString());
  }

  private static long padded(long n) {
    return (n + BLOCK - 1) / BLOCK * BLOCK;
  }

  /** {@code ./a/GNUSparseFile.0/b} for {@code ./a/b}. */
  private static String sparseHeaderName(String name) {
    int slash = name.lastIndexOf('/');
    String dir = slash < 0 ? "." : name.substring(0, slash);
    return dir + "/GNUSparseFile.0/" + name.substring(slash + 1);
  }

  /** Content of the current regular file. */
  void write(byte[] b, int off, int len) throws IOException {
    if (len > remaining) {
      throw new IOException("entry content longer than its size (" + len + " > " + remaining + " left)");
    }
    out.write(b, off, len);
    remaining -= len;
    written += len;
  }

  /** Pads the current entry's content to a block boundary; call after its content. */
  void closeEntry() throws IOException {
    if (remaining != 0) {
      throw new IllegalStateException("entry is missing " + remaining + " content bytes");
    }
    pad(dataSize);
    dataSize = 0;
  }

  /** Writes the two zero blocks that end an archive and flushes; does not close the stream. */
  void finish() throws IOException {
    out.write(new byte[2 * BLOCK]);
    out.flush();
  }

  /** Content bytes written so far. */
  long contentBytes() {
    return written;
  }

  private void pad(long size) throws IOException {
    int rest = (int) (size % BLOCK);
    if (rest != 0) {
      out.write(new byte[BLOCK - rest]);
    }
  }

  private void writeHeader(String name, byte type, int mode, long uid, long gid, long size, long mtime,
      String link, long devMajor, long devMinor) throws IOException {
    Arrays.fill(header, (byte) 0);
    putBytes(name.getBytes(StandardCharsets.UTF_8), 0, 100);
    putOctal(mode & 07777, 100, 8);
    putOctal(uid >= 0 && uid <= MAX_OCTAL_8 ? uid : 0, 108, 8);
    putOctal(gid >= 0 && gid <= MAX_OCTAL_8 ? gid : 0, 116, 8);
    putOctal(size <= MAX_OCTAL_12 ? size : 0, 124, 12);
    putOctal(mtime >= 0 && mtime <= MAX_OCTAL_12 ? mtime : 0, 136, 12);
    header[156] = type;
    putBytes(link.getBytes(StandardCharsets.UTF_8), 157, 100);
    putBytes(ascii("ustar"), 257, 6);
    header[263] = '0';
    header[264] = '0';
    if (type == TarEntry.CHAR || type == TarEntry.BLOCK) {
      putOctal(devMajor <= MAX_OCTAL_8 ? devMajor : 0, 329, 8);
      putOctal(devMinor <= MAX_OCTAL_8 ? devMinor : 0, 337, 8);
    }
    Arrays.fill(header, 148, 156, (byte) ' ');
    long sum = 0;
    for (byte b : header) {
      sum += b & 0xff;
    }
    // chksum: six octal digits, NUL, space (as GNU tar writes it)
    byte[] digits = ascii(String.format("%06o", sum));
    System.arraycopy(digits, 0, header, 148, 6);
    header[154] = 0;
    header[155] = ' ';
    out.write(header);
  }

  private void putBytes(byte[] b, int off, int len) {
    System.arraycopy(b, 0, header, off, Math.min(b.length, len));
  }

  /** Zero-padded octal in len-1 digits followed by NUL. */
  private void putOctal(long value, int off, int len) {
    String s = Long.toOctalString(value);
    StringBuilder sb = new StringBuilder();
    for (int i = s.length(); i < len - 1; i++) {
      sb.append('0');
    }
    sb.append(s);
    putBytes(ascii(sb.toString()), off, len - 1);
    header[off + len - 1] = 0;
  }

  /** "len key=value\n" records; len counts itself. */
  static byte[] paxRecords(Map<String, byte[]> records) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (Map.Entry<String, byte[]> r : records.entrySet()) {
      byte[] key = r.getKey().getBytes(StandardCharsets.UTF_8);
      int body = 1 + key.length + 1 + r.getValue().length + 1;
      int len = body + Integer.toString(body).length();
      if (Integer.toString(len).length() != Integer.toString(body).length()) {
        len = body + Integer.toString(len).length();
      }
      out.writeBytes(ascii(Integer.toString(len)));
      out.write(' ');
      out.writeBytes(key);
      out.write('=');
      out.writeBytes(r.getValue());
      out.write('\n');
    }
    return out.toByteArray();
  }

  /** The pax header's own name: dir/PaxHeaders.0/base, ASCII only, as Go's archive/tar names it. */
  private static String paxHeaderName(String name) {
    String n = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
    int slash = n.lastIndexOf('/');
    String dir = slash < 0 ? "." : n.substring(0, slash);
    String base = n.substring(slash + 1);
    return asciiName(dir + "/PaxHeaders.0/" + base);
  }

  /** A name for a ustar header field that the pax records override: ASCII only, at most 99 characters. */
  private static String asciiName(String name) {
    StringBuilder sb = new StringBuilder();
    for (char c : name.toCharArray()) {
      sb.append(c < 0x80 && c != 0 ? c : '_');
    }
    return sb.length() > 99 ? sb.substring(0, 99) : sb.toString();
  }

  /** Seconds and nanoseconds as pax writes them: "-1.500000000" for 1.5 s before the epoch. */
  static String formatTime(long seconds, int nanos) {
    if (nanos == 0) {
      return Long.toString(seconds);
    }
    java.math.BigDecimal v = java.math.BigDecimal.valueOf(seconds).add(java.math.BigDecimal.valueOf(nanos, 9));
    return v.setScale(9, java.math.RoundingMode.UNNECESSARY).toPlainString();
  }

  private static boolean isAscii(byte[] b) {
    for (byte x : b) {
      if (x < 0x20) {
        return false;
      }
    }
    return true;
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
