package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestingInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for {@link VolumeArchive} and {@link DataExtents} with sparse files: holes read with SEEK_DATA/SEEK_HOLE,
 * stored as GNU sparse 1.0 entries, and left as holes on extract; interoperability with GNU tar both ways.
 */
class VolumeArchiveSparseTest {
  private static final long GIB = 1L << 30;

  @TempDir
  Path tmp;

  @BeforeAll
  static void mustBeRoot() throws IOException {
    assertThat(System.getProperty("user.name")).as("volume archive tests need root (chown)").isEqualTo("root");
  }

  /** A file of {@code size} bytes, all hole but for {@code data} written at each of {@code offsets}. */
  private static Path sparse(Path p, long size, byte[] data, long... offsets) throws IOException {
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      for (long off : offsets) {
        ch.write(ByteBuffer.wrap(data), off);
      }
    }
    Posix.truncate(p.toString(), size);
    return p;
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Allocated bytes (st_blocks × 512). */
  private static long allocated(Path p) throws IOException {
    return Posix.lstat(p.toString()).blocks() * 512;
  }

  private static Digest digest(Path p) throws IOException {
    try (DigestingInputStream in = new DigestingInputStream(Files.newInputStream(p))) {
      in.transferTo(OutputStream.nullOutputStream());
      return in.digest();
    }
  }

