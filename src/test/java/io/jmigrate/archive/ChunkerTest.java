package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Digest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link Chunker}. */
class ChunkerTest {
  private static final int MIB = 1 << 20;
  private static final byte[] SEED = HexFormat.of().parseHex(Chunker.DEFAULT_SEED_HEX);

  @TempDir
  Path tmp;

  static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Small sizes, so that a few MiB give hundreds of chunks. */
  static Chunker small() {
    return Chunker.of(2048, 8192, 65536, SEED);
  }

  /** Chunk lengths of {@code data} in one chunking. */
  static List<Integer> lengths(Chunker c, byte[] data) throws IOException {
    List<Integer> out = new ArrayList<>();
    c.chunkAll(data, 0, data.length, (b, off, len) -> out.add(len));
    return out;
  }

  /** Chunk ids (sha256 hex) of {@code data} in one chunking. */
  static List<String> ids(Chunker c, byte[] data) throws IOException {
    return ids(c, data, 0, data.length);
  }

  /** Chunk ids (sha256 hex) of {@code data[from, from + len)} in one chunking. */
  static List<String> ids(Chunker c, byte[] data, int from, int len) throws IOException {
    List<String> out = new ArrayList<>();
    c.begin(idCollector(out));
    c.append(data, from, len);
    c.finish();
    return out;
  }

  static Chunker.ChunkHandler idCollector(List<String> out) {
    MessageDigest md = Digest.newSha256();
    return (b, off, len) -> {
      md.update(b, off, len);
      out.add(HexFormat.of().formatHex(md.digest()));
    };
  }

  /** {@code size} pseudo-random bytes, generated as they are read: large inputs without a large array. */
  static ReadableByteChannel randomChannel(long size, long seed) {
    Random r = new Random(seed);
    byte[] block = new byte[64 * 1024];
    return new ReadableByteChannel() {
      long left = size;

      @Override
      public int read(ByteBuffer dst) {
        if (left == 0) {
          return -1;
        }
        int n = (int) Math.min(Math.min(dst.remaining(), block.length), left);
        r.nextBytes(block);
        dst.put(block, 0, n);
        left -= n;
        return n;
      }

      @Override
      public boolean isOpen() {
        return true;
      }

      @Override
      public void close() {}
    };
  }

  /** Chunk lengths of a random stream of {@code size} bytes. */
  static List<Integer> randomLengths(Chunker c, long size, long seed) throws IOException {
    List<Integer> out = new ArrayList<>();
    c.chunkAll(randomChannel(size, seed), (b, off, len) -> out.add(len));
    return out;
  }

  /** A channel that returns at most a few bytes per read, sizes chosen at random. */
  static ReadableByteChannel trickle(byte[] data, long seed) {
    Random r = new Random(seed);
    ByteBuffer src = ByteBuffer.wrap(data);
    return new ReadableByteChannel() {
      @Override
      public int read(ByteBuffer dst) {
        if (!src.hasRemaining()) {
          return -1;
        }
        int n = Math.min(Math.min(dst.remaining(), src.remaining()), 1 + r.nextInt(5000));
        ByteBuffer slice = src.slice().limit(n);
        dst.put(slice);
        src.position(src.position() + n);
        return n;
      }

      @Override
      public boolean isOpen() {
        return true;
      }

      @Override
      public void close() {}
    };
  }

  @Test
  void defaultSeed_isSha256OfItsDocumentedString() {
    assertThat(Digest.of("jmigrate fastcdc-2016 gear seed v1".getBytes(StandardCharsets.US_ASCII)).hex())
        .isEqualTo(Chunker.DEFAULT_SEED_HEX);
  }

  @Test
  void gearTable_isSha256InCounterModeOverTheSeed() {
    long[] g = Chunker.gearTable(SEED);
    MessageDigest md = Digest.newSha256();
    md.update(SEED);
    md.update(new byte[] {0, 0, 0, 63});
    ByteBuffer last = ByteBuffer.wrap(md.digest());
    assertThat(g).hasSize(256);
    assertThat(new long[] {g[252], g[253], g[254], g[255]})
        .containsExactly(last.getLong(), last.getLong(), last.getLong(), last.getLong());
    assertThat(Arrays.stream(g).distinct().count()).isEqualTo(256);
  }

