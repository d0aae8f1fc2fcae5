package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.cli.ExitCode;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.SshServer;
import io.jmigrate.testing.TestImages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for {@code jmigrate migrate} to an {@code ssh://} target, through a private sshd on 127.0.0.1 that forwards
 * host B's socket ({@link SshServer}); jmigrate runs as a process so that its ssh command comes from
 * {@code JMIGRATE_SSH_COMMAND}.
 */
@ExtendWith(DockerHosts.class)
class MigrateSshIT {
  private static final String IMAGE = "jmigrate-test/migrate-ssh:1";
  private static SshServer sshd;

  @TempDir
  Path tmp;

  private DockerDaemon a;
  private DockerDaemon b;

  @BeforeAll
  static void startSshd() {
    sshd = SshServer.start();
  }

  @AfterAll
  static void stopSshd() {
    if (sshd != null) {
      sshd.close();
    }
  }

  @BeforeEach
  void setUp(DockerDaemon a, @DockerHosts.B DockerDaemon b) {
    this.a = a;
    this.b = b;
    TestImages.derived(a, IMAGE, "mkdir -p /data");
    a.docker("run", "-d", "--name", "remote", "--network", "none", "--stop-timeout", "1", "-v", "remote-data:/data",
        IMAGE, "sh", "-c", "trap 'exit 0' TERM; echo over-ssh > /data/f; touch /ready; "
            + "while :; do sleep 0.2; done");
    try {
      BackupRestoreIT.awaitFile(a, "remote", "/ready");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(b);
  }

  @Test
  void migrate_toAnSshTarget_movesThroughTheTunnel() throws Exception {
    Cli.Run r = jmigrate(sshd.sshCommand(sshd.userKey(), true), a.host(), sshd.url(b.socket()), "remote");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.err()).contains("moved remote from " + a.host() + " to " + sshd.url(b.socket()))
        .contains("remote: volume remote-data sent: ");
    assertThat(b.docker("exec", "remote", "cat", "/data/f").strip()).isEqualTo("over-ssh");
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "remote").strip()).isEqualTo("exited");
  }

  @Test
  void migrate_keyNotAuthorized_exitsEngineNamingTheKeyProblem() throws Exception {
    String startedAt = MigrateIT.startedAt(a, "remote");
    Cli.Run r = jmigrate(sshd.sshCommand(sshd.otherKey(), true), a.host(), sshd.url(b.socket()), "remote");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.ENGINE);
    assertThat(r.err()).contains("cannot reach the Docker engine at " + sshd.url(b.socket()) + ": ssh: ")
        .contains("Permission denied (publickey)").contains("check the key/agent");
    assertThat(MigrateIT.startedAt(a, "remote")).as("the source was not touched").isEqualTo(startedAt);
  }

  @Test
  void migrate_unknownHostKey_exitsEngineSayingAddItToKnownHosts() throws Exception {
    String startedAt = MigrateIT.startedAt(a, "remote");
    Cli.Run r = jmigrate(sshd.sshCommand(sshd.userKey(), false), a.host(), sshd.url(b.socket()), "remote");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.ENGINE);
    assertThat(r.err()).contains("ssh: Host key verification failed; add the host key to known_hosts");
    assertThat(MigrateIT.startedAt(a, "remote")).isEqualTo(startedAt);
  }

  @Test
  void migrate_missingRemoteSocket_exitsEngineNamingThePath() throws Exception {
    String startedAt = MigrateIT.startedAt(a, "remote");
    Path missing = Path.of("/tmp/jm-migrate-no-such-dir/docker.sock");
    Cli.Run r = jmigrate(sshd.sshCommand(sshd.userKey(), true), a.host(), sshd.url(missing), "remote");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.ENGINE);
    assertThat(r.err()).contains("the remote engine socket " + missing + " cannot be opened")
        .contains("is dockerd running there?");
    assertThat(MigrateIT.startedAt(a, "remote")).isEqualTo(startedAt);
  }

  /** Runs the jar with JMIGRATE_SSH_COMMAND set, as an operator's ssh config would be. */
  private Cli.Run jmigrate(String sshCommand, String... args) throws Exception {
    String[] full = new String[args.length + 1];
    full[0] = "migrate";
    System.arraycopy(args, 0, full, 1, args.length);
    Path out = tmp.resolve("out.txt");
    Path err = tmp.resolve("err.txt");
    ProcessBuilder pb = new ProcessBuilder(Cli.javaCommand("-Xmx128m", full))
        .redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().put("JMIGRATE_SSH_COMMAND", sshCommand);
    Process p = pb.start();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("jmigrate did not finish in 5 minutes: " + Files.readString(err));
    }
    return new Cli.Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }
}
