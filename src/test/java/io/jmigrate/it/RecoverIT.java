package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.TestImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
 * Tests for {@link io.jmigrate.backup.RecoveryJournal} and {@code jmigrate recover} (issue 9, Faults): a backup
 * killed with SIGKILL inside its freeze left the container paused and a temporary image behind, and the next
 * backup recorded the container as "paused". Now the next command undoes both, saying so.
 */
@ExtendWith(DockerHosts.class)
class RecoverIT {
  @TempDir
  Path tmp;

  private DockerDaemon a;
  private Path state;
  private String repo;

  @BeforeEach
  void setUp(DockerDaemon a) {
    this.a = a;
    this.state = tmp.resolve("state");
    this.repo = tmp.resolve("repo").toString();
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(DockerHosts.hostB());
  }

  @Test
  void sigkillInMigratesDowntime_recoverStartsTheSourceAgainAndRemovesItsImages(@DockerHosts.B DockerDaemon b)
      throws Exception {
    a.docker("run", "-d", "--name", "mover", "--network", "none", "--stop-timeout", "1", "-v", "mover-data:/data",
        TestImages.BASE, "sh", "-c", "trap 'exit 0' TERM; head -c 20000000 /dev/urandom > /data/r; touch /data/done;"
            + " while :; do sleep 0.2; done");
    BackupRestoreIT.awaitFile(a, "mover", "/data/done");
    Path log = tmp.resolve("migrate.log");
    ProcessBuilder pb = new ProcessBuilder(Cli.javaCommand("-Xmx128m", "migrate", a.host(), b.host(), "mover"))
        .redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("JMIGRATE_STATE_DIR", state.toString());
    Process p = pb.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (!read(log).contains("downtime starts")) {
        assertThat(p.isAlive()).as(read(log)).isTrue();
        assertThat(System.nanoTime()).as("no downtime in 180 s: " + read(log)).isLessThan(deadline);
        Thread.sleep(5);
      }
    } finally {
      p.destroyForcibly(); // SIGKILL, in the downtime: the source is stopped
      p.waitFor(60, TimeUnit.SECONDS);
    }
    assertThat(a.docker("inspect", "--format", "{{.State.Running}}", "mover").strip()).isEqualTo("false");

    Run recover = jmigrate("recover", "-H", a.host());

    assertThat(recover.exit).as(recover.log).isZero();
    assertThat(recover.log).contains("started container mover on " + a.host() + " again");
    assertThat(a.docker("inspect", "--format", "{{.State.Running}}", "mover").strip()).isEqualTo("true");
    assertThat(a.docker("images", "-q", "jmigrate-tmp")).isEmpty();
    assertThat(records()).isEmpty();
  }

  @Test
  void sigkillInsideTheFreeze_recoverResumesTheContainerAndRemovesTheImage_thenNothingToDo() throws Exception {
    container();
    killInsideTheFreeze();
    assertThat(paused()).as("SIGKILL cannot be caught: the container stays paused").isTrue();

    Run recover = jmigrate("recover", "-H", a.host());

    assertThat(recover.exit).as(recover.log).isZero();
    assertThat(recover.log).contains("unpaused container slow on " + a.host())
        .contains("a jmigrate that was killed (pid ");
    assertThat(paused()).isFalse();
    assertThat(a.docker("inspect", "--format", "{{.State.Running}}", "slow").strip()).isEqualTo("true");
    assertThat(a.docker("images", "-q", "jmigrate-tmp")).isEmpty();
    assertThat(records()).isEmpty();
    Run again = jmigrate("recover", "-H", a.host());
    assertThat(again.exit).isZero();
    assertThat(again.log).contains("nothing to recover on " + a.host());
  }

  @Test
  void sigkillInsideTheFreeze_nextBackupRecoversFirstAndRecordsItsOwnPause() throws Exception {
    container();
    killInsideTheFreeze();

    Run backup = jmigrate("backup", "-H", a.host(), "--repo", repo, "slow");

    assertThat(backup.exit).as(backup.log).isZero();
    assertThat(backup.log).contains("recovered: unpaused container slow");
    assertThat(paused()).isFalse();
    assertThat(a.docker("images", "-q", "jmigrate-tmp")).isEmpty();
    Run list = jmigrate("snapshots", "--repo", repo, "--json");
    assertThat(list.log).contains("\"consistency\" : \"pause\"").doesNotContain("\"paused\"");
    assertThat(records()).isEmpty();
  }

  private void container() throws Exception {
    // 100 MB to read while frozen: the freeze lasts far longer than the test takes to send SIGKILL after "paused".
    a.docker("run", "-d", "--name", "slow", "--network", "none", "-v", "slow-data:/data", TestImages.BASE, "sh",
        "-c", "head -c 100000000 /dev/urandom > /data/r; touch /data/done; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "slow", "/data/done");
  }

  /** Starts a backup and kills it with SIGKILL as soon as it says it paused the container. */
  private void killInsideTheFreeze() throws Exception {
    Path log = tmp.resolve("killed.log");
    ProcessBuilder pb = new ProcessBuilder(Cli.javaCommand("-Xmx128m", "backup", "-H", a.host(), "--repo", repo,
        "slow")).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("JMIGRATE_STATE_DIR", state.toString());
    Process p = pb.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (!read(log).contains("paused slow")) {
        assertThat(p.isAlive()).as(read(log)).isTrue();
        assertThat(System.nanoTime()).as("backup did not pause slow in 120 s: " + read(log)).isLessThan(deadline);
        Thread.sleep(5);
      }
    } finally {
      p.destroyForcibly(); // SIGKILL
      p.waitFor(60, TimeUnit.SECONDS);
    }
    assertThat(records()).as("the killed backup's recovery record").hasSize(1);
  }

  private boolean paused() {
    return a.docker("inspect", "--format", "{{.State.Paused}}", "slow").strip().equals("true");
  }

  private List<Path> records() throws IOException {
    Path dir = state.resolve("recovery");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(f -> f.getFileName().toString().endsWith(".json")).toList();
    }
  }

  private record Run(int exit, String log) {}

  private Run jmigrate(String... args) throws Exception {
    Path log = Files.createTempFile(tmp, "jm", ".log");
    ProcessBuilder pb = new ProcessBuilder(Cli.javaCommand("-Xmx128m", args)).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().put("JMIGRATE_STATE_DIR", state.toString());
    Process p = pb.start();
    assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
    return new Run(p.exitValue(), read(log));
  }

  private static String read(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
  }
}