  @Test
  void mask_spreadsItsBitsOverTheTop48Bits() {
    assertThat(Long.bitCount(Chunker.mask(22))).isEqualTo(22);
    assertThat(Long.bitCount(Chunker.mask(18))).isEqualTo(18);
    assertThat(Chunker.mask(12)).isEqualTo(0x8888888888880000L);
    assertThat(Chunker.mask(48)).isEqualTo(0xffffffffffff0000L);
  }

  /** SHA-256 in counter mode: {@code sha256(uint32be(0)) ‖ sha256(uint32be(1)) ‖ …}, cut to {@code size}. */
  static byte[] counterStream(int size) {
    byte[] out = new byte[size];
    MessageDigest md = Digest.newSha256();
    for (int i = 0, pos = 0; pos < size; i++, pos += 32) {
      byte[] block = md.digest(ByteBuffer.allocate(4).putInt(i).array());
      System.arraycopy(block, 0, out, pos, Math.min(32, size - pos));
    }
    return out;
  }

  /**
   * Pins the format: the boundaries every repository written with the default seed holds. The expected values
   * come from an independent Python transcription of the class comment's rules, not from this class.
   */
  @Test
  void chunkAll_fixedInput_givesThePinnedBoundaries() throws IOException {
    byte[] data = counterStream(200_000);
    assertThat(lengths(small(), data)).containsExactly(
        3548, 14014, 10050, 20654, 8745, 11188, 3600, 3377, 9523, 11130, 11164, 8842, 8248, 11939, 8198, 9378,
        10858, 3777, 15713, 9000, 6003, 1051);
  }

  @Test
  void chunkAll_sameDataTwice_givesTheSameChunks() throws IOException {
    byte[] data = random(16 * MIB, 1);
    assertThat(ids(Chunker.defaults(), data)).isEqualTo(ids(Chunker.defaults(), data));
  }

  @Test
  void chunkAll_randomData_chunksWithinMinAndMaxExceptTheLast() throws IOException {
    checkBounds(small(), 8 * MIB, 2);
    checkBounds(Chunker.defaults(), 64 * MIB, 3);
  }

  private static void checkBounds(Chunker c, long size, long seed) throws IOException {
    List<Integer> l = randomLengths(c, size, seed);
    assertThat(l.stream().mapToLong(Integer::longValue).sum()).isEqualTo(size);
    for (int i = 0; i < l.size() - 1; i++) {
      assertThat(l.get(i)).as("chunk %d of %d", i, l.size()).isBetween(c.min(), c.max());
    }
    assertThat(l.get(l.size() - 1)).isBetween(1, c.max());
  }

  @Test
  void chunkAll_randomData_averagesNearAvg() throws IOException {
    // Expected mean with NC level 2: about 1.15 x avg for min = avg/4, 1.2 x avg for min = avg/2 (nothing is
    // cut below min; past avg the looser mask cuts within ~avg/4).
    List<Integer> s = randomLengths(small(), 16 * MIB, 4);
    double smallMean = s.subList(0, s.size() - 1).stream().mapToInt(Integer::intValue).average().orElseThrow();
    List<Integer> d = randomLengths(Chunker.defaults(), 128 * MIB, 5);
    double defMean = d.subList(0, d.size() - 1).stream().mapToInt(Integer::intValue).average().orElseThrow();
    System.out.printf("mean chunk: %.0f for avg 8192 (%d chunks), %.0f for avg 1 MiB (%d chunks)%n",
        smallMean, s.size(), defMean, d.size());
    assertThat(smallMean).isBetween(8192 * 1.0, 8192 * 1.35);
    assertThat(defMean).isBetween(MIB * 1.0, MIB * 1.45);
  }

