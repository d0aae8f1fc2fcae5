package io.jmigrate.archive;

import java.util.Map;
import java.util.TreeMap;

/**
 * One tar entry's header, as volume archives read and write it: numeric owner, full mode bits, mtime with
 * nanoseconds, link target, device numbers and extended attributes with their raw byte values.
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
