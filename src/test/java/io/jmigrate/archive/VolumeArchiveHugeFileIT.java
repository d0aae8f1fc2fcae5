package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.blob.DigestingInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for {@link VolumeArchive} with a file over 8 GiB (sparse, so no disk is used). An integration test
 * only because it reads 8 GiB back to compare, which takes seconds; it also shows that memory stays bounded
 * (failsafe runs it with -Xmx256m).
 */
class VolumeArchiveHugeFileIT {
  @TempDir
  Path tmp;

  @Test
  void writeThenExtract_fileOver8GiBMostlyHoles_isASparseEntryWithItsRealSizeAndStaysSparse() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    long size = (8L << 30) + 4097;
    Path huge = src.resolve("huge.img");
    try (RandomAccessFile f = new RandomAccessFile(huge.toFile(), "rw")) {
      f.setLength(size); // sparse: no disk used
      f.seek(8L << 30);
      f.write("past 8 GiB".getBytes(StandardCharsets.US_ASCII));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();

    VolumeArchive.Stats s = VolumeArchive.write(src, Set.of(), out);

    assertThat(s.bytes()).as("only the data extent is stored").isLessThanOrEqualTo(64 * 1024);
    assertThat(out.size()).isLessThan(128 * 1024);
    String text = new String(out.toByteArray(), StandardCharsets.ISO_8859_1);
    assertThat(text).contains("GNU.sparse.realsize=" + size + "\n");
    TarReader r = new TarReader(new ByteArrayInputStream(out.toByteArray()));
    assertThat(r.next().name).isEqualTo("./");
    TarEntry e = r.next();
    assertThat(e.name).isEqualTo("./huge.img");
    assertThat(e.size).isEqualTo(size);
    assertThat(e.sparse[0]).isEqualTo(8L << 30);

    Path dst = Files.createDirectory(tmp.resolve("dst"));
    VolumeArchive.extract(new ByteArrayInputStream(out.toByteArray()), dst);
    Path back = dst.resolve("huge.img");
    assertThat(Files.size(back)).isEqualTo(size);
    assertThat(Posix.lstat(back.toString()).blocks() * 512).isLessThan(128 * 1024);
    assertThat(digest(back)).isEqualTo(digest(huge));
    Files.delete(huge);
    Files.delete(back);
  }

  private static String digest(Path p) throws IOException {
    try (InputStream f = Files.newInputStream(p); DigestingInputStream in = new DigestingInputStream(f)) {
      in.transferTo(OutputStream.nullOutputStream());
      return in.digest().toString();
    }
  }
}