  @Test
  void append_anyReadSizes_givesTheSameChunksAsOneArray() throws IOException {
    byte[] data = random(3 * MIB + 12345, 6);
    Chunker c = small();
    List<Integer> whole = lengths(c, data);

    List<Integer> trickled = new ArrayList<>();
    c.begin((b, off, len) -> trickled.add(len));
    assertThat(c.append(trickle(data, 7), Long.MAX_VALUE)).isEqualTo(data.length);
    assertThat(c.finish()).isEqualTo(data.length);
    assertThat(trickled).isEqualTo(whole);

    List<Integer> stream = new ArrayList<>();
    c.begin((b, off, len) -> stream.add(len));
    c.append(new ByteArrayInputStream(data), Long.MAX_VALUE);
    c.finish();
    assertThat(stream).isEqualTo(whole);

    // The same bytes appended in pieces (as the data extents of a sparse file) are one chunking.
    List<Integer> pieces = new ArrayList<>();
    c.begin((b, off, len) -> pieces.add(len));
    c.append(data, 0, 1000);
    c.append(trickle(Arrays.copyOfRange(data, 1000, 2 * MIB), 8), Long.MAX_VALUE);
    c.append(data, 2 * MIB, data.length - 2 * MIB);
    c.finish();
    assertThat(pieces).isEqualTo(whole);
  }

