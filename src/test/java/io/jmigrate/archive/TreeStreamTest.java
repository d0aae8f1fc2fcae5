package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Digest;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Tests for {@link TreeStreamWriter}, {@link TreeStreamReader} and {@link TreeRecord}'s JSON form. */
class TreeStreamTest {
  /** A chunk id: 32 bytes derived from {@code n}. */
  static byte[] id(long n) {
    byte[] out = new byte[32];
    byte[] d = Digest.newSha256().digest(Long.toString(n).getBytes(StandardCharsets.US_ASCII));
    System.arraycopy(d, 0, out, 0, 32);
    return out;
  }

  /** One chunk of the stream as the writer handed it over. */
  record Chunk(byte[] bytes, String firstPath) {
    String id() {
      return Digest.of(bytes).hex();
    }
  }

  static List<Chunk> write(List<TreeRecord> records) throws IOException {
    List<Chunk> out = new ArrayList<>();
    TreeStreamWriter w = new TreeStreamWriter((b, off, len, first) ->
        out.add(new Chunk(Arrays.copyOfRange(b, off, off + len), first)));
    for (TreeRecord r : records) {
      w.add(r);
    }
    w.finish();
    return out;
  }

  static List<TreeRecord> read(List<Chunk> chunks) throws IOException {
    Iterator<Chunk> it = chunks.iterator();
    TreeStreamReader r = new TreeStreamReader(() -> it.hasNext() ? it.next().bytes() : null, "test volume");
    List<TreeRecord> out = new ArrayList<>();
    TreeRecord rec;
    while ((rec = r.next()) != null) {
      out.add(rec);
    }
    return out;
  }

  static TreeStreamReader reader(byte[]... chunks) {
    Iterator<byte[]> it = Arrays.asList(chunks).iterator();
    return new TreeStreamReader(() -> it.hasNext() ? it.next() : null, "test volume");
  }

  /** A file record with every change-detection field and {@code size} bytes in 1 MiB chunks. */
  static TreeRecord file(String path, long size, long seed) {
    TreeRecord.Builder b = TreeRecord.builder(path, TreeRecord.Type.FILE).mode(0644).owner(1000, 1000)
        .mtime(1_700_000_000L + seed, (int) (seed % 1_000_000_000)).ctime(1_700_000_100L, 5)
        .inode(100_000 + seed, 2049).size(size);
    long left = size;
    for (long i = 0; left > 0; i++) {
      int n = (int) Math.min(left, 1 << 20);
      b.chunk(id(seed * 1_000_003 + i), 0, n);
      left -= n;
    }
    return b.build();
  }

  /** A tree of {@code dirs} directories with {@code perDir} files each, in tar order. */
  static List<TreeRecord> tree(int dirs, int perDir) {
    List<TreeRecord> out = new ArrayList<>();
    out.add(TreeRecord.builder("./", TreeRecord.Type.DIR).mode(0755).build());
    long n = 0;
    for (int d = 0; d < dirs; d++) {
      String dir = String.format("./dir-%05d/", d);
      out.add(TreeRecord.builder(dir, TreeRecord.Type.DIR).mode(0755).mtime(1_600_000_000L + d, 0).build());
      for (int f = 0; f < perDir; f++) {
        out.add(file(dir + String.format("file-%04d.dat", f), 1 + (n * 7919) % 3_000_000, n));
        n++;
      }
    }
    return out;
  }

