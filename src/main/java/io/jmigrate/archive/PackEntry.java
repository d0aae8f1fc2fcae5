package io.jmigrate.archive;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * One chunk in a pack, as the pack's trailer and the index list it: its id, whether it holds file data or
 * metadata, where its zstd frame is in the pack ({@code offset}, {@code length}), and its uncompressed length.
 */
public final class PackEntry {
  /** What a chunk holds; data and metadata chunks go into separate packs. */
  public enum Type {
    DATA("data"), META("meta");

    private final String json;

    Type(String json) {
      this.json = json;
    }

    /** The name in trailers and index objects. */
    public String json() {
      return json;
    }

    /** The type named {@code s}, or null. */
    public static Type ofJson(String s) {
      return "data".equals(s) ? DATA : "meta".equals(s) ? META : null;
    }
  }

  private final byte[] id;
  private final Type type;
  private final int offset;
  private final int length;
  private final int raw;

  /** {@code id[idOff, idOff + 32)} is copied. */
  public PackEntry(byte[] id, int idOff, Type type, int offset, int length, int raw) {
    this.id = Arrays.copyOfRange(id, idOff, idOff + TreeRecord.ID_BYTES);
    this.type = type;
    this.offset = offset;
    this.length = length;
    this.raw = raw;
  }

  /** A copy of the 32-byte id. */
  public byte[] id() {
    return id.clone();
  }

  public String idHex() {
    return HexFormat.of().formatHex(id);
  }

  /** True when the id equals {@code other[off, off + 32)}. */
  public boolean idEquals(byte[] other, int off) {
    return Arrays.equals(id, 0, id.length, other, off, off + TreeRecord.ID_BYTES);
  }

  public Type type() {
    return type;
  }

  /** Where the chunk's zstd frame starts in the pack. */
  public int offset() {
    return offset;
  }

  /** The stored (compressed) length. */
  public int length() {
    return length;
  }

  /** The uncompressed length. */
  public int raw() {
    return raw;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof PackEntry)) {
      return false;
    }
    PackEntry e = (PackEntry) o;
    return Arrays.equals(id, e.id) && type == e.type && offset == e.offset && length == e.length && raw == e.raw;
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(id) * 31 + offset;
  }

  @Override
  public String toString() {
    return type.json + " sha256:" + idHex() + " @" + offset + "+" + length + " (" + raw + ")";
  }
}
