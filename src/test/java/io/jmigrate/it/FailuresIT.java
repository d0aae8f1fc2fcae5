package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.cli.ExitCode;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.TestImages;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for the failure paths of {@link io.jmigrate.cli.Main} backup, restore and verify against real engines: each
 * bad input gets one clear line, its exit code, and leaves the container running and nothing half-made behind.
 */
@ExtendWith(DockerHosts.class)
class FailuresIT {
  @TempDir
  Path tmp;

  private DockerDaemon a;
  private DockerDaemon b;
  private String repo;

  @BeforeEach
  void setUp(DockerDaemon a, @DockerHosts.B DockerDaemon b) {
    this.a = a;
    this.b = b;
    this.repo = tmp.resolve("repo").toString();
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(b);
  }

  @Test
  void backup_missingSocket_exitsEngineWithTheSocketNamed() {
    Cli.Run r = Cli.run("backup", "-H", "unix://" + tmp.resolve("nope.sock"), "--repo", repo, "web");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.ENGINE);
    assertThat(r.err()).contains("nope.sock").contains("cannot reach");
    assertThat(r.err().strip().lines()).hasSize(1);
  }

  @Test
  void backup_readOnlyRepository_exitsRepositoryAndLeavesTheContainerRunning() throws Exception {
    a.docker("run", "-d", "--name", "ro", "--network", "none", "-v", "ro-data:/data", TestImages.BASE, "sleep",
        "100000");
    Path ro = Files.createDirectories(tmp.resolve("ro"));
    mount("-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro.toString());
    try {
      Cli.Run r = Cli.run("backup", "-H", a.host(), "--repo", ro.resolve("repo").toString(), "ro");
      assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.REPOSITORY);
      assertThat(r.err()).contains(ro.resolve("repo").toString()).contains("--repo");
      assertThat(state(a, "ro")).isEqualTo("running");
    } finally {
      mount("-l", ro.toString());
    }
  }

  @Test
  void restoreAndVerify_flippedByteInAVolumeBlob_exitCorruptNamingBlobAndSnapshot() throws Exception {
    a.docker("run", "-d", "--name", "flip", "--network", "none", "-v", "flip-data:/data", TestImages.BASE, "sh", "-c",
        "head -c 3000000 /dev/urandom > /data/r; exec sleep 100000"); // larger than the base layer blob
    BackupRestoreIT.awaitFile(a, "flip", "/data/r");
    Cli.Run backup = Cli.run("backup", "-H", a.host(), "--repo", repo, "flip");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String id = backup.out().split(" ")[1];
    Path biggest = largestBlob();
    try (RandomAccessFile f = new RandomAccessFile(biggest.toFile(), "rw")) {
      f.seek(f.length() / 2);
      int x = f.read();
      f.seek(f.length() / 2);
      f.write(x ^ 0xff);
    }
    Cli.Run restore = Cli.run("restore", "-H", b.host(), "--repo", repo, id);
    assertThat(restore.exitCode()).as(restore.toString()).isEqualTo(ExitCode.CORRUPT);
    assertThat(restore.err()).contains("snapshot " + id).contains("corrupt");
    assertThat(b.docker("ps", "-aq").strip()).as("no half-created container on the target").isEmpty();
    assertThat(b.docker("volume", "ls", "-q").strip()).as("no half-filled volume on the target").isEmpty();

    Cli.Run verify = Cli.run("verify", "--repo", repo);
    assertThat(verify.exitCode()).isEqualTo(ExitCode.CORRUPT);
    assertThat(verify.out()).contains("CORRUPT  " + id).contains(biggest.getFileName().toString());
  }

  @Test
  void backup_repositoryDiskFills_exitsRepositoryInOnePlainLineAndLeavesNothingHalfWritten() throws Exception {
    a.docker("run", "-d", "--name", "full", "--network", "none", "-v", "full-data:/data", TestImages.BASE, "sh", "-c",
        "head -c 4000000 /dev/urandom > /data/r; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "full", "/data/r");
    Path small = Files.createDirectories(tmp.resolve("small"));
    mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", small.toString());
    try {
      Path full = small.resolve("repo");
      Cli.Run r = Cli.run("backup", "-H", a.host(), "--repo", full.toString(), "full");

      assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.REPOSITORY);
      assertThat(r.err()).as(r.toString()).contains("storing volume full-data at /data of container full: no space "
          + "left on device writing").contains(full.toString())
          .contains("free space").doesNotContain("cannot read");
      assertThat(r.err().lines().filter(l -> l.startsWith("jmigrate:")).count()).as(r.err()).isEqualTo(1);
      assertThat(state(a, "full")).isEqualTo("running");
      try (Stream<Path> left = Files.list(full.resolve("tmp"))) {
        assertThat(left).as("staged files left in the full repository").isEmpty();
      }
      assertThat(full.resolve("tags")).isEmptyDirectory();
    } finally {
      mount("-l", small.toString());
    }
  }

  @Test
  void restore_truncatedLayerBlob_exitsCorruptNamingTheLayerNotTheEngine() throws Exception {
    // 3 MB in the writable layer, none in a volume: the committed layer is the largest blob.
    a.docker("run", "-d", "--name", "cut", "--network", "none", TestImages.BASE, "sh", "-c",
        "head -c 3000000 /dev/urandom > /big; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "cut", "/big");
    Cli.Run backup = Cli.run("backup", "-H", a.host(), "--repo", repo, "cut");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String id = backup.out().split(" ")[1];
    Path biggest = largestBlob();
    try (RandomAccessFile f = new RandomAccessFile(biggest.toFile(), "rw")) {
      f.setLength(f.length() / 2);
    }

    Cli.Run restore = Cli.run("restore", "-H", b.host(), "--repo", repo, id);

    assertThat(restore.exitCode()).as(restore.toString()).isEqualTo(ExitCode.CORRUPT);
    assertThat(restore.err()).as(restore.toString()).contains("layer").contains(biggest.getFileName().toString())
        .contains("jmigrate verify " + id).doesNotContain("lost the connection").doesNotContain("dockerd");
    assertThat(restore.err().lines().filter(l -> l.startsWith("jmigrate:")).count()).as(restore.err()).isEqualTo(1);
    assertThat(b.docker("ps", "-aq").strip()).as("no half-created container on the target").isEmpty();
  }

  @Test
  void restore_unknownSnapshot_exitsNotFound() throws Exception {
    a.docker("run", "-d", "--name", "known", "--network", "none", TestImages.BASE, "sleep", "100000");
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo, "known").exitCode()).isZero();
    Cli.Run r = Cli.run("restore", "-H", b.host(), "--repo", repo, "unknown");
    assertThat(r.exitCode()).isEqualTo(ExitCode.NOT_FOUND);
    assertThat(r.err()).contains("no snapshot 'unknown'").contains("jmigrate snapshots");
  }

  @Test
  void backup_sigtermDuringVolumeExport_resumesContainerAndPublishesNothing() throws Exception {
    a.docker("run", "-d", "--name", "term", "--network", "none", "-v", "term-data:/data", TestImages.BASE, "sh", "-c",
        "i=0; while [ $i -lt 6 ]; do head -c 100000000 /dev/urandom > /data/f$i; i=$((i+1)); done; "
            + "touch /data/done; exec sleep 100000");
    for (int i = 0; i < 600 && a.run(null, "exec", "term", "test", "-f", "/data/done").exitCode != 0; i++) {
      Thread.sleep(500);
    }
    Process p = new ProcessBuilder(Cli.javaCommand("-Xmx128m", "backup", "-H", a.host(), "--repo", repo,
        "--volume-reader", "archive", "term")).redirectErrorStream(true).redirectOutput(tmp.resolve("out").toFile())
        .start();
    boolean paused = false;
    for (int i = 0; i < 600 && !paused; i++) {
      paused = "true".equals(a.docker("inspect", "--format", "{{.State.Paused}}", "term").strip());
      Thread.sleep(100);
    }
    assertThat(paused).as("the backup paused the container").isTrue();
    Thread.sleep(1500);
    p.destroy();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = Files.readString(tmp.resolve("out"));
    assertThat(p.exitValue()).as(out).isEqualTo(143);
    assertThat(a.docker("inspect", "--format", "{{.State.Status}} {{.State.Paused}}", "term").strip())
        .isEqualTo("running false");
    assertThat(out).contains("stopping: resume frozen containers");
    Cli.Run list = Cli.run("snapshots", "--repo", repo, "--json");
    assertThat(list.out().strip()).isEqualTo("[ ]");
    assertThat(a.docker("images", "-q", "jmigrate-tmp").strip()).as("temporary image removed").isEmpty();
    try (Stream<Path> staged = Files.list(Path.of(repo, "tmp"))) {
      assertThat(staged).as("no staged temp file outlives the process").isEmpty();
    }
  }

  private Path largestBlob() throws Exception {
    try (Stream<Path> s = Files.list(Path.of(repo, "blobs", "sha256"))) {
      return s.max((x, y) -> Long.compare(x.toFile().length(), y.toFile().length())).orElseThrow();
    }
  }

  private static String state(DockerDaemon d, String c) {
    return d.docker("inspect", "--format", "{{.State.Status}}", c).strip();
  }

  private static void mount(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(args[0].equals("-l") ? "umount" : "mount");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
  }
}
