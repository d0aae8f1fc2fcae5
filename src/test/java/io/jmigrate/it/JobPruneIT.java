package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.cli.ExitCode;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.RegistryServer;
import io.jmigrate.testing.S3ProxyServer;
import io.jmigrate.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@code jmigrate prune} ({@link io.jmigrate.job.Pruner}) end to end, against real private daemons. */
@ExtendWith(DockerHosts.class)
class JobPruneIT {
  @TempDir
  Path tmp;

  private DockerDaemon a;
  private DockerDaemon b;
  private Path repo;

  @BeforeEach
  void setUp(DockerDaemon a, @DockerHosts.B DockerDaemon b) {
    this.a = a;
    this.b = b;
    this.repo = tmp.resolve("repo");
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(b);
  }

  private void backup(String container, String data) throws Exception {
    a.docker("exec", container, "sh", "-c", "echo " + data + " > /data/value");
    Cli.Run r = Cli.run("backup", "-H", a.host(), "--repo", repo.toString(), container);
    assertThat(r.exitCode()).as(r.toString()).isZero();
  }

  @Test
  void prune_keepLastFromFlagsAndFromTheJob_forgetsPerContainerAndFreesTheirBlobs() throws Exception {
    for (String c : List.of("web", "db")) {
      a.docker("run", "-d", "--name", c, "--network", "none", "-v", c + "-data:/data", TestImages.BASE, "sleep",
          "100000");
    }
    for (int i = 1; i <= 3; i++) {
      backup("web", "web-" + i);
      backup("db", "db-" + i);
    }
    assertThat(JobTesting.tags(repo)).hasSize(6);
    List<String> blobsBefore = JobTesting.blobs(repo);

    Cli.Run dry = Cli.run("prune", "--repo", repo.toString(), "--keep-last", "2", "--gc-grace", "0s", "--dry-run");
    assertThat(dry.exitCode()).as(dry.toString()).isZero();
    assertThat(dry.out()).contains("would forget").contains("2 snapshot(s) to forget, 4 kept").contains("would delete");
    assertThat(JobTesting.tags(repo)).hasSize(6);
    assertThat(JobTesting.blobs(repo)).isEqualTo(blobsBefore);

    Cli.Run flags = Cli.run("prune", "--repo", repo.toString(), "--keep-last", "2", "--gc-grace", "0s");
    assertThat(flags.exitCode()).as(flags.toString()).isZero();
    assertThat(flags.out()).contains("2 snapshot(s) forgotten, 4 kept").containsPattern("deleted \\d+ unreferenced blob");
    assertThat(JobTesting.tags(repo)).hasSize(4);
    assertThat(JobTesting.blobs(repo).size()).isLessThan(blobsBefore.size());

    // The job covers web only, and keeps 1.
    Path cfg = JobTesting.writeConfig(tmp, "jobs:\n  web:\n    host: " + a.host() + "\n    containers: [web]\n"
        + "    repository: " + repo + "\n    retention: {keep-last: 1}\n");
    Cli.Run job = Cli.run("prune", "--config", cfg.toString(), "--gc-grace", "0s", "web");
    assertThat(job.exitCode()).as(job.toString()).isZero();
    assertThat(job.out()).contains("forgot").contains(" web ").contains("job web (keep-last 1)");
    Cli.Run list = Cli.run("snapshots", "--repo", repo.toString());
    assertThat(list.out().lines().filter(l -> l.contains(" web ")).count()).isEqualTo(1);
    assertThat(list.out().lines().filter(l -> l.contains(" db ")).count()).isEqualTo(2);
    assertThat(Cli.run("verify", "--repo", repo.toString()).exitCode()).isZero();

    // The newest snapshot of web still restores, with the newest data.
    Cli.Run restore = Cli.run("restore", "-H", b.host(), "--repo", repo.toString(), "web");
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(b.docker("exec", "web", "cat", "/data/value").strip()).isEqualTo("web-3");
  }

