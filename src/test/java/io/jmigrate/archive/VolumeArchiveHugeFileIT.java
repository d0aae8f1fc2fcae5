package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
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
 * only because it streams 8 GiB, which takes tens of seconds; it also shows that memory stays bounded
 * (failsafe runs it with -Xmx256m).
 */
class VolumeArchiveHugeFileIT {
  @TempDir
  Path tmp;

  @Test
  void write_fileOver8GiB_getsPaxSizeAndStreams() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    long size = (8L << 30) + 4097;
    try (RandomAccessFile f = new RandomAccessFile(src.resolve("huge.img").toFile(), "rw")) {
      f.setLength(size); // sparse: no disk used
    }
    byte[][] head = new byte[1][];
    long[] total = {0};
    OutputStream capture = new OutputStream() {
      final ByteArrayOutputStream first = new ByteArrayOutputStream();

      @Override
      public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        if (first.size() < 8192) {
          first.write(b, off, Math.min(len, 8192 - first.size()));
          head[0] = first.toByteArray();
        }
        total[0] += len;
      }
    };
    VolumeArchive.Stats s = VolumeArchive.write(src, Set.of(), capture);
    assertThat(s.bytes()).isEqualTo(size);
    assertThat(total[0]).isGreaterThan(size);
    TarReader r = new TarReader(new ByteArrayInputStream(head[0]));
    assertThat(r.next().name).isEqualTo("./");
    TarEntry huge = r.next();
    assertThat(huge.name).isEqualTo("./huge.img");
    assertThat(huge.size).isEqualTo(size);
    assertThat(new String(head[0], StandardCharsets.ISO_8859_1)).contains(" size=" + size + "\n");
    Files.delete(src.resolve("huge.img"));
  }

}