  static List<TreeRecord> everyType() {
    byte[] binary = new byte[256];
    for (int i = 0; i < 256; i++) {
      binary[i] = (byte) i;
    }
    List<TreeRecord> l = new ArrayList<>();
    l.add(TreeRecord.builder("./", TreeRecord.Type.DIR).mode(01777).owner(0, 0).mtime(-5, 999_999_999)
        .xattr("system.posix_acl_default", VolumeArchiveTest.defaultAcl()).build());
    l.add(TreeRecord.builder("./a", TreeRecord.Type.FILE).mode(04755).owner(4_294_967_295L, 65534)
        .mtime(1_700_000_000L, 123).ctime(1_700_000_001L, 456).inode(Long.MAX_VALUE, 66306).size(3_000_000)
        .xattr("security.capability", VolumeArchiveTest.capability()).xattr("user.binary", binary)
        .xattr("user.empty", new byte[0]).chunk(id(1), 0, 1 << 20).chunk(id(2), 0, 3_000_000 - (1 << 20))
        .build());
    l.add(TreeRecord.builder("./a.b", TreeRecord.Type.HARDLINK).link("./a").build());
    l.add(TreeRecord.builder("./dev/", TreeRecord.Type.DIR).mode(0755).build());
    l.add(TreeRecord.builder("./dev/null", TreeRecord.Type.CHAR).mode(0666).device(1, 3).build());
    l.add(TreeRecord.builder("./dev/sda", TreeRecord.Type.BLOCK).mode(0660).owner(0, 6).device(8, 0).build());
    l.add(TreeRecord.builder("./dev/zero-zero", TreeRecord.Type.CHAR).build());
    l.add(TreeRecord.builder("./empty", TreeRecord.Type.FILE).mode(0600).build());
    l.add(TreeRecord.builder("./fifo", TreeRecord.Type.FIFO).mode(0644).build());
    l.add(TreeRecord.builder("./hole-only", TreeRecord.Type.FILE).size(1L << 40).extents().build());
    l.add(TreeRecord.builder("./line\nbreak \"quoted\" \\ tab\t", TreeRecord.Type.FILE).build());
    l.add(TreeRecord.builder("./link", TreeRecord.Type.SYMLINK).mode(0777).link("../../etc/passwd ä").build());
    l.add(TreeRecord.builder("./sparse", TreeRecord.Type.FILE).size(10L << 30)
        .extents(0, 4096, 1L << 30, 8192).chunk(id(3), 0, 12288).build());
    l.add(TreeRecord.builder("./zz-ünïcödé/", TreeRecord.Type.DIR).build());
    l.add(TreeRecord.builder("./zz-ünïcödé/日本語 🦀.txt", TreeRecord.Type.FILE).size(1).chunk(id(4), 0, 1)
        .build());
    return l;
  }

  @Test
  void roundTrip_everyTypeAndField_readsBackEqual() throws IOException {
    List<TreeRecord> in = everyType();
    List<TreeRecord> out = read(write(in));
    assertThat(out).isEqualTo(in);
    TreeRecord a = out.get(1);
    assertThat(a.xattrs().get("user.binary")).isEqualTo(in.get(1).xattrs().get("user.binary"));
    assertThat(a.xattrs().get("user.empty")).isEmpty();
    assertThat(a.uid()).isEqualTo(4_294_967_295L);
    assertThat(a.chunkIdHex(0)).isEqualTo(HexFormat.of().formatHex(id(1)));
    assertThat(out.get(9).sparse()).isTrue();
    assertThat(out.get(9).dataLength()).isZero();
    assertThat(out.get(12).extents()).containsExactly(0, 4096, 1L << 30, 8192);
    assertThat(out.get(7).sparse()).isFalse();
    assertThat(out.get(14).path()).isEqualTo("./zz-ünïcödé/日本語 🦀.txt");
  }

  @Test
  void encode_fixedKeyOrder_absentWhenZeroOrEmpty() throws IOException {
    assertThat(new String(TreeStreamWriter.encode(TreeRecord.builder("./", TreeRecord.Type.DIR).build()),
        StandardCharsets.UTF_8)).isEqualTo("{\"p\":\"./\",\"t\":\"d\"}");
    TreeRecord f = TreeRecord.builder("./ä\n", TreeRecord.Type.FILE).mode(0644).owner(1, 2).mtime(3, 4)
        .ctime(5, 6).inode(7, 8).size(12).xattr("user.b", new byte[] {(byte) 0xff}).xattr("user.a", new byte[0])
        .extents(2, 10).chunk(id(9), 0, 10).build();
    assertThat(new String(TreeStreamWriter.encode(f), StandardCharsets.UTF_8)).isEqualTo(
        "{\"p\":\"./ä\\n\",\"t\":\"f\",\"m\":420,\"u\":1,\"g\":2,\"mt\":[3,4],\"ct\":[5,6],\"ino\":7,\"dev\":8,"
            + "\"s\":12,\"x\":{\"user.a\":\"\",\"user.b\":\"/w==\"},\"e\":[[2,10]],\"c\":[[\""
            + HexFormat.of().formatHex(id(9)) + "\",10]]}");
    TreeRecord l = TreeRecord.builder("./l", TreeRecord.Type.SYMLINK).link("t").build();
    TreeRecord d = TreeRecord.builder("./d", TreeRecord.Type.BLOCK).device(0, 7).build();
    assertThat(new String(TreeStreamWriter.encode(l), StandardCharsets.UTF_8))
        .isEqualTo("{\"p\":\"./l\",\"t\":\"l\",\"lk\":\"t\"}");
    assertThat(new String(TreeStreamWriter.encode(d), StandardCharsets.UTF_8))
        .isEqualTo("{\"p\":\"./d\",\"t\":\"b\",\"rd\":[0,7]}");
  }

