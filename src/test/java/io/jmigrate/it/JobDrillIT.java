package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.cli.ExitCode;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.Fidelity;
import io.jmigrate.testing.TestImages;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@code jmigrate drill} ({@link io.jmigrate.job.Drill}) against real private daemons. */
@ExtendWith(DockerHosts.class)
class JobDrillIT {
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

  /** Everything on a host a drill could leave behind. */
  private static List<String> inventory(DockerDaemon d) {
    return List.of(sorted(d.docker("ps", "-a", "--format", "{{.Names}} {{.Status}}").replaceAll("Up [^\\n]*", "Up")),
        sorted(d.docker("volume", "ls", "--format", "{{.Name}}")),
        sorted(d.docker("images", "-a", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")),
        sorted(d.docker("network", "ls", "--format", "{{.Name}}")));
  }

  private static String sorted(String lines) {
    return String.join("\n", new TreeSet<>(Arrays.asList(lines.split("\n"))));
  }

  @Test
  void drill_healthyClone_passesWithoutTouchingTheOriginalAndLeavesNothing() throws Exception {
    a.docker("network", "create", "appnet");
    a.docker("run", "-d", "--name", "web", "--network", "appnet", "--network-alias", "web", "-p",
        "127.0.0.1:" + Fidelity.freePort() + ":80", "-v", "webdata:/data", "--restart", "always",
        "--health-cmd", "test -f /data/value", "--health-interval", "1s", TestImages.BASE, "sh", "-c",
        "echo 42 > /data/value; exec sleep 100000");
    JobTesting.awaitHealthy(a, "web");
    Cli.Run backup = Cli.run("backup", "-H", a.host(), "--repo", repo, "web");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String id = backup.out().split("\\s+")[1];
    String startedAt = a.docker("inspect", "--format", "{{.State.StartedAt}}", "web");
    List<String> before = inventory(a);

    // The check writes into the clone's volume: the original's must not change.
    Cli.Run drill = Cli.run("drill", "web", "-H", a.host(), "--repo", repo, "--timeout", "60", "--check",
        "test \"$(cat /data/value)\" = 42 && echo changed > /data/value && ! ping -c1 -W1 web");

    assertThat(drill.exitCode()).as(drill.toString()).isZero();
    assertThat(drill.out()).startsWith("PASS web " + id + " as web-drill-" + id + " healthy restore ")
        .contains(" check ").contains(" cleanup ").contains(" total ");
    assertThat(inventory(a)).isEqualTo(before);
    assertThat(a.docker("exec", "web", "cat", "/data/value").strip()).isEqualTo("42");
    assertThat(a.docker("inspect", "--format", "{{.State.StartedAt}}", "web")).isEqualTo(startedAt);
  }

  @Test
  void drill_onAnotherHost_loadsTheImageAndRemovesItAfterwards() throws Exception {
    a.docker("run", "-d", "--name", "app", "--network", "none", "-v", "appdata:/data", TestImages.BASE, "sh", "-c",
        "echo hi > /data/f; exec sleep 100000");
    JobTesting.awaitFile(a, "app", "/data/f");
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo, "app").exitCode()).isZero();
    List<String> before = inventory(b);

    Cli.Run drill = Cli.run("drill", "app", "-H", b.host(), "--repo", repo, "--check", "grep -q hi /data/f");

    assertThat(drill.exitCode()).as(drill.toString()).isZero();
    assertThat(drill.out()).startsWith("PASS app ").contains(" running ");
    assertThat(inventory(b)).isEqualTo(before);
  }

  @Test
  void drill_healthcheckThatNeverTurnsHealthy_failsAndCleansUp() throws Exception {
    // Healthy only after a file appears on a tmpfs: tmpfs is not part of a snapshot, so the clone never gets it.
    a.docker("run", "-d", "--name", "flaky", "--network", "none", "--tmpfs", "/run", "-v", "flakydata:/data",
        "--health-cmd", "test -f /run/ready", "--health-interval", "1s", "--health-retries", "3", TestImages.BASE,
        "sleep", "100000");
    a.docker("exec", "flaky", "touch", "/run/ready");
    JobTesting.awaitHealthy(a, "flaky");
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo, "flaky").exitCode()).isZero();
    List<String> before = inventory(a);

    Cli.Run drill = Cli.run("drill", "flaky", "-H", a.host(), "--repo", repo, "--timeout", "30");

    assertThat(drill.exitCode()).as(drill.toString()).isEqualTo(ExitCode.DRILL_FAILED);
    assertThat(drill.out()).startsWith("FAIL flaky ");
    assertThat(drill.err()).contains("drill of flaky").containsPattern("unhealthy|did not become healthy");
    assertThat(inventory(a)).isEqualTo(before);
    assertThat(JobTesting.state(a, "flaky")).isEqualTo("running");
  }

  @Test
  void drill_sigtermWhileWaitingForTheClone_removesEverythingItCreated() throws Exception {
    a.docker("run", "-d", "--name", "slow", "--network", "none", "--tmpfs", "/run", "-v", "slowdata:/data",
        "--health-cmd", "test -f /run/ready", "--health-interval", "1s", "--health-retries", "1000", TestImages.BASE,
        "sleep", "100000");
    a.docker("exec", "slow", "touch", "/run/ready");
    JobTesting.awaitHealthy(a, "slow");
    Cli.Run backup = Cli.run("backup", "-H", a.host(), "--repo", repo, "slow");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String clone = "slow-drill-" + backup.out().split("\\s+")[1];
    List<String> before = inventory(a);

    Process p = new ProcessBuilder(Cli.javaCommand("-Xmx256m", "drill", "slow", "-H", a.host(), "--repo", repo,
        "--timeout", "600")).redirectErrorStream(true).redirectOutput(tmp.resolve("drill.log").toFile()).start();
    try {
      // The clone is up but never turns healthy: the drill waits for it.
      for (int i = 0; i < 1200 && a.run(null, "inspect", clone).exitCode != 0; i++) {
        Thread.sleep(50);
      }
      assertThat(a.run(null, "inspect", clone).exitCode).as(java.nio.file.Files.readString(tmp.resolve("drill.log")))
          .isZero();
      p.destroy(); // SIGTERM
      assertThat(p.waitFor(2, java.util.concurrent.TimeUnit.MINUTES)).isTrue();
    } finally {
      p.destroyForcibly();
    }
    assertThat(p.exitValue()).isEqualTo(143);
    assertThat(inventory(a)).as(java.nio.file.Files.readString(tmp.resolve("drill.log"))).isEqualTo(before);
  }

  @Test
  void drill_checkCommandFails_exitsDrillFailedWithItsOutput() throws Exception {
    a.docker("run", "-d", "--name", "svc", "--network", "none", TestImages.BASE, "sleep", "100000");
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo, "svc").exitCode()).isZero();
    List<String> before = inventory(a);

    Cli.Run drill = Cli.run("drill", "svc", "-H", a.host(), "--repo", repo, "--check",
        "echo missing-table; exit 2");

    assertThat(drill.exitCode()).as(drill.toString()).isEqualTo(ExitCode.DRILL_FAILED);
    assertThat(drill.err()).contains("failed with exit code 2").contains("missing-table")
        .contains("; fix the --check command, or leave out --check").doesNotContain("on-error");
    assertThat(inventory(a)).isEqualTo(before);

    Cli.Run unknown = Cli.run("drill", "nothing-like-it", "-H", a.host(), "--repo", repo);
    assertThat(unknown.exitCode()).isEqualTo(ExitCode.NOT_FOUND);
  }
}
