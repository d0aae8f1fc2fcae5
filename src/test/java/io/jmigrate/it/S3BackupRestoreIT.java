package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.cli.ExitCode;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.S3ProxyServer;
import io.jmigrate.testing.TestImages;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for {@link io.jmigrate.store.S3Store} under the real commands: a full backup into S3 (S3Proxy on loopback),
 * a restore on a second daemon, an unchanged second backup that uploads nothing, and copy from local to S3.
 */
@ExtendWith(DockerHosts.class)
class S3BackupRestoreIT {
  private static S3ProxyServer s3;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() throws Exception {
    s3 = S3ProxyServer.start();
    s3.createBucket("jm-backups");
    S3ProxyServer.useCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY);
  }

  @AfterAll
  static void stop() throws Exception {
    if (s3 != null) {
      s3.close();
    }
  }

  @AfterEach
  void clean() {
    DockerHosts.cleanAll(DockerHosts.hostA());
    DockerHosts.cleanAll(DockerHosts.hostB());
  }

  private static List<String> args(String... a) {
    List<String> l = new ArrayList<>(List.of(a));
    l.addAll(List.of("--s3-endpoint", s3.endpoint(), "--s3-region", S3ProxyServer.REGION));
    return l;
  }

  @Test
  void backupToS3_thenRestoreOnSecondHost_andUnchangedBackupUploadsNothing(DockerDaemon a,
      @DockerHosts.B DockerDaemon b) throws Exception {
    String repo = "s3://jm-backups/nightly";
    a.docker("run", "-d", "--name", "s3web", "--network", "none", "-v", "s3-data:/data", TestImages.BASE, "sh", "-c",
        "head -c 2000000 /dev/urandom > /data/r; md5sum /data/r > /data/sum; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "s3web", "/data/sum");
    Cli.Run backup = Cli.run(args("backup", "-H", a.host(), "--repo", repo, "s3web").toArray(String[]::new));
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String id = backup.out().split(" ")[1];

    Cli.Run second = Cli.run(args("backup", "-H", a.host(), "--repo", repo, "s3web").toArray(String[]::new));
    assertThat(second.exitCode()).as(second.toString()).isZero();
    assertThat(second.err()).contains("0 B written");

    assertThat(Cli.run(args("verify", "--repo", repo).toArray(String[]::new)).exitCode()).isZero();
    a.docker("stop", "s3web");
    Cli.Run restore = Cli.run(args("restore", "-H", b.host(), "--repo", repo, id).toArray(String[]::new));
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(b.docker("exec", "s3web", "md5sum", "-c", "/data/sum").strip()).endsWith("OK");
  }

  @Test
  void backup_missingBucket_exitsNotFoundNamingIt(DockerDaemon a) {
    a.docker("run", "-d", "--name", "nob", "--network", "none", TestImages.BASE, "sleep", "100000");
    Cli.Run r = Cli.run(args("backup", "-H", a.host(), "--repo", "s3://no-such-bucket/x", "nob")
        .toArray(String[]::new));
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.NOT_FOUND);
    assertThat(r.err()).contains("no-such-bucket");
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "nob").strip()).isEqualTo("running");
  }

  @Test
  void backup_wrongCredentials_exitsRepositoryAndResumes(DockerDaemon a) {
    a.docker("run", "-d", "--name", "cred", "--network", "none", TestImages.BASE, "sleep", "100000");
    S3ProxyServer.useCredentials(S3ProxyServer.ACCESS_KEY, "not-the-secret");
    try {
      Cli.Run r = Cli.run(args("backup", "-H", a.host(), "--repo", "s3://jm-backups/x", "cred").toArray(String[]::new));
      assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.REPOSITORY);
      assertThat(r.err()).contains("jm-backups").contains("credentials").doesNotContain("not-the-secret");
    } finally {
      S3ProxyServer.useCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY);
    }
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "cred").strip()).isEqualTo("running");
  }

  @Test
  void copy_localToS3_thenVerify(DockerDaemon a) throws Exception {
    String local = tmp.resolve("local").toString();
    a.docker("run", "-d", "--name", "cp", "--network", "none", "-v", "cp-data:/data", TestImages.BASE, "sh", "-c",
        "echo x > /data/x; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "cp", "/data/x");
    Cli.Run backup = Cli.run("backup", "-H", a.host(), "--repo", local, "cp");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String id = backup.out().split(" ")[1];
    Cli.Run copy = Cli.run(args("copy", "--from", local, "--to", "s3://jm-backups/offsite").toArray(String[]::new));
    assertThat(copy.exitCode()).as(copy.toString()).isZero();
    Cli.Run list = Cli.run(args("snapshots", "--repo", "s3://jm-backups/offsite", "--json").toArray(String[]::new));
    assertThat(list.out()).contains(id);
    assertThat(Cli.run(args("verify", "--repo", "s3://jm-backups/offsite").toArray(String[]::new)).exitCode())
        .isZero();
  }
}