  @Test
  void write_sameRecordsTwice_sameChunks() throws IOException {
    List<TreeRecord> t = tree(40, 250);
    List<String> a = write(t).stream().map(Chunk::id).toList();
    List<String> b = write(tree(40, 250)).stream().map(Chunk::id).toList();
    assertThat(a).hasSizeGreaterThan(10).isEqualTo(b);
  }

  @Test
  void write_largeTree_chunksBetweenRecordsWithinSizes() throws IOException {
    List<TreeRecord> t = tree(40, 250);
    List<Chunk> chunks = write(t);
    for (int i = 0; i < chunks.size(); i++) {
      Chunk c = chunks.get(i);
      assertThat(c.bytes().length).isLessThanOrEqualTo(TreeStreamWriter.MAX_CHUNK);
      if (i < chunks.size() - 1) {
        assertThat(c.bytes().length).isGreaterThanOrEqualTo(TreeStreamWriter.MIN_CHUNK);
      }
      assertThat(c.bytes()[c.bytes().length - 1]).isEqualTo((byte) '\n');
      // Each chunk starts a record, and the writer names it: a reader can start at any chunk.
      TreeRecord first = reader(c.bytes()).next();
      assertThat(first.path()).isEqualTo(c.firstPath());
    }
    double mean = chunks.stream().mapToInt(c -> c.bytes().length).average().orElseThrow();
    System.out.printf("metadata: %d records, %d chunks, mean %.0f bytes%n", t.size(), chunks.size(), mean);
    assertThat(read(chunks)).isEqualTo(t);
  }

  @Test
  void write_recordChangedAndAddedInTheMiddle_otherChunksUnchanged() throws IOException {
    List<TreeRecord> t = tree(60, 250);
    List<String> before = write(t).stream().map(Chunk::id).toList();
    int middle = t.size() / 2;
    TreeRecord old = t.get(middle);
    t.set(middle, old.toBuilder().mtime(old.mtimeSeconds() + 1, 0).xattr("user.new", new byte[7]).build());
    // And a new file beside it: cuts by size alone would then shift every later chunk by a record.
    t.add(middle + 1, file(old.path() + "-new", 5, 999_999));
    List<String> after = write(t).stream().map(Chunk::id).toList();

    Set<String> seen = new HashSet<>(before);
    long fresh = after.stream().filter(id -> !seen.contains(id)).count();
    assertThat(before).hasSizeGreaterThan(40);
    assertThat(fresh).isBetween(1L, 2L);
    int common = 0;
    while (before.get(common).equals(after.get(common))) {
      common++;
    }
    int tail = 0;
    while (before.get(before.size() - 1 - tail).equals(after.get(after.size() - 1 - tail))) {
      tail++;
    }
    assertThat(common + tail + fresh).isEqualTo(after.size());
    assertThat(common).isGreaterThan(before.size() / 3);
    assertThat(tail).isGreaterThan(before.size() / 3);
  }

  @Test
  void write_recordOverOneMiB_hasAChunkOfItsOwn() throws IOException {
    List<TreeRecord> t = new ArrayList<>(tree(3, 300));
    TreeRecord huge = file("./zz-huge", 20_000L << 20, 77);
    t.add(huge);
    t.add(file("./zz-next", 5, 78));
    List<Chunk> chunks = write(t);
    Chunk own = chunks.stream().filter(c -> c.firstPath().equals("./zz-huge")).findFirst().orElseThrow();
    assertThat(own.bytes().length).isGreaterThan(TreeStreamWriter.MAX_CHUNK);
    assertThat(reader(own.bytes()).next()).isEqualTo(huge);
    TreeStreamReader r = reader(own.bytes());
    r.next();
    assertThat(r.next()).isNull();
    assertThat(chunks.get(chunks.size() - 1).firstPath()).isEqualTo("./zz-next");
    assertThat(read(chunks)).isEqualTo(t);
    assertThat(huge.chunkCount()).isEqualTo(20_000);
  }

