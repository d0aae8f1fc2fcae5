package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.TestImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Tests for sparse files in volumes ({@link io.jmigrate.archive.DataExtents}, GNU sparse 1.0 volume tars): a 1 GiB
 * file holding 4 KiB of data in the middle comes back byte-identical and as sparse as on the source, by restore and
 * by migrate between two real daemons; through the engine's archive API it comes back identical but allocated.
 */
@ExtendWith(DockerHosts.class)
class SparseFilesIT {
  @TempDir
  Path tmp;

  private DockerDaemon a;
  private DockerDaemon b;
  private String sourceSum;
  private long sourceBlocks;

  @BeforeEach
  void setUp(DockerDaemon a, @DockerHosts.B DockerDaemon b) throws Exception {
    this.a = a;
    this.b = b;
    a.docker("volume", "create", "sparse-data");
    String dir = mountpoint(a, "sparse-data");
    sh("cd '" + dir + "' && truncate -s 1G disk.img && head -c 4096 /dev/urandom"
        + " | dd of=disk.img bs=4096 seek=131072 conv=notrunc status=none && printf x > small");
    sourceSum = sh("sha256sum '" + dir + "/disk.img' | cut -d' ' -f1");
    sourceBlocks = blocks(dir + "/disk.img");
    assertThat(sourceBlocks).as("the source file is sparse").isLessThan(64);
    a.docker("run", "-d", "--name", "sparse", "--network", "none", "-v", "sparse-data:/data", TestImages.BASE,
        "sleep", "100000");
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(b);
  }

  @ParameterizedTest(name = "writer {0}")
  @CsvSource({"auto", "archive"})
  void restore_sparseFile_identicalAndAsSparseAsTheSource(String writer) throws Exception {
    String repo = tmp.resolve("repo").toString();
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo, "sparse").exitCode()).isZero();

    Cli.Run r = Cli.run("restore", "-H", b.host(), "--repo", repo, "--volume-writer", writer, "sparse");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    String restored = mountpoint(b, "sparse-data") + "/disk.img";
    assertThat(sh("sha256sum '" + restored + "' | cut -d' ' -f1")).isEqualTo(sourceSum);
    assertThat(sh("stat -c %s '" + restored + "'")).isEqualTo(Long.toString(1L << 30));
    if (writer.equals("auto")) {
      // st_blocks counts 512-byte blocks: within 8 KiB of the source's allocation.
      assertThat(blocks(restored)).isBetween(sourceBlocks - 16, sourceBlocks + 16);
    } else {
      // The engine's archive API reads the GNU sparse entry (Go's archive/tar) but writes every byte: the holes
      // come back as allocated zeros (docs/archive.md).
      assertThat(blocks(restored)).isGreaterThan(1L << 20);
    }
  }

  @Test
  void migrate_sparseFile_identicalAndAsSparseAsTheSource() throws Exception {
    Cli.Run r = Cli.run("migrate", a.host(), b.host(), "sparse");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    String moved = mountpoint(b, "sparse-data") + "/disk.img";
    assertThat(sh("sha256sum '" + moved + "' | cut -d' ' -f1")).isEqualTo(sourceSum);
    assertThat(blocks(moved)).isBetween(sourceBlocks - 16, sourceBlocks + 16);
  }

  private static String mountpoint(DockerDaemon d, String volume) {
    return d.docker("volume", "inspect", "--format", "{{.Mountpoint}}", volume).strip();
  }

  private static long blocks(String path) throws Exception {
    return Long.parseLong(sh("stat -c %b '" + path + "'"));
  }

  private static String sh(String script) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(script + " failed: " + out);
    }
    return out.strip();
  }
}
