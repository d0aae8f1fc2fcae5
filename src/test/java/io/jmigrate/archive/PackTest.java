package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestMismatchException;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Tests for {@link PackWriter} and {@link PackReader}. */
class PackTest {
  private static final ChunkIdFunction SHA = ChunkIdFunction.sha256();

  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Text-like data: compressible, but not trivially. */
  static byte[] text(int n, long seed) {
    Random r = new Random(seed);
    String[] words = {"volume", "chunk", "pack", "index", "container", "snapshot", "restore", "layer", "\n"};
    StringBuilder sb = new StringBuilder(n + 16);
    while (sb.length() < n) {
      sb.append(words[r.nextInt(words.length)]).append(' ').append(r.nextInt(1000)).append(' ');
    }
    return Arrays.copyOf(sb.toString().getBytes(StandardCharsets.US_ASCII), n);
  }

  static PackEntry add(PackWriter w, PackEntry.Type t, byte[] data) {
    return w.add(SHA.id(data, 0, data.length), 0, t, data, 0, data.length);
  }

  static List<PackEntry> trailerOf(PackWriter.Finished f, String name) throws IOException {
    return PackReader.parseTrailer(f.bytes(), 0, f.size(), f.size(), name);
  }

  @Test
  void finish_chunksRoundTripThroughTheTrailer() throws IOException {
    List<byte[]> chunks = List.of(random(1 << 20, 1), text(300_000, 2), new byte[5000], new byte[] {42},
        text(70_000, 3));
    PackWriter.Finished f;
    try (PackWriter w = PackWriter.defaults()) {
      for (int i = 0; i < chunks.size(); i++) {
        add(w, i < 3 ? PackEntry.Type.DATA : PackEntry.Type.META, chunks.get(i));
      }
      assertThat(w.count()).isEqualTo(5);
      assertThat(w.full()).isFalse();
      f = w.finish();
      assertThat(w.isEmpty()).isTrue();
    }
    assertThat(f.digest()).isEqualTo(Digest.of(Arrays.copyOf(f.bytes(), f.size())));
    assertThat(Arrays.copyOfRange(f.bytes(), f.size() - 8, f.size()))
        .isEqualTo("JMPACK01".getBytes(StandardCharsets.US_ASCII));
    List<PackEntry> entries = trailerOf(f, "p1");
    assertThat(entries).isEqualTo(f.entries());
    try (PackReader r = PackReader.sha256()) {
      for (int i = 0; i < chunks.size(); i++) {
        PackEntry e = entries.get(i);
        assertThat(e.type()).isEqualTo(i < 3 ? PackEntry.Type.DATA : PackEntry.Type.META);
        assertThat(e.raw()).isEqualTo(chunks.get(i).length);
        assertThat(e.id()).isEqualTo(Digest.newSha256().digest(chunks.get(i)));
        // A range read gives just the entry's bytes: read from a copy of that range.
        byte[] range = Arrays.copyOfRange(f.bytes(), e.offset(), e.offset() + e.length());
        assertThat(r.read(e, range, 0, "p1")).isEqualTo(chunks.get(i));
      }
    }
    // Each entry is an independent zstd frame with its content size.
    PackEntry zeros = entries.get(2);
    assertThat(Zstd.getFrameContentSize(f.bytes(), zeros.offset(), zeros.length())).isEqualTo(5000);
    assertThat(zeros.length()).isLessThan(100);
  }

  @Test
  void parseTrailer_fromTheTailAlone_sameEntries() throws IOException {
    PackWriter.Finished f;
    try (PackWriter w = PackWriter.defaults()) {
      for (int i = 0; i < 200; i++) {
        add(w, PackEntry.Type.DATA, text(1000 + i, i));
      }
      f = w.finish();
    }
    byte[] footer = Arrays.copyOfRange(f.bytes(), f.size() - 12, f.size());
    int n = PackReader.trailerLength(footer, 0, f.size(), "p");
    byte[] tail = Arrays.copyOfRange(f.bytes(), f.size() - 12 - n, f.size());
    assertThat(PackReader.parseTrailer(tail, 0, tail.length, f.size(), "p")).isEqualTo(f.entries());
    assertThat(f.entries()).hasSize(200);
    assertThatThrownBy(() -> PackReader.parseTrailer(tail, 1, tail.length - 1, f.size(), "p"))
        .hasMessageContaining("the trailer needs " + (n + 12));
  }