  @Test
  void write_counts_entriesFilesBytesHoles() throws IOException {
    List<TreeRecord> l = everyType();
    TreeStreamWriter w = new TreeStreamWriter((b, off, len, first) -> { });
    for (TreeRecord r : l) {
      w.add(r);
    }
    w.finish();
    assertThat(w.entries()).isEqualTo(l.size());
    assertThat(w.files()).isEqualTo(6);
    assertThat(w.bytes()).isEqualTo(3_000_000L + (1L << 40) + (10L << 30) + 1);
    assertThat(w.holeBytes()).isEqualTo((1L << 40) + (10L << 30) - 12288);
    assertThat(w.chunks()).isEqualTo(1);
    assertThatThrownBy(() -> w.add(l.get(0))).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void add_outOfOrderOrRepeatedOrWithoutChunks_refused() throws IOException {
    TreeStreamWriter w = new TreeStreamWriter((b, off, len, first) -> { });
    w.add(TreeRecord.builder("./", TreeRecord.Type.DIR).build());
    w.add(TreeRecord.builder("./a/", TreeRecord.Type.DIR).build());
    assertThatThrownBy(() -> w.add(TreeRecord.builder("./a/", TreeRecord.Type.DIR).build()))
        .hasMessage("metadata record './a/' comes after './a/': records must be in tar order, each path once");
    w.add(TreeRecord.builder("./a/b", TreeRecord.Type.FIFO).build());
    // As strings "./a-" < "./a/", but a walk visits a/ and everything in it first, a- after.
    w.add(TreeRecord.builder("./a-", TreeRecord.Type.FIFO).build());
    assertThatThrownBy(() -> w.add(TreeRecord.builder("./a/c", TreeRecord.Type.FIFO).build()))
        .hasMessageContaining("'./a/c' comes after './a-'");
    assertThatThrownBy(() -> w.add(TreeRecord.builder("./b", TreeRecord.Type.FILE).size(5).build()))
        .hasMessage("metadata record './b' has 5 bytes of data but no chunk refs");
  }

  @Test
  void build_badFields_namePathAndField() {
    assertThatThrownBy(() -> TreeRecord.builder("a", TreeRecord.Type.FILE).build())
        .hasMessage("bad record 'a': must start with ./ and hold no NUL");
    assertThatThrownBy(() -> TreeRecord.builder("./d", TreeRecord.Type.DIR).build())
        .hasMessage("bad record './d': a directory's path must end with /");
    assertThatThrownBy(() -> TreeRecord.builder("./f", TreeRecord.Type.FILE).mode(010000).build())
        .hasMessage("bad record './f': mode 10000 is not within 07777");
    assertThatThrownBy(() -> TreeRecord.builder("./l", TreeRecord.Type.SYMLINK).build())
        .hasMessage("bad record './l': a link needs a target");
    assertThatThrownBy(() -> TreeRecord.builder("./d/", TreeRecord.Type.DIR).size(3).build())
        .hasMessage("bad record './d/': size 3 on a DIR");
    assertThatThrownBy(() -> TreeRecord.builder("./f", TreeRecord.Type.FILE).size(10).chunk(id(1), 0, 9).build())
        .hasMessage("bad record './f': chunks cover 9 bytes, the data is 10");
    assertThatThrownBy(() -> TreeRecord.builder("./f", TreeRecord.Type.FILE).size(10).extents(5, 6).build())
        .hasMessage("bad record './f': extent [5, 6] overlaps, is empty or ends past the size 10");
  }

  @Test
  void next_corruptChunks_failNamingTheChunk() throws IOException {
    byte[] good = write(everyType()).get(0).bytes();
    byte[] cut = Arrays.copyOf(good, good.length - 5);
    TreeStreamReader r = reader(good, cut);
    for (int i = 0; i < everyType().size(); i++) {
      r.next();
    }
    assertThatThrownBy(r::next).isInstanceOf(IOException.class).hasMessage(
        "corrupt metadata stream of test volume: chunk 1 does not end with a whole record; run jmigrate verify"
            + " on the repository");
    byte[] garbage = "{\"p\":\"./\",\"t\":\"d\"}\n{\"p\":\"./x\",\"t\":\"q\"}\n".getBytes(StandardCharsets.UTF_8);
    TreeStreamReader g = reader(garbage);
    g.next();
    assertThatThrownBy(g::next).hasMessageContaining("chunk 0 byte 19: unknown entry type 'q'");
    byte[] unordered = "{\"p\":\"./b\",\"t\":\"p\"}\n{\"p\":\"./a\",\"t\":\"p\"}\n".getBytes(StandardCharsets.UTF_8);
    TreeStreamReader u = reader(unordered);
    u.next();
    assertThatThrownBy(u::next).hasMessageContaining("record './a' comes after './b', out of tar order");
    assertThatThrownBy(() -> reader("{\"p\":\"./\",\"t\":\"d\",\"m\":1.5}\n".getBytes()).next())
        .hasMessageContaining("'m': expected VALUE_NUMBER_INT");
  }

  @Test
  void next_unknownKey_skipped() throws IOException {
    TreeRecord r = reader("{\"p\":\"./x\",\"t\":\"p\",\"zz\":{\"a\":[1,{}]},\"m\":384}\n".getBytes()).next();
    assertThat(r).isEqualTo(TreeRecord.builder("./x", TreeRecord.Type.FIFO).mode(0600).build());
  }

  @Test
  void dataOf_copiesTheParentsChunkRefsAndExtents() {
    TreeRecord parent = TreeRecord.builder("./s", TreeRecord.Type.FILE).size(100).extents(0, 10, 50, 20)
        .chunk(id(5), 0, 30).build();
    TreeRecord now = TreeRecord.builder("./s", TreeRecord.Type.FILE).size(100).ctime(9, 9).dataOf(parent).build();
    assertThat(now.extents()).containsExactly(0, 10, 50, 20);
    assertThat(now.chunkIdHex(0)).isEqualTo(parent.chunkIdHex(0));
    assertThat(now.chunkRaw(0)).isEqualTo(30);
  }

  /** Prints records per second written and read (no timed assertion). */
  @Test
  void throughput_printsRecordsPerSecond() throws IOException {
    List<TreeRecord> t = tree(100, 500);
    ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
    long[] bytes = new long[1];
    List<TreeStreamTest.Chunk> chunks = write(t); // warm-up, and the chunks to read
    long c0 = cpu.getCurrentThreadCpuTime();
    TreeStreamWriter w = new TreeStreamWriter((b, off, len, first) -> bytes[0] += len);
    for (TreeRecord r : t) {
      w.add(r);
    }
    w.finish();
    long c1 = cpu.getCurrentThreadCpuTime();
    read(chunks);
    long c2 = cpu.getCurrentThreadCpuTime();
    System.out.printf("metadata stream: %d records (%.0f bytes each): write %.0f, read %.0f records per CPU-second%n",
        t.size(), bytes[0] / (double) t.size(), t.size() / ((c1 - c0) / 1e9), t.size() / ((c2 - c1) / 1e9));
    assertThat(w.entries()).isEqualTo(t.size());
  }

  @Test
  void write_randomRecords_roundTrip() throws IOException {
    Random rnd = new Random(7);
    List<TreeRecord> l = new ArrayList<>();
    l.add(TreeRecord.builder("./", TreeRecord.Type.DIR).build());
    for (int i = 0; i < 3000; i++) {
      byte[] x = new byte[rnd.nextInt(40)];
      rnd.nextBytes(x);
      l.add(TreeRecord.builder(String.format("./f%05d", i), TreeRecord.Type.FILE).mode(rnd.nextInt(07777))
          .owner(rnd.nextInt(70000), rnd.nextInt(70000)).mtime(rnd.nextLong() >> 30, rnd.nextInt(1_000_000_000))
          .xattr("user.r", x).build());
    }
    assertThat(read(write(l))).isEqualTo(l);
  }
}
