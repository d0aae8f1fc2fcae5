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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for {@link io.jmigrate.migrate.MigrationRunner}'s rollback: a failure after the source stopped (the
 * target daemon killed in the middle of the final load) and SIGTERM to a running {@code jmigrate migrate} both
 * leave the source running again and the target as it was.
 */
@ExtendWith(DockerHosts.class)
class MigrateFailureIT {
  private static final String IMAGE = "jmigrate-test/migrate-fail:1";

  @TempDir
  Path tmp;

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll();
  }

  @Test
  void migrate_targetKilledDuringTheFinalLoad_sourceRunsAgainAndTargetIsClean(DockerDaemon a) throws Exception {
    TestImages.derived(a, IMAGE, "mkdir -p /data");
    // 100 MB in the writable layer, and a stamp rewritten every 100 ms: the final commit always differs from the
    // pre-copied one, so the final pass loads a new 100 MB top layer while the source is stopped.
    a.docker("run", "-d", "--name", "victim", "--network", "none", "--stop-timeout", "1", "-v", "victim-data:/data",
        IMAGE, "sh", "-c", "trap 'exit 0' TERM; [ -f /big ] || head -c 104857600 /dev/urandom > /big; "
            + "echo v > /data/v; touch /ready; while :; do date > /stamp; sleep 0.1; done");
    BackupRestoreIT.awaitFile(a, "victim", "/ready");
    String startedBefore = MigrateIT.startedAt(a, "victim");
    try (DockerDaemon t = DockerHosts.startExtra("mt")) {
      String imagesBefore = images(t);
      CompletableFuture<Cli.Run> run = CompletableFuture.supplyAsync(
          () -> Cli.run("migrate", a.host(), t.host(), "--cleanup-timeout", "180", "victim"));
      await("the source to stop", 120, () -> !running(a, "victim"));
      // The engine extracts an upload into <data-root>/tmp/docker-import-* as it arrives.
      await("the final load to start on the target", 60, () -> importing(t) || run.isDone());
      assertThat(run.isDone()).as("the migration must still be loading").isFalse();
      t.kill();
      // The rollback tries the target first (it is down: "cannot clean up ... yet"), then starts the source, then
      // retries the target. Bring the target back only once the source runs again: a fixed pause let a slow
      // rollback find the target already back under load (the clean-up then never had to wait).
      await("the rollback to start the source again while the target is down", 180, () -> running(a, "victim"));
      t.restart();

      Cli.Run r = run.get(5, TimeUnit.MINUTES);
      assertThat(r.exitCode()).as(r.toString()).isNotZero();
      assertThat(r.err()).contains("migration of victim from " + a.host() + " to " + t.host() + " failed")
          .contains("rolled back: the source was started again")
          .contains("cannot clean up " + t.host() + " yet");
      assertThat(running(a, "victim")).as("the source runs again").isTrue();
      assertThat(MigrateIT.startedAt(a, "victim")).isNotEqualTo(startedBefore);
      assertThat(t.docker("ps", "-aq")).as("no container left on the target").isEmpty();
      assertThat(t.docker("volume", "ls", "-q")).as("no volume left on the target").isEmpty();
      assertThat(images(t)).as("no image left on the target").isEqualTo(imagesBefore);
      assertThat(a.docker("images", "-q", "jmigrate-tmp")).as("temporary images removed on the source").isEmpty();
    }
  }

  @Test
  void migrate_sigtermWhileTheCloneStarts_rollsBack(DockerDaemon a, @DockerHosts.B DockerDaemon b)
      throws Exception {
    TestImages.derived(a, IMAGE, "mkdir -p /data");
    a.docker("network", "create", "slownet");
    // Healthy only 60 s after each start: the clone on B waits long enough for the signal to arrive.
    a.docker("run", "-d", "--name", "slow", "--network", "slownet", "--stop-timeout", "1", "-v", "slow-data:/data",
        "--health-cmd", "test -f /tmp/ready", "--health-interval", "1s", IMAGE, "sh", "-c",
        "trap 'exit 0' TERM; echo v > /data/v; (sleep 60; touch /tmp/ready) & while :; do sleep 0.2; done");
    BackupRestoreIT.awaitFile(a, "slow", "/data/v");
    String imagesBefore = images(b);
    Path out = tmp.resolve("out.txt");
    Path err = tmp.resolve("err.txt");
    Process p = new ProcessBuilder(Cli.javaCommand("-Xmx128m", "migrate", a.host(), b.host(), "slow"))
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    try {
      await("the clone to run on the target", 180, () -> running(b, "slow") || !p.isAlive());
      assertThat(p.isAlive()).as(read(err)).isTrue();
      assertThat(running(a, "slow")).as("the source is stopped while the clone starts").isFalse();

      p.destroy();
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("jmigrate ends after SIGTERM").isTrue();
    } finally {
      p.destroyForcibly();
    }
    assertThat(p.exitValue()).as(read(err)).isEqualTo(143);
    assertThat(read(err)).contains("jmigrate: stopping: roll back the migration to " + b.host());
    assertThat(running(a, "slow")).as("the source runs again").isTrue();
    assertThat(b.docker("ps", "-aq")).as("no container left on the target").isEmpty();
    assertThat(b.docker("volume", "ls", "-q")).isEmpty();
    assertThat(b.run(null, "network", "inspect", "slownet").exitCode).as("network removed").isNotZero();
    assertThat(images(b)).isEqualTo(imagesBefore);
    assertThat(a.docker("images", "-q", "jmigrate-tmp")).isEmpty();
  }

  private static boolean running(DockerDaemon d, String container) {
    DockerDaemon.Result r = d.run(null, "inspect", "--format", "{{.State.Running}}", container);
    return r.exitCode == 0 && r.stdout.strip().equals("true");
  }

  private static boolean importing(DockerDaemon d) {
    try (Stream<Path> s = Files.list(d.dataRoot().resolve("tmp"))) {
      return s.anyMatch(f -> f.getFileName().toString().startsWith("docker-import-"));
    } catch (IOException e) {
      return false;
    }
  }

  private static String images(DockerDaemon d) {
    return String.join(" ", d.docker("images", "-aq", "--no-trunc").lines().sorted().toList());
  }

  private static String read(Path p) throws IOException {
    return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
  }

  private static void await(String what, int seconds, BooleanSupplier done) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }
}