  private static byte[] tar(Path dir) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    VolumeArchive.write(dir, Set.of(), out);
    return out.toByteArray();
  }

  @Test
  void extents_fileWithDataInTheMiddleAndAtTheEnd_listsOnlyTheData() throws IOException {
    Path f = sparse(tmp.resolve("f"), 1 << 24, random(4096, 1), 1 << 20, (1 << 24) - 4096);

    List<DataExtents.Extent> got = new ArrayList<>();
    try (DataExtents x = DataExtents.open(f, Files.size(f))) {
      DataExtents.Extent e;
      while ((e = x.next()) != null) {
        got.add(e);
      }
    }

    assertThat(got).containsExactly(new DataExtents.Extent(1 << 20, 4096),
        new DataExtents.Extent((1 << 24) - 4096, 4096));
  }

  @Test
  void extents_sizeBelowTheFile_endAtThatSize() throws IOException {
    Path f = sparse(tmp.resolve("f"), 8192, random(8192, 2), 0);

    try (DataExtents x = DataExtents.open(f, 100)) {
      assertThat(x.next()).isEqualTo(new DataExtents.Extent(0, 100));
      assertThat(x.next()).isNull();
    }
  }

  @Test
  void writeThenExtract_oneGibWithFourKibInTheMiddle_staysSparseAndIdentical() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    Path f = sparse(src.resolve("disk.img"), GIB, random(4096, 3), GIB / 2);
    sparse(src.resolve("tail"), 3 * 4096 + 100, random(100, 4), 3 * 4096);
    sparse(src.resolve("hole-only"), 1 << 20, new byte[0]);
    Files.write(src.resolve("dense"), random(10000, 5));
    byte[] tar = tar(src);

    assertThat(tar.length).as("holes are not stored").isLessThan(64 * 1024);
    assertThat(tar(src)).as("deterministic").isEqualTo(tar);
    Path dst = Files.createDirectory(tmp.resolve("dst"));
    VolumeArchive.Stats stats = VolumeArchive.extract(new ByteArrayInputStream(tar), dst);

    for (String name : List.of("disk.img", "tail", "hole-only", "dense")) {
      assertThat(Files.size(dst.resolve(name))).as(name).isEqualTo(Files.size(src.resolve(name)));
      assertThat(digest(dst.resolve(name))).as(name).isEqualTo(digest(src.resolve(name)));
      assertThat(allocated(dst.resolve(name))).as(name + " allocation")
          .isBetween(allocated(src.resolve(name)) - 8192, allocated(src.resolve(name)) + 8192);
    }
    assertThat(allocated(dst.resolve("disk.img"))).isLessThan(64 * 1024);
    assertThat(stats.bytes()).isEqualTo(4096 + 100 + 10000);
    assertThat(stats.metadata().lossy()).isFalse();
    assertThat(f).exists();
  }

  @Test
  void write_denseFile_isAnOrdinaryEntryWithoutSparseRecords() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    Files.write(src.resolve("dense"), random(100000, 6));

    assertThat(new String(tar(src), StandardCharsets.ISO_8859_1)).doesNotContain("GNU.sparse");
  }

  @Test
  void write_sparseEntry_isGnuSparseOnePointZero() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    sparse(src.resolve("f"), 1 << 20, "hello".getBytes(StandardCharsets.US_ASCII), 4096);

    String s = new String(tar(src), StandardCharsets.ISO_8859_1);

    assertThat(s).contains("GNU.sparse.major=1\n", "GNU.sparse.minor=0\n", "GNU.sparse.name=./f\n",
        "GNU.sparse.realsize=1048576\n", "./GNUSparseFile.0/f\0", "2\n4096\n4096\n1048576\n0\n");
  }

  @Test
  void write_thenGnuTarExtracts_holesAndContent() throws Exception {
    Path src = Files.createDirectory(tmp.resolve("src"));
    sparse(src.resolve("f"), 1 << 28, random(4096, 7), 1 << 27);
    sparse(src.resolve("ends-in-hole"), 1 << 20, random(10, 8), 0);
    Path file = tmp.resolve("ours.tar");
    try (OutputStream out = Files.newOutputStream(file)) {
      VolumeArchive.write(src, Set.of(), out);
    }
    Path dst = Files.createDirectory(tmp.resolve("gnu"));

    run("tar", "--numeric-owner", "-p", "-C", dst.toString(), "-xf", file.toString());

    for (String name : List.of("f", "ends-in-hole")) {
      assertThat(Files.size(dst.resolve(name))).isEqualTo(Files.size(src.resolve(name)));
      assertThat(digest(dst.resolve(name))).isEqualTo(digest(src.resolve(name)));
      assertThat(allocated(dst.resolve(name))).isLessThan(64 * 1024);
    }
  }

  @Test
  void extract_gnuTarSparseArchive_leavesHoles() throws Exception {
    Path src = Files.createDirectory(tmp.resolve("src"));
    sparse(src.resolve("f"), 1 << 28, random(4096, 9), 1 << 27, (1 << 28) - 4096);
    Path file = tmp.resolve("gnu.tar");
    run("tar", "--format=posix", "--sparse", "--numeric-owner", "-C", src.toString(), "-cf", file.toString(), ".");
    Path dst = Files.createDirectory(tmp.resolve("dst"));

    try (InputStream in = Files.newInputStream(file)) {
      VolumeArchive.extract(in, dst);
    }

    assertThat(Files.size(dst.resolve("f"))).isEqualTo(1 << 28);
    assertThat(digest(dst.resolve("f"))).isEqualTo(digest(src.resolve("f")));
    assertThat(allocated(dst.resolve("f"))).isLessThan(64 * 1024);
  }

  @Test
  void nestThenRebase_sparseEntry_passesThroughUnchanged() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    sparse(src.resolve("f"), 1 << 24, random(4096, 10), 1 << 23);
    byte[] tar = tar(src);
    ByteArrayOutputStream nested = new ByteArrayOutputStream();
    VolumeArchive.nest(new ByteArrayInputStream(tar), "data", nested);
    ByteArrayOutputStream back = new ByteArrayOutputStream();

    VolumeArchive.rebase(new ByteArrayInputStream(nested.toByteArray()), "data", Set.of(), back);

    assertThat(back.toByteArray()).isEqualTo(tar);
  }

  @Test
  void extract_sparseMapPastTheRealSize_isRefusedNamingTheEntry() throws IOException {
    TarEntry e = new TarEntry();
    e.name = "./f";
    e.mode = 0644;
    e.size = 100;
    e.sparse = new long[] {50, 10};
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    TarWriter w = new TarWriter(out);
    w.putEntry(e);
    w.write(new byte[10], 0, 10);
    w.closeEntry();
    w.finish();
    byte[] bad = new String(out.toByteArray(), StandardCharsets.ISO_8859_1).replace("2\n50\n10\n100\n0\n",
        "2\n95\n10\n100\n0\n").getBytes(StandardCharsets.ISO_8859_1);
    Path dst = Files.createDirectory(tmp.resolve("dst"));

    assertThatThrownBy(() -> VolumeArchive.extract(new ByteArrayInputStream(bad), dst))
        .isInstanceOf(IOException.class).hasMessageContaining("tar entry './f': sparse map")
        .hasMessageContaining("past the file's size");
  }

  private static void run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("%s: %s", String.join(" ", cmd), out).isZero();
  }
}
