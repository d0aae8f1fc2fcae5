package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.cli.ExitCode;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.S3ProxyServer;
import io.jmigrate.testing.S3rverServer;
import io.jmigrate.testing.TestImages;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Tests for the S3 write check under the real commands, on s3rver over plain http (issue 9): with chunked signing
 * forced on, s3rver stores the aws-chunked framing and the backup fails with one line before it publishes; with
 * the default (auto) the same backup publishes a snapshot that verifies.
 */
@ExtendWith(DockerHosts.class)
class S3rverBackupIT {
  private static S3rverServer s3;

  @BeforeAll
  static void start() throws Exception {
    s3 = S3rverServer.startHttp();
    s3.createBucket("jm-s3rver");
    S3rverServer.useCredentials();
  }

  @AfterAll
  static void stop() throws Exception {
    S3ProxyServer.useCredentials(null, null);
    if (s3 != null) {
      s3.close();
    }
  }

  @AfterEach
  void clean() {
    DockerHosts.cleanAll(DockerHosts.hostA());
  }

  private static String[] args(String... a) {
    List<String> l = new ArrayList<>(List.of(a));
    l.addAll(List.of("--s3-endpoint", s3.endpoint(), "--s3-region", S3rverServer.REGION));
    return l.toArray(String[]::new);
  }

  @Test
  void backup_chunkedSigningOnToS3rverOverHttp_failsWithOneLineAndPublishesNothing(DockerDaemon a) throws Exception {
    String repo = "s3://jm-s3rver/framed";
    a.docker("run", "-d", "--name", "framed", "--network", "none", "-v", "framed-data:/data", TestImages.BASE, "sh",
        "-c", "head -c 300000 /dev/urandom > /data/r; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "framed", "/data/r");

    Cli.Run r = Cli.run(args("backup", "-H", a.host(), "--repo", repo, "--s3-chunked-signing", "on", "framed"));

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.REPOSITORY);
    assertThat(r.err()).contains(s3.endpoint() + " stored ").contains("aws-chunked framing")
        .contains("--s3-chunked-signing off").doesNotContain("published");
    assertThat(r.err().lines().filter(l -> l.startsWith("jmigrate:")).count()).as(r.err()).isEqualTo(1);
    assertThat(a.docker("inspect", "--format", "{{.State.Status}} {{.State.Paused}}", "framed").strip())
        .isEqualTo("running false");
    Cli.Run list = Cli.run(args("snapshots", "--repo", repo, "--json"));
    assertThat(list.exitCode()).as(list.toString()).isZero();
    assertThat(list.out().strip()).isEqualTo("[ ]");
  }

  @Test
  void backup_defaultChunkedSigningToS3rverOverHttp_publishesASnapshotThatVerifies(DockerDaemon a) throws Exception {
    String repo = "s3://jm-s3rver/plain";
    a.docker("run", "-d", "--name", "plain", "--network", "none", "-v", "plain-data:/data", TestImages.BASE, "sh",
        "-c", "head -c 300000 /dev/urandom > /data/r; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "plain", "/data/r");

    Cli.Run backup = Cli.run(args("backup", "-H", a.host(), "--repo", repo, "plain"));

    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    Cli.Run verify = Cli.run(args("verify", "--repo", repo));
    assertThat(verify.exitCode()).as(verify.toString()).isZero();
    assertThat(verify.err()).contains("1 snapshot(s) verified");
  }
}
