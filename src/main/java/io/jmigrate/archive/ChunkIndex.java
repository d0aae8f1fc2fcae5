package io.jmigrate.archive;

import io.jmigrate.blob.Digest;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * The repository's chunk index in memory (docs/repository-format.md, "Index"): chunk id (32 bytes) → pack
 * number, offset and stored length in the pack, raw length and type; and the pack table, pack number → digest
 * and size. A repository of a million chunks must fit in tens of MB, so there is no object per chunk: entries
 * live in primitive arrays in insertion order (32 bytes of id and 16 of fields, 48 bytes each), found through an
 * open-addressing table of entry numbers (linear probing, at most 3/4 full, doubled by rehash). Ids are uniform
 * (SHA-256 or HMAC-SHA256), so their first 8 bytes are the hash; equal prefixes are told apart by the whole id.
 *
 * <p>{@link #put} of an id already present keeps the first entry, as the repository keeps whichever copy was
 * indexed first. A mark bitset over entry numbers serves prune and verify. Not thread-safe.
 */
public final class ChunkIndex {
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
  private static final int TYPE_BIT = 1 << 31;

  private final IdTable chunks;
  /** Per entry: pack number, offset, stored length, raw length with the type in the top bit (1 = meta). */
  private int[] fields;
  private long[] marks = new long[0];
  private int marked;
  private final IdTable packs = new IdTable(16);
  private long[] packSizes = new long[16];

  /** An empty index sized for about {@code expected} chunks. */
  public ChunkIndex(int expected) {
    chunks = new IdTable(Math.max(16, expected));
    fields = new int[4 * Math.max(16, expected)];
  }

  public ChunkIndex() {
    this(1024);
  }

  /** Adds a pack, or finds it when already present (the size must then match). Returns its number. */
  public int addPack(Digest digest, long size) {
    if (size <= 0) {
      throw new IllegalArgumentException("pack " + digest + " has size " + size);
    }
    byte[] id = HexFormat.of().parseHex(digest.hex());
    int n = packs.find(id, 0);
    if (n >= 0) {
      if (packSizes[n] != size) {
        throw new IllegalArgumentException("pack " + digest + " is listed with sizes " + packSizes[n] + " and "
            + size);
      }
      return n;
    }
    n = packs.add(id, 0);
    if (n == packSizes.length) {
      packSizes = Arrays.copyOf(packSizes, n + (n >> 1));
    }
    packSizes[n] = size;
    return n;
  }

  /** The pack's number, or -1 when it is not in the index. */
  public int packNumber(Digest digest) {
    return packs.find(HexFormat.of().parseHex(digest.hex()), 0);
  }

  public int packCount() {
    return packs.size;
  }

  public Digest packDigest(int pack) {
    byte[] id = new byte[32];
    packs.copyId(checkPack(pack), id, 0);
    return Digest.ofHex(HexFormat.of().formatHex(id));
  }

  public long packSize(int pack) {
    return packSizes[checkPack(pack)];
  }

  private int checkPack(int pack) {
    if (pack < 0 || pack >= packs.size) {
      throw new IndexOutOfBoundsException("no pack number " + pack + " in an index of " + packs.size);
    }
    return pack;
  }

  /**
   * Adds the chunk {@code id[off, off + 32)} as stored in pack number {@code pack}; returns false (and changes
   * nothing) when the id is already present.
   */
  public boolean put(byte[] id, int off, int pack, int offset, int length, int raw, PackEntry.Type type) {
    checkPack(pack);
    if (offset < 0 || length <= 0 || raw <= 0) {
      throw new IllegalArgumentException("chunk at offset " + offset + ", length " + length + ", raw " + raw);
    }
    if (chunks.find(id, off) >= 0) {
      return false;
    }
    int i = chunks.add(id, off);
    if (4 * i + 4 > fields.length) {
      fields = Arrays.copyOf(fields, 4 * (i + (i >> 1) + 1));
    }
    fields[4 * i] = pack;
    fields[4 * i + 1] = offset;
    fields[4 * i + 2] = length;
    fields[4 * i + 3] = raw | (type == PackEntry.Type.META ? TYPE_BIT : 0);
    return true;
  }

  /** Adds every entry of a pack (its trailer or an index object); returns how many were new. */
  public int putAll(int pack, Iterable<PackEntry> entries) {
    int added = 0;
    for (PackEntry e : entries) {
      if (put(e.id(), 0, pack, e.offset(), e.length(), e.raw(), e.type())) {
        added++;
      }
    }
    return added;
  }

  /** The entry number of the chunk, or -1. */
  public int find(byte[] id, int off) {
    return chunks.find(id, off);
  }

  public boolean contains(byte[] id, int off) {
    return chunks.find(id, off) >= 0;
  }

  /** The chunk's entry as a value, or null; {@link #find} and the accessors avoid the allocation. */
  public PackEntry get(byte[] id, int off) {
    int i = chunks.find(id, off);
    return i < 0 ? null : new PackEntry(id, off, type(i), offset(i), length(i), raw(i));
  }

  /** Chunks in the index; entry numbers are 0 to size - 1, in the order they were put. */
  public int size() {
    return chunks.size;
  }

  public void copyId(int entry, byte[] dst, int off) {
    chunks.copyId(checkEntry(entry), dst, off);
  }

  public int pack(int entry) {
    return fields[4 * checkEntry(entry)];
  }

  public int offset(int entry) {
    return fields[4 * checkEntry(entry) + 1];
  }

  public int length(int entry) {
    return fields[4 * checkEntry(entry) + 2];
  }

  public int raw(int entry) {
    return fields[4 * checkEntry(entry) + 3] & ~TYPE_BIT;
  }

  public PackEntry.Type type(int entry) {
    return (fields[4 * checkEntry(entry) + 3] & TYPE_BIT) != 0 ? PackEntry.Type.META : PackEntry.Type.DATA;
  }

  private int checkEntry(int entry) {
    if (entry < 0 || entry >= chunks.size) {
      throw new IndexOutOfBoundsException("no entry " + entry + " in an index of " + chunks.size);
    }
    return entry;
  }

  /** Marks the chunk (prune: referenced; verify: checked). Returns false when it is not in the index. */
  public boolean mark(byte[] id, int off) {
    int i = chunks.find(id, off);
    if (i < 0) {
      return false;
    }
    if (marks.length <= i >>> 6) {
      marks = Arrays.copyOf(marks, Math.max((chunks.size + 63) >>> 6, marks.length * 2));
    }
    long bit = 1L << i;
    if ((marks[i >>> 6] & bit) == 0) {
      marks[i >>> 6] |= bit;
      marked++;
    }
    return true;
  }

  /** True when the chunk is in the index and marked. */
  public boolean isMarked(byte[] id, int off) {
    int i = chunks.find(id, off);
    return i >= 0 && isMarked(i);
  }

  public boolean isMarked(int entry) {
    checkEntry(entry);
    return entry >>> 6 < marks.length && (marks[entry >>> 6] & 1L << entry) != 0;
  }

  public int markedCount() {
    return marked;
  }

  public void clearMarks() {
    Arrays.fill(marks, 0);
    marked = 0;
  }

  /** Bytes the arrays take now (capacity, not just the entries in use). */
  public long memoryBytes() {
    return chunks.memoryBytes() + 4L * fields.length + 8L * marks.length + packs.memoryBytes()
        + 8L * packSizes.length;
  }

  /**
   * 32-byte ids stored densely (four longs each, in insertion order) and an open-addressing table of their
   * numbers + 1 (0 = empty), keyed by the first 8 bytes.
   */
  private static final class IdTable {
    long[] ids;
    int[] slots;
    int size;

    IdTable(int expected) {
      ids = new long[4 * expected];
      slots = new int[tableSize(expected)];
    }

    private static int tableSize(int n) {
      int cap = Integer.highestOneBit(Math.max(16, n + n / 3)) << 1;
      if (cap <= 0) {
        throw new IllegalStateException("index too large: " + n + " entries");
      }
      return cap;
    }

    int find(byte[] id, int off) {
      long a = (long) LONGS.get(id, off);
      long b = (long) LONGS.get(id, off + 8);
      long c = (long) LONGS.get(id, off + 16);
      long d = (long) LONGS.get(id, off + 24);
      int mask = slots.length - 1;
      for (int s = (int) a & mask; ; s = (s + 1) & mask) {
        int v = slots[s];
        if (v == 0) {
          return -1;
        }
        int i = 4 * (v - 1);
        if (ids[i] == a && ids[i + 1] == b && ids[i + 2] == c && ids[i + 3] == d) {
          return v - 1;
        }
      }
    }

    /** Adds an id known to be absent; returns its number. */
    int add(byte[] id, int off) {
      if (4 * size + 4 > ids.length) {
        ids = Arrays.copyOf(ids, 4 * (size + (size >> 1) + 1));
      }
      int i = size++;
      for (int k = 0; k < 4; k++) {
        ids[4 * i + k] = (long) LONGS.get(id, off + 8 * k);
      }
      if (size > slots.length - (slots.length >> 2)) {
        slots = new int[slots.length * 2];
        for (int j = 0; j < size; j++) {
          insert(j);
        }
      } else {
        insert(i);
      }
      return i;
    }

    private void insert(int i) {
      int mask = slots.length - 1;
      int s = (int) ids[4 * i] & mask;
      while (slots[s] != 0) {
        s = (s + 1) & mask;
      }
      slots[s] = i + 1;
    }

    void copyId(int i, byte[] dst, int off) {
      for (int k = 0; k < 4; k++) {
        LONGS.set(dst, off + 8 * k, ids[4 * i + k]);
      }
    }

    long memoryBytes() {
      return 8L * ids.length + 4L * slots.length;
    }
  }
}
