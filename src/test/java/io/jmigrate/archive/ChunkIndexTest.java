package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Digest;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Tests for {@link ChunkIndex}. */
class ChunkIndexTest {
  private static final Digest P0 = Digest.of("pack 0".getBytes(StandardCharsets.UTF_8));
  private static final Digest P1 = Digest.of("pack 1".getBytes(StandardCharsets.UTF_8));

  static byte[] ids(int n, long seed) {
    byte[] b = new byte[32 * n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void put_aMillionRandomIds_allFoundWithTheirFields() {
    int n = 1_000_000;
    byte[] ids = ids(n, 1);
    Runtime rt = Runtime.getRuntime();
    System.gc();
    long before = rt.totalMemory() - rt.freeMemory();
    ChunkIndex index = new ChunkIndex();
    int pack = index.addPack(P0, 1 << 24);
    for (int i = 0; i < n; i++) {
      assertThat(index.put(ids, 32 * i, pack, i, 1000 + (i & 1023), 1 << 20, i % 7 == 0 ? PackEntry.Type.META
          : PackEntry.Type.DATA)).isTrue();
    }
    System.gc();
    long used = rt.totalMemory() - rt.freeMemory() - before;
    System.out.printf("ChunkIndex: %d chunks, arrays %.1f MB (%.0f bytes/chunk), heap growth %.1f MB%n", n,
        index.memoryBytes() / 1e6, index.memoryBytes() / (double) n, used / 1e6);
    assertThat(index.size()).isEqualTo(n);
    assertThat(index.memoryBytes() / n).isLessThanOrEqualTo(90);
    byte[] id = new byte[32];
    for (int i = 0; i < n; i++) {
      int e = index.find(ids, 32 * i);
      assertThat(e).isEqualTo(i);
      assertThat(index.offset(e)).isEqualTo(i);
      assertThat(index.length(e)).isEqualTo(1000 + (i & 1023));
      assertThat(index.raw(e)).isEqualTo(1 << 20);
      assertThat(index.type(e)).isEqualTo(i % 7 == 0 ? PackEntry.Type.META : PackEntry.Type.DATA);
      index.copyId(e, id, 0);
      assertThat(id).isEqualTo(Arrays.copyOfRange(ids, 32 * i, 32 * i + 32));
    }
    byte[] absent = ids(100_000, 2);
    for (int i = 0; i < 100_000; i++) {
      assertThat(index.contains(absent, 32 * i)).isFalse();
    }
    index = null; // the heap of -Xmx256m holds one index of a million at a time
    // Pre-sized, the table needs no growth slack.
    ChunkIndex sized = new ChunkIndex(n);
    sized.addPack(P0, 1);
    for (int i = 0; i < n; i++) {
      sized.put(ids, 32 * i, 0, 0, 1, 1, PackEntry.Type.DATA);
    }
    System.out.printf("ChunkIndex sized for %d: %.0f bytes/chunk%n", n, sized.memoryBytes() / (double) n);
    assertThat(sized.memoryBytes() / n).isLessThanOrEqualTo(64);
  }

  @Test
  void find_idsEqualInTheirFirst8Bytes_toldApart() {
    ChunkIndex index = new ChunkIndex(16);
    index.addPack(P0, 100);
    byte[] ids = ids(200, 3);
    for (int i = 1; i < 200; i++) {
      System.arraycopy(ids, 0, ids, 32 * i, 8); // every id shares the first id's 8-byte prefix (and slot)
    }
    for (int i = 0; i < 100; i++) {
      assertThat(index.put(ids, 32 * i, 0, i, 1, 1, PackEntry.Type.DATA)).isTrue();
    }
    for (int i = 0; i < 100; i++) {
      assertThat(index.offset(index.find(ids, 32 * i))).isEqualTo(i);
    }
    for (int i = 100; i < 200; i++) {
      assertThat(index.find(ids, 32 * i)).isEqualTo(-1);
    }
    // Differing only in the last byte.
    byte[] last = Arrays.copyOf(ids, 32);
    last[31] ^= 1;
    assertThat(index.contains(last, 0)).isFalse();
  }

  @Test
  void put_existingId_keepsTheFirst() {
    ChunkIndex index = new ChunkIndex();
    int p0 = index.addPack(P0, 100);
    int p1 = index.addPack(P1, 200);
    byte[] id = ids(1, 4);
    assertThat(index.put(id, 0, p0, 10, 20, 30, PackEntry.Type.DATA)).isTrue();
    assertThat(index.put(id, 0, p1, 0, 5, 30, PackEntry.Type.DATA)).isFalse();
    assertThat(index.get(id, 0)).isEqualTo(new PackEntry(id, 0, PackEntry.Type.DATA, 10, 20, 30));
    assertThat(index.pack(0)).isEqualTo(p0);
    assertThat(index.size()).isEqualTo(1);
    assertThat(index.get(ids(1, 5), 0)).isNull();
  }

  @Test
  void addPack_numbersPacksAndFindsThemAgain() {
    ChunkIndex index = new ChunkIndex();
    assertThat(index.addPack(P0, 100)).isZero();
    assertThat(index.addPack(P1, 200)).isEqualTo(1);
    assertThat(index.addPack(P0, 100)).isZero();
    assertThat(index.packCount()).isEqualTo(2);
    assertThat(index.packNumber(P1)).isEqualTo(1);
    assertThat(index.packNumber(Digest.of(new byte[0]))).isEqualTo(-1);
    assertThat(index.packDigest(1)).isEqualTo(P1);
    assertThat(index.packSize(1)).isEqualTo(200);
    assertThatThrownBy(() -> index.addPack(P0, 101)).hasMessage("pack " + P0 + " is listed with sizes 100 and 101");
    assertThatThrownBy(() -> index.put(ids(1, 6), 0, 2, 0, 1, 1, PackEntry.Type.DATA))
        .isInstanceOf(IndexOutOfBoundsException.class).hasMessage("no pack number 2 in an index of 2");
    for (int i = 0; i < 5000; i++) {
      index.addPack(Digest.of(new byte[] {(byte) i, (byte) (i >> 8)}), 1 + i);
    }
    assertThat(index.packCount()).isEqualTo(5002);
    assertThat(index.packSize(index.packNumber(Digest.of(new byte[] {(byte) 77, 0})))).isEqualTo(78);
  }

  @Test
  void putAll_aPacksTrailer_indexesEveryChunkOnce() {
    ChunkIndex index = new ChunkIndex();
    int p = index.addPack(P0, 1000);
    byte[] ids = ids(3, 7);
    List<PackEntry> entries = List.of(new PackEntry(ids, 0, PackEntry.Type.META, 0, 10, 50),
        new PackEntry(ids, 32, PackEntry.Type.META, 10, 10, 50), new PackEntry(ids, 0, PackEntry.Type.META, 20, 10,
            50));
    assertThat(index.putAll(p, entries)).isEqualTo(2);
    assertThat(index.get(ids, 0).offset()).isZero();
    assertThat(index.type(index.find(ids, 32))).isEqualTo(PackEntry.Type.META);
  }

  @Test
  void mark_someChunks_onlyThoseMarked() {
    ChunkIndex index = new ChunkIndex(4);
    index.addPack(P0, 1);
    byte[] ids = ids(1000, 8);
    for (int i = 0; i < 1000; i++) {
      index.put(ids, 32 * i, 0, 0, 1, 1, PackEntry.Type.DATA);
    }
    for (int i = 0; i < 1000; i += 3) {
      assertThat(index.mark(ids, 32 * i)).isTrue();
    }
    assertThat(index.mark(ids, 0)).isTrue(); // twice: counted once
    assertThat(index.mark(ids(1, 9), 0)).isFalse();
    int marked = 0;
    for (int e = 0; e < index.size(); e++) {
      assertThat(index.isMarked(e)).isEqualTo(e % 3 == 0);
      marked += index.isMarked(e) ? 1 : 0;
    }
    assertThat(marked).isEqualTo(334).isEqualTo(index.markedCount());
    assertThat(index.isMarked(ids, 32 * 999)).isTrue();
    assertThat(index.isMarked(ids(1, 9), 0)).isFalse();
    index.clearMarks();
    assertThat(index.markedCount()).isZero();
    assertThat(index.isMarked(ids, 0)).isFalse();
  }
}
