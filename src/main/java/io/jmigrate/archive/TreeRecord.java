package io.jmigrate.archive;

import java.io.IOException;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One entry of a volume's metadata stream (docs/repository-format.md, "The metadata stream of a volume"): path,
 * type, owner, mode, times, xattrs, link target or device numbers, and for a regular file its size, data extents
 * and chunk refs. {@link TreeStreamWriter} serialises it as one JSON line; {@link TreeStreamReader} reads it back.
 *
 * <p>ctime, inode and device serve change detection only ({@link ParentJoin#unchanged}); they are zero when the
 * source did not give them (the engine's archive API). Immutable; built with {@link #builder}, which validates
 * and names the bad field and the path.
 */
public final class TreeRecord {
  /** Entry types and their one-letter codes in the stream ({@code t}). */
  public enum Type {
    DIR('d'), FILE('f'), SYMLINK('l'), HARDLINK('h'), CHAR('c'), BLOCK('b'), FIFO('p');

    private final char code;

    Type(char code) {
      this.code = code;
    }

    public char code() {
      return code;
    }

    /** The type for a code; fails naming it. */
    public static Type ofCode(String code) {
      for (Type t : values()) {
        if (code.length() == 1 && code.charAt(0) == t.code) {
          return t;
        }
      }
      throw new IllegalArgumentException("unknown entry type '" + code + "'");
    }
  }

  /** A source of records in stream order; {@code null} at the end. */
  @FunctionalInterface
  public interface Source {
    TreeRecord next() throws IOException;
  }

  /** Bytes of a chunk id (sha256 or HMAC-SHA256). */
  public static final int ID_BYTES = 32;

  private final String path;
  private final Type type;
  private final int mode;
  private final long uid;
  private final long gid;
  private final long mtimeSeconds;
  private final int mtimeNanos;
  private final long ctimeSeconds;
  private final int ctimeNanos;
  private final long ino;
  private final long dev;
  private final long size;
  private final SortedMap<String, byte[]> xattrs;
  private final String link;
  private final long devMajor;
  private final long devMinor;
  /** [offset, length] pairs of a sparse file's data, ascending; null when the data is one extent [0, size]. */
  private final long[] extents;
  private final byte[] chunkIds;
  private final int[] chunkRaw;

  private TreeRecord(Builder b) {
    path = b.path;
    type = b.type;
    mode = b.mode;
    uid = b.uid;
    gid = b.gid;
    mtimeSeconds = b.mtimeSeconds;
    mtimeNanos = b.mtimeNanos;
    ctimeSeconds = b.ctimeSeconds;
    ctimeNanos = b.ctimeNanos;
    ino = b.ino;
    dev = b.dev;
    size = b.size;
    TreeMap<String, byte[]> x = new TreeMap<>();
    b.xattrs.forEach((k, v) -> x.put(k, v.clone()));
    xattrs = Collections.unmodifiableSortedMap(x);
    link = b.link;
    devMajor = b.devMajor;
    devMinor = b.devMinor;
    extents = b.extents == null ? null : b.extents.clone();
    chunkIds = Arrays.copyOf(b.chunkIds, b.chunks * ID_BYTES);
    chunkRaw = Arrays.copyOf(b.chunkRaw, b.chunks);
  }

  /** A builder for an entry at {@code path} (tar form: {@code ./}, {@code ./a/}, {@code ./a/b}). */
  public static Builder builder(String path, Type type) {
    return new Builder(path, type);
  }

  /** A builder holding this record's fields. */
  public Builder toBuilder() {
    Builder b = new Builder(path, type).mode(mode).owner(uid, gid).mtime(mtimeSeconds, mtimeNanos)
        .ctime(ctimeSeconds, ctimeNanos).inode(ino, dev).size(size).link(link).device(devMajor, devMinor);
    xattrs.forEach(b::xattr);
    return b.dataOf(this);
  }

  public String path() {
    return path;
  }

  public Type type() {
    return type;
  }

  /** Permission and special bits (07777). */
  public int mode() {
    return mode;
  }

  public long uid() {
    return uid;
  }

  public long gid() {
    return gid;
  }

  public long mtimeSeconds() {
    return mtimeSeconds;
  }

  public int mtimeNanos() {
    return mtimeNanos;
  }

  /** 0 when unknown. */
  public long ctimeSeconds() {
    return ctimeSeconds;
  }

  public int ctimeNanos() {
    return ctimeNanos;
  }

  /** 0 when unknown. */
  public long ino() {
    return ino;
  }

  /** 0 when unknown. */
  public long dev() {
    return dev;
  }

  /** The file's size (holes included); 0 for other types. */
  public long size() {
    return size;
  }

  /** Extended attributes with their raw values, sorted by name. Values are shared: do not modify them. */
  public SortedMap<String, byte[]> xattrs() {
    return xattrs;
  }

  /** Symlink target, or a hard link's first name; "" for other types. */
  public String link() {
    return link;
  }

  public long devMajor() {
    return devMajor;
  }

  public long devMinor() {
    return devMinor;
  }

  /** True when the file's data is listed as extents (a sparse file), possibly none (all hole). */
  public boolean sparse() {
    return extents != null;
  }

  /** A copy of the [offset, length] pairs of a sparse file's data; null when {@link #sparse} is false. */
  public long[] extents() {
    return extents == null ? null : extents.clone();
  }

  /** Bytes of data the chunks cover: the extents' total, or the size. */
  public long dataLength() {
    if (extents == null) {
      return size;
    }
    long n = 0;
    for (int i = 1; i < extents.length; i += 2) {
      n += extents[i];
    }
    return n;
  }

  public int chunkCount() {
    return chunkRaw.length;
  }

  /** Copies the id of chunk {@code i} into {@code dst[off, off + 32)}. */
  public void copyChunkId(int i, byte[] dst, int off) {
    System.arraycopy(chunkIds, Objects.checkIndex(i, chunkRaw.length) * ID_BYTES, dst, off, ID_BYTES);
  }

  public String chunkIdHex(int i) {
    int at = Objects.checkIndex(i, chunkRaw.length) * ID_BYTES;
    return HexFormat.of().formatHex(chunkIds, at, at + ID_BYTES);
  }

  /** The uncompressed length of chunk {@code i}. */
  public int chunkRaw(int i) {
    return chunkRaw[i];
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof TreeRecord)) {
      return false;
    }
    TreeRecord r = (TreeRecord) o;
    if (!(path.equals(r.path) && type == r.type && mode == r.mode && uid == r.uid && gid == r.gid
        && mtimeSeconds == r.mtimeSeconds && mtimeNanos == r.mtimeNanos && ctimeSeconds == r.ctimeSeconds
        && ctimeNanos == r.ctimeNanos && ino == r.ino && dev == r.dev && size == r.size && link.equals(r.link)
        && devMajor == r.devMajor && devMinor == r.devMinor && Arrays.equals(extents, r.extents)
        && Arrays.equals(chunkIds, r.chunkIds) && Arrays.equals(chunkRaw, r.chunkRaw)
        && xattrs.keySet().equals(r.xattrs.keySet()))) {
      return false;
    }
    for (Map.Entry<String, byte[]> x : xattrs.entrySet()) {
      if (!Arrays.equals(x.getValue(), r.xattrs.get(x.getKey()))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return Objects.hash(path, type, size, mtimeSeconds, mtimeNanos, Arrays.hashCode(chunkIds));
  }

  @Override
  public String toString() {
    return type.code + " " + path;
  }

  /** Collects and validates a record's fields; every field defaults to zero or empty. */
  public static final class Builder {
    private final String path;
    private final Type type;
    private int mode;
    private long uid;
    private long gid;
    private long mtimeSeconds;
    private int mtimeNanos;
    private long ctimeSeconds;
    private int ctimeNanos;
    private long ino;
    private long dev;
    private long size;
    private final SortedMap<String, byte[]> xattrs = new TreeMap<>();
    private String link = "";
    private long devMajor;
    private long devMinor;
    private long[] extents;
    private byte[] chunkIds = new byte[0];
    private int[] chunkRaw = new int[0];
    private int chunks;

    private Builder(String path, Type type) {
      this.path = Objects.requireNonNull(path, "path");
      this.type = Objects.requireNonNull(type, "type");
    }

    public Builder mode(int mode) {
      this.mode = mode;
      return this;
    }

    public Builder owner(long uid, long gid) {
      this.uid = uid;
      this.gid = gid;
      return this;
    }

    public Builder mtime(long seconds, int nanos) {
      this.mtimeSeconds = seconds;
      this.mtimeNanos = nanos;
      return this;
    }

    public Builder ctime(long seconds, int nanos) {
      this.ctimeSeconds = seconds;
      this.ctimeNanos = nanos;
      return this;
    }

    public Builder inode(long ino, long dev) {
      this.ino = ino;
      this.dev = dev;
      return this;
    }

    public Builder size(long size) {
      this.size = size;
      return this;
    }

    /** Adds or replaces an xattr; the value is copied when the record is built. */
    public Builder xattr(String name, byte[] value) {
      xattrs.put(Objects.requireNonNull(name, "xattr name"), Objects.requireNonNull(value, "xattr value"));
      return this;
    }

    public Builder link(String target) {
      this.link = Objects.requireNonNull(target, "link");
      return this;
    }

    public Builder device(long major, long minor) {
      this.devMajor = major;
      this.devMinor = minor;
      return this;
    }

    /** Marks the file sparse with these [offset, length] pairs of data (none: all hole). */
    public Builder extents(long... pairs) {
      this.extents = pairs.clone();
      return this;
    }

    /** Appends a chunk ref: {@code id[off, off + 32)} and the chunk's uncompressed length. */
    public Builder chunk(byte[] id, int off, int raw) {
      if (chunks == chunkRaw.length) {
        int n = Math.max(4, chunks * 2);
        chunkRaw = Arrays.copyOf(chunkRaw, n);
        chunkIds = Arrays.copyOf(chunkIds, n * ID_BYTES);
      }
      System.arraycopy(id, off, chunkIds, chunks * ID_BYTES, ID_BYTES);
      chunkRaw[chunks++] = raw;
      return this;
    }

    /** Replaces extents and chunk refs with {@code other}'s: an unchanged file reuses its parent's data. */
    public Builder dataOf(TreeRecord other) {
      extents = other.extents == null ? null : other.extents.clone();
      chunkIds = other.chunkIds.clone();
      chunkRaw = other.chunkRaw.clone();
      chunks = chunkRaw.length;
      return this;
    }

    /** Validates and builds; the message names the path and the bad field. */
    public TreeRecord build() {
      boolean dir = type == Type.DIR;
      check(path.startsWith("./") && path.indexOf('\0') < 0, "must start with ./ and hold no NUL");
      check(dir == path.endsWith("/") && (dir || path.length() > 2), dir ? "a directory's path must end with /"
          : "a non-directory's path must not end with /");
      check(mode >= 0 && mode <= 07777, "mode " + Integer.toOctalString(mode) + " is not within 07777");
      check(uid >= 0 && uid <= 0xffffffffL && gid >= 0 && gid <= 0xffffffffL, "uid/gid out of range");
      check(mtimeNanos >= 0 && mtimeNanos < 1_000_000_000 && ctimeNanos >= 0 && ctimeNanos < 1_000_000_000,
          "nanoseconds out of range");
      check(size >= 0 && (size == 0 || type == Type.FILE), "size " + size + " on a " + type);
      boolean linked = type == Type.SYMLINK || type == Type.HARDLINK;
      check(linked != link.isEmpty(), linked ? "a link needs a target" : "a " + type + " has no link target");
      boolean device = type == Type.CHAR || type == Type.BLOCK;
      check(devMajor >= 0 && devMinor >= 0 && (device || (devMajor == 0 && devMinor == 0)),
          "device numbers on a " + type);
      check((extents == null && chunks == 0) || type == Type.FILE, "data on a " + type);
      long data = size;
      if (extents != null) {
        check(extents.length % 2 == 0, "extents must be [offset, length] pairs");
        long next = 0;
        data = 0;
        for (int i = 0; i < extents.length; i += 2) {
          check(extents[i] >= next && extents[i + 1] > 0 && extents[i] + extents[i + 1] <= size, "extent ["
              + extents[i] + ", " + extents[i + 1] + "] overlaps, is empty or ends past the size " + size);
          next = extents[i] + extents[i + 1];
          data += extents[i + 1];
        }
      }
      if (chunks > 0) {
        long sum = 0;
        for (int i = 0; i < chunks; i++) {
          check(chunkRaw[i] > 0, "chunk " + i + " has length " + chunkRaw[i]);
          sum += chunkRaw[i];
        }
        check(sum == data, "chunks cover " + sum + " bytes, the data is " + data);
      }
      return new TreeRecord(this);
    }

    private void check(boolean ok, String what) {
      if (!ok) {
        throw new IllegalArgumentException("bad record '" + path + "': " + what);
      }
    }
  }
}