  @Test
  void prune_whileABackupOfALargeVolumeIsInFlight_losesNothingAndTheNewSnapshotRestores() throws Exception {
    a.docker("run", "-d", "--name", "big", "--network", "none", "-v", "big-data:/data", TestImages.BASE, "sh", "-c",
        "[ -f /data/value ] || echo old > /data/value; exec sleep 100000");
    JobTesting.awaitFile(a, "big", "/data/value");
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo.toString(), "big").exitCode()).isZero();
    // 256 MiB of random data, so the next backup runs for a while.
    a.docker("exec", "big", "sh", "-c", "head -c 268435456 /dev/urandom > /data/big; echo new > /data/value; "
        + "md5sum /data/big > /data/big.md5");
    String md5 = a.docker("exec", "big", "cat", "/data/big.md5").strip();

    // The backup runs as its own process, holding the repository's shared lock.
    String backupLog = "";
    Process backup = new ProcessBuilder(Cli.javaCommand("-Xmx256m", "backup", "-H", a.host(), "--repo",
        repo.toString(), "big")).redirectErrorStream(true).redirectOutput(tmp.resolve("backup.log").toFile()).start();
    try {
      awaitSharedHolder();
      assertThat(backup.isAlive()).as("the backup is still in flight").isTrue();

      Cli.Run refused = Cli.run("prune", "--repo", repo.toString(), "--keep-last", "1", "--gc-grace", "0s");
      assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCode.LOCKED);
      assertThat(refused.err()).contains("is locked by jmigrate").contains("backup").contains("(shared)");

      // Waiting for the lock: prune runs once the backup has published, and keeps its snapshot.
      Cli.Run waited = Cli.run("prune", "--repo", repo.toString(), "--keep-last", "1", "--gc-grace", "0s",
          "--lock-wait", "600");
      assertThat(waited.exitCode()).as(waited.toString()).isZero();
      assertThat(backup.waitFor(10, TimeUnit.MINUTES)).isTrue();
      assertThat(backup.exitValue()).as(Files.readString(tmp.resolve("backup.log"))).isZero();
      assertThat(waited.out()).contains("1 snapshot(s) forgotten, 1 kept");
      backupLog = Files.readString(tmp.resolve("backup.log")) + "\n" + waited;
    } finally {
      backup.destroyForcibly();
    }
    assertThat(JobTesting.tags(repo)).hasSize(1);
    String kept = Cli.run("snapshots", "--repo", repo.toString()).out();
    Cli.Run verify = Cli.run("verify", "--repo", repo.toString());
    assertThat(verify.exitCode()).as(verify.toString()).isZero();
    Cli.Run restore = Cli.run("restore", "-H", b.host(), "--repo", repo.toString(), "big");
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(b.docker("exec", "big", "cat", "/data/value").strip()).as(kept + "\n" + backupLog).isEqualTo("new");
    assertThat(b.docker("exec", "big", "md5sum", "/data/big").strip()).isEqualTo(md5);
  }

  private void awaitSharedHolder() throws Exception {
    Path locks = repo.resolve("locks");
    for (int i = 0; i < 600; i++) {
      if (Files.isDirectory(locks)) {
        try (var s = Files.list(locks)) {
          for (Path p : s.filter(f -> f.getFileName().toString().startsWith("holder-")).toList()) {
            try {
              if (Files.readString(p).contains("SHARED")) {
                return;
              }
            } catch (java.nio.file.NoSuchFileException gone) {
              // released meanwhile
            }
          }
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError("the backup never took the repository lock");
  }

  @Test
  void prune_s3AndRegistryRepositories_forgetEverywhereAndCollectWhereTheStoreCan() throws Exception {
    a.docker("run", "-d", "--name", "web", "--network", "none", "-v", "web-data:/data", TestImages.BASE, "sleep",
        "100000");
    S3ProxyServer s3 = S3ProxyServer.start();
    RegistryServer registry = RegistryServer.start();
    try {
      s3.createBucket("jm-prune");
      S3ProxyServer.useCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY);
      String bucket = "s3://jm-prune/jobs";
      String oci = registry.url("jobs/prune");
      List<String> s3Opts = List.of("--s3-endpoint", s3.endpoint(), "--s3-region", S3ProxyServer.REGION);
      for (int i = 1; i <= 2; i++) {
        a.docker("exec", "web", "sh", "-c", "head -c 100000 /dev/urandom > /data/r" + i);
        for (String r : List.of(bucket, oci)) {
          Cli.Run b = Cli.run(with(s3Opts, "backup", "-H", a.host(), "--repo", r, "web"));
          assertThat(b.exitCode()).as(b.toString()).isZero();
        }
        Thread.sleep(1100);
      }

      Cli.Run onS3 = Cli.run(with(s3Opts, "prune", "--repo", bucket, "--keep-last", "1", "--gc-grace", "0s"));
      assertThat(onS3.exitCode()).as(onS3.toString()).isZero();
      assertThat(onS3.out()).contains("1 snapshot(s) forgotten, 1 kept").containsPattern("deleted [1-9]\\d* unref");
      assertThat(Cli.run(with(s3Opts, "verify", "--repo", bucket)).exitCode()).isZero();

      Cli.Run onRegistry = Cli.run("prune", "--repo", oci, "--keep-last", "1", "--gc-grace", "0s");
      assertThat(onRegistry.exitCode()).as(onRegistry.toString()).isZero();
      assertThat(onRegistry.out()).contains("1 snapshot(s) forgotten, 1 kept")
          .contains("snapshot tags only were removed").contains("registry's own garbage collection");
      Cli.Run list = Cli.run("snapshots", "--repo", oci, "--json");
      assertThat(list.out().split("\"container\"", -1)).hasSize(2);
      assertThat(Cli.run("verify", "--repo", oci).exitCode()).isZero();
    } finally {
      registry.close();
      s3.close();
    }
  }

  private static String[] with(List<String> extra, String... args) {
    List<String> l = new java.util.ArrayList<>(List.of(args));
    l.addAll(extra);
    return l.toArray(String[]::new);
  }

  @Test
  void prune_badRules_areRefusedWithTheReason() {
    Cli.Run zero = Cli.run("prune", "--repo", repo.toString(), "--keep-last", "0");
    assertThat(zero.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(zero.err()).contains("keeps no snapshot").contains("--allow-remove-all");

    Cli.Run both = Cli.run("prune", "--repo", repo.toString(), "--config", tmp.resolve("x.yaml").toString());
    assertThat(both.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(both.err()).contains("not both");

    Cli.Run grace = Cli.run("prune", "--repo", repo.toString(), "--gc-grace", "soon");
    assertThat(grace.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(grace.err()).contains("bad duration \"soon\"");
  }
}