  @Test
  void trailerJson_fixedKeyOrder() throws IOException {
    byte[] id = new byte[32];
    id[31] = 1;
    assertThat(new String(PackWriter.trailerJson(List.of(new PackEntry(id, 0, PackEntry.Type.META, 0, 17, 99))),
        StandardCharsets.UTF_8)).isEqualTo("{\"chunks\":[{\"id\":\"sha256:" + "0".repeat(62) + "01\","
            + "\"type\":\"meta\",\"offset\":0,\"length\":17,\"raw\":99}]}");
  }

  @Test
  void read_corruptEntry_throwsDigestMismatchNamingPackAndChunk() throws IOException {
    byte[] data = text(100_000, 4);
    PackWriter.Finished f;
    try (PackWriter w = PackWriter.defaults()) {
      add(w, PackEntry.Type.DATA, data);
      f = w.finish();
    }
    PackEntry e = f.entries().get(0);
    String id = "sha256:" + e.idHex();
    try (PackReader r = PackReader.sha256()) {
      byte[] flipped = f.bytes().clone();
      flipped[e.offset() + e.length() / 2] ^= 0x10;
      assertThatThrownBy(() -> r.read(e, flipped, 0, "sha256:abc"))
          .isInstanceOf(DigestMismatchException.class)
          .hasMessageStartingWith("chunk " + id + " in pack sha256:abc is corrupt: ");
      byte[] cut = Arrays.copyOf(f.bytes(), e.length() - 3);
      assertThatThrownBy(() -> r.read(e.id(), 0, e.raw(), cut, 0, cut.length, new byte[e.raw()], 0, "p"))
          .isInstanceOf(DigestMismatchException.class).hasMessageContaining("does not decompress");
      // Right frame, wrong id: what a pack holds under another chunk's name.
      byte[] other = new byte[32];
      assertThatThrownBy(() -> r.read(other, 0, e.raw(), f.bytes(), 0, e.length(), new byte[e.raw()], 0, "p"))
          .isInstanceOfSatisfying(DigestMismatchException.class, x -> {
            assertThat(x.expected()).isEqualTo(Digest.ofHex("0".repeat(64)));
            assertThat(x.actual()).isEqualTo(Digest.parse(id));
          })
          .hasMessageContaining("its content has the id " + id);
      assertThatThrownBy(() -> r.read(e.id(), 0, e.raw() - 1, f.bytes(), 0, e.length(), new byte[e.raw()], 0, "p"))
          .isInstanceOf(DigestMismatchException.class);
    }
  }

  @Test
  void parseTrailer_corruptPack_throwsNamingThePack() throws IOException {
    PackWriter.Finished f;
    try (PackWriter w = PackWriter.defaults()) {
      add(w, PackEntry.Type.DATA, text(50_000, 5));
      add(w, PackEntry.Type.DATA, text(50_000, 6));
      f = w.finish();
    }
    byte[] good = Arrays.copyOf(f.bytes(), f.size());
    byte[] magic = good.clone();
    magic[magic.length - 1] = '2';
    assertThatThrownBy(() -> PackReader.parseTrailer(magic, 0, magic.length, magic.length, "sha256:p"))
        .isInstanceOf(IOException.class)
        .hasMessage("pack sha256:p does not end with JMPACK01: not a pack, or cut short");
    byte[] length = good.clone();
    length[length.length - 12] = 0x7f;
    assertThatThrownBy(() -> PackReader.parseTrailer(length, 0, length.length, length.length, "sha256:p"))
        .hasMessageContaining("pack sha256:p has a trailer length of");
    int n = PackReader.trailerLength(good, good.length - 12, good.length, "p");
    byte[] trailer = good.clone();
    trailer[trailer.length - 12 - n / 2] ^= 0x55;
    assertThatThrownBy(() -> PackReader.parseTrailer(trailer, 0, trailer.length, trailer.length, "sha256:p"))
        .isInstanceOf(IOException.class).hasMessageContaining("pack sha256:p has a corrupt trailer");
    // A pack with an entry missing in front (offsets no longer match) or cut short.
    byte[] shifted = Arrays.copyOfRange(good, 10, good.length);
    assertThatThrownBy(() -> PackReader.parseTrailer(shifted, 0, shifted.length, shifted.length, "sha256:p"))
        .hasMessageContaining("pack sha256:p has a corrupt trailer: chunk 1 has a bad length");
    assertThatThrownBy(() -> PackReader.trailerLength(new byte[12], 0, 5, "sha256:p"))
        .hasMessage("pack sha256:p is 5 bytes: too short to be a pack");
  }