  @Test
  void chunkAll_fileChannel_chunksTheFileAndLeavesTheRestUnread() throws IOException {
    byte[] data = random(20 * MIB, 9);
    Path f = tmp.resolve("f");
    Files.write(f, data);
    Chunker c = Chunker.defaults();
    List<String> expected = ids(c, data, MIB, 18 * MIB);
    List<String> got = new ArrayList<>();
    MessageDigest md = Digest.newSha256();
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
      ch.position(MIB);
      c.begin((b, off, len) -> {
        md.update(b, off, len);
        got.add(HexFormat.of().formatHex(md.digest()));
      });
      c.appendFully(ch, 18L * MIB, "f");
      assertThat(c.finish()).isEqualTo(18L * MIB);
      assertThat(ch.position()).isEqualTo(19L * MIB);
    }
    assertThat(got).isEqualTo(expected);
  }

  @Test
  void appendFully_shortChannel_failsNamingIt() throws IOException {
    Chunker c = small();
    c.begin((b, off, len) -> { });
    assertThatThrownBy(() -> c.appendFully(trickle(new byte[100], 1), 200, "/data/x"))
        .hasMessage("/data/x ended after 100 of 200 bytes");
  }

  @Test
  void chunkAll_insertNearTheStart_changesAtMostTwoChunks() throws IOException {
    byte[] data = random(64 * MIB, 10);
    Chunker c = Chunker.defaults();
    List<String> before = ids(c, data);
    // The edited file, appended in pieces (one chunking, as append_anyReadSizes shows): no second 64 MiB array.
    int at = 1000;
    List<String> after = new ArrayList<>();
    c.begin(idCollector(after));
    c.append(data, 0, at);
    c.append("INSERT!".getBytes(StandardCharsets.US_ASCII), 0, 7);
    c.append(data, at, data.length - at);
    c.finish();

    Set<String> old = new HashSet<>(before);
    long fresh = after.stream().filter(id -> !old.contains(id)).count();
    assertThat(fresh).isBetween(1L, 2L);
    // Everything after the edited chunk(s) is the same chunk list.
    assertThat(after.subList((int) fresh, after.size())).isEqualTo(before.subList(before.size() - after.size()
        + (int) fresh, before.size()));
    assertThat(before.size() - after.size()).isBetween(-1, 1);
  }

  @Test
  void chunkAll_append_changesOnlyTheTail() throws IOException {
    byte[] data = random(40 * MIB, 11);
    Chunker c = Chunker.defaults();
    List<String> before = ids(c, data, 0, 32 * MIB);
    List<String> after = ids(c, data);
    assertThat(after.subList(0, before.size() - 1)).isEqualTo(before.subList(0, before.size() - 1));
    // The old last chunk was cut by the end of the data; the appended 8 MiB plus it make a few new chunks.
    assertThat(after.size() - (before.size() - 1)).isBetween(1, 16);
    assertThat(after.get(before.size() - 1)).isNotEqualTo(before.get(before.size() - 1));
  }

  @Test
  void chunkAll_otherSeed_givesOtherBoundaries() throws IOException {
    byte[] data = random(4 * MIB, 12);
    byte[] otherSeed = SEED.clone();
    otherSeed[0] ^= 1;
    List<Integer> a = lengths(small(), data);
    List<Integer> b = lengths(Chunker.of(2048, 8192, 65536, otherSeed), data);
    assertThat(b).isNotEqualTo(a);
    // Hardly any boundary in common: the two tables cut independently.
    Set<Long> cutsA = cuts(a);
    long common = cuts(b).stream().filter(cutsA::contains).count();
    assertThat(common).isLessThan(a.size() / 10);
  }

  private static Set<Long> cuts(List<Integer> lengths) {
    Set<Long> s = new HashSet<>();
    long pos = 0;
    for (int l : lengths) {
      pos += l;
      s.add(pos);
    }
    return s;
  }

  @Test
  void chunkAll_allZeros_cutsAtMax() throws IOException {
    List<Integer> l = lengths(Chunker.defaults(), new byte[20 * MIB]);
    assertThat(l).containsExactly(8 * MIB, 8 * MIB, 4 * MIB);
    assertThat(lengths(small(), new byte[200_000])).containsExactly(65536, 65536, 65536, 3392);
  }

  @Test
  void chunkAll_emptyOrSmall_noChunkOrOne() throws IOException {
    Chunker c = small();
    assertThat(lengths(c, new byte[0])).isEmpty();
    assertThat(lengths(c, random(1, 13))).containsExactly(1);
    assertThat(lengths(c, random(2048, 13))).containsExactly(2048);
    assertThat(lengths(c, random(65536 + 1, 13)).get(0)).isLessThanOrEqualTo(65536);
  }

  @Test
  void of_badSizes_namesThem() {
    assertThatThrownBy(() -> Chunker.of(2048, 5000, 65536, SEED))
        .hasMessageContaining("power of two").hasMessageContaining("5000");
    assertThatThrownBy(() -> Chunker.of(8192, 8192, 65536, SEED))
        .hasMessage("chunker sizes must satisfy 1 <= min < avg < max <= 1 GiB, got min 8192, avg 8192, max 65536");
    assertThatThrownBy(() -> Chunker.of(2048, 8192, 65536, new byte[16]))
        .hasMessage("chunker seed must be 32 bytes, got 16");
    assertThatThrownBy(() -> small().append(new byte[1], 0, 1)).hasMessageContaining("begin");
  }

  /** Prints throughput (no timed assertion: speed is measured, not asserted). */
  @Test
  void chunkAll_throughput_printsMegabytesPerSecond() throws IOException {
    byte[] data = random(32 * MIB, 14);
    Chunker c = Chunker.defaults();
    long[] chunks = new long[1];
    Chunker.ChunkHandler h = (b, off, len) -> chunks[0]++;
    for (int i = 0; i < 3; i++) {
      c.chunkAll(data, 0, data.length, h); // warm-up
    }
    Path f = tmp.resolve("big");
    Files.write(f, data);
    int rounds = 16;
    ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
    long t0 = System.nanoTime();
    long c0 = cpu.getCurrentThreadCpuTime();
    for (int i = 0; i < rounds; i++) {
      c.chunkAll(data, 0, data.length, h);
    }
    long t1 = System.nanoTime();
    long c1 = cpu.getCurrentThreadCpuTime();
    for (int i = 0; i < rounds; i++) {
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
        c.chunkAll(ch, h);
      }
    }
    long t2 = System.nanoTime();
    long c2 = cpu.getCurrentThreadCpuTime();
    double mb = rounds * (double) data.length / 1e6;
    // CPU time as well as wall: on a shared machine the wall figure mostly measures the other processes.
    System.out.printf("Chunker: byte array %.0f MB/s wall, %.0f MB per CPU-second; FileChannel (page cache) %.0f MB/s"
        + " wall, %.0f MB per CPU-second%n", mb / ((t1 - t0) / 1e9), mb / ((c1 - c0) / 1e9),
        mb / ((t2 - t1) / 1e9), mb / ((c2 - c1) / 1e9));
    assertThat(chunks[0]).isGreaterThan(0);
  }
}
