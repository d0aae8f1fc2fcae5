package io.jmigrate.archive;

import java.util.Map;
import java.util.TreeMap;

/**
 * One tar entry's header, as volume archives read and write it: numeric owner, full mode bits, mtime with
 * nanoseconds, link target, device numbers, extended attributes with their raw byte values, and the data extents
 * of a sparse file.
 */
final class TarEntry {
  static final byte FILE = '0';
  static final byte HARDLINK = '1';
  static final byte SYMLINK = '2';
  static final byte CHAR = '3';
  static final byte BLOCK = '4';
  static final byte DIR = '5';
  static final byte FIFO = '6';

  String name;
  byte type = FILE;
  /** Permission and special bits (07777). */
  int mode;
  long uid;
  long gid;
  long size;
  long mtimeSeconds;
  /** 0..999_999_999. */
  int mtimeNanos;
  String linkName = "";
  long devMajor;
  long devMinor;
  /** Extended attributes by name, sorted so that the header bytes are deterministic. */
  final Map<String, byte[]> xattrs = new TreeMap<>();
  /**
   * For a sparse regular file: its data extents as offset, length pairs, in order, each length above zero; what lies
   * between them (and after the last, up to {@link #size}) is a hole. The content is then only those extents' bytes,
   * one after the other. Null for an ordinary file.
   */
  long[] sparse;

  /** The content bytes that follow the header: {@link #size}, or the sum of the extents of a sparse file. */
  long dataSize() {
    if (sparse == null) {
      return size;
    }
    long n = 0;
    for (int i = 1; i < sparse.length; i += 2) {
      n += sparse[i];
    }
    return n;
  }

  boolean isDirectory() {
    return type == DIR;
  }

  boolean hasContent() {
    return type == FILE;
  }

  @Override
  public String toString() {
    return (char) type + " " + name;
  }
}