  @Test
  void full_atTheTargetSize_andFinishStartsANewPack() throws IOException {
    try (PackWriter w = new PackWriter(4 << 20, 1)) {
      int added = 0;
      while (!w.full()) {
        add(w, PackEntry.Type.DATA, random(1 << 20, added++));
      }
      // Random data does not compress: four 1 MiB chunks (plus frame headers) reach 4 MiB.
      assertThat(added).isEqualTo(4);
      assertThat(w.size()).isBetween(4 << 20, (4 << 20) + 1024);
      PackWriter.Finished first = w.finish();
      assertThat(first.size()).isGreaterThan(4 << 20);
      assertThat(w.full()).isFalse();
      assertThat(w.size()).isZero();
      add(w, PackEntry.Type.META, text(1000, 9));
      PackWriter.Finished second = w.finish();
      assertThat(second.entries()).hasSize(1);
      assertThat(second.entries().get(0).offset()).isZero();
      assertThat(second.digest()).isNotEqualTo(first.digest());
      assertThatThrownBy(w::finish).isInstanceOf(IllegalStateException.class);
    }
    assertThatThrownBy(() -> new PackWriter(0, 1)).hasMessageContaining("pack target size");
  }

  @Test
  void add_higherLevel_compressesTextSmaller() throws IOException {
    byte[] data = text(4 << 20, 10);
    int[] sizes = new int[2];
    int[] levels = {1, 9};
    for (int i = 0; i < 2; i++) {
      try (PackWriter w = new PackWriter(PackWriter.DEFAULT_TARGET, levels[i])) {
        sizes[i] = add(w, PackEntry.Type.DATA, data).length();
        try (PackReader r = PackReader.sha256()) {
          PackWriter.Finished f = w.finish();
          assertThat(r.read(f.entries().get(0), f.bytes(), 0, "p")).isEqualTo(data);
        }
      }
    }
    System.out.printf("4 MiB of text: %d bytes at zstd 1, %d at zstd 9%n", sizes[0], sizes[1]);
    assertThat(sizes[0]).isLessThan(data.length / 2);
    assertThat(sizes[1]).isLessThan(sizes[0]);
  }

  /** Prints pack and unpack speed (no timed assertion). */
  @Test
  void throughput_printsMegabytesPerSecond() throws IOException {
    List<byte[]> chunks = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      chunks.add(i % 2 == 0 ? random(1 << 20, i) : text(1 << 20, i));
    }
    ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
    long packNs = 0;
    long readNs = 0;
    long packCpu = 0;
    long readCpu = 0;
    try (PackWriter w = PackWriter.defaults(); PackReader r = PackReader.sha256()) {
      byte[] dst = new byte[1 << 20];
      for (int round = 0; round < 4; round++) {
        long t0 = System.nanoTime();
        long c0 = cpu.getCurrentThreadCpuTime();
        for (byte[] c : chunks) {
          add(w, PackEntry.Type.DATA, c);
        }
        PackWriter.Finished f = w.finish();
        long t1 = System.nanoTime();
        long c1 = cpu.getCurrentThreadCpuTime();
        for (PackEntry e : f.entries()) {
          r.read(e.id(), 0, e.raw(), f.bytes(), e.offset(), e.length(), dst, 0, "p");
        }
        long t2 = System.nanoTime();
        long c2 = cpu.getCurrentThreadCpuTime();
        if (round > 0) {
          packNs += t1 - t0;
          readNs += t2 - t1;
          packCpu += c1 - c0;
          readCpu += c2 - c1;
        }
      }
    }
    double mb = 3 * 32 * (1 << 20) / 1e6;
    System.out.printf("packs (half random, half text; sha256 + zstd 1): add %.0f MB/s wall, %.0f MB per CPU-second;"
        + " read+verify %.0f MB/s wall, %.0f MB per CPU-second%n", mb / (packNs / 1e9), mb / (packCpu / 1e9),
        mb / (readNs / 1e9), mb / (readCpu / 1e9));
    assertThat(packNs).isPositive();
  }
}
