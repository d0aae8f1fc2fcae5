package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.RegistryServer;
import io.jmigrate.testing.TestImages;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for {@link io.jmigrate.snapshot.SnapshotCopier} through {@code jmigrate copy}: local → registry → local
 * keeps snapshot ids, sends only missing objects, and the copy restores on another host.
 */
@ExtendWith(DockerHosts.class)
class CopyIT {
  private static RegistryServer registry;

  @TempDir
  Path tmp;

  @BeforeAll
  static void startRegistry() throws Exception {
    registry = RegistryServer.start();
  }

  @AfterAll
  static void stopRegistry() {
    if (registry != null) {
      registry.close();
    }
  }

  @AfterEach
  void clean() {
    DockerHosts.cleanAll(DockerHosts.hostA());
    DockerHosts.cleanAll(DockerHosts.hostB());
  }

  @Test
  void copy_localToRegistryToLocal_keepsIdsSendsOnlyMissingAndRestores(DockerDaemon a,
      @DockerHosts.B DockerDaemon b) throws Exception {
    String local = tmp.resolve("local").toString();
    String back = tmp.resolve("back").toString();
    String oci = registry.url("offsite/web");
    a.docker("run", "-d", "--name", "web", "--network", "none", "-v", "web-data:/data", TestImages.BASE, "sh", "-c",
        "echo content > /data/file; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "web", "/data/file");
    Cli.Run backup = Cli.run("backup", "-H", a.host(), "--repo", local, "web");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    String id = backup.out().split(" ")[1];

    Cli.Run up = Cli.run("copy", "--from", local, "--to", oci);
    assertThat(up.exitCode()).as(up.toString()).isZero();
    assertThat(up.out()).contains(id + " web-").contains("copied");
    Cli.Run again = Cli.run("copy", "--from", local, "--to", oci);
    assertThat(again.out()).contains("already there");
    assertThat(Cli.run("snapshots", "--repo", oci, "--json").out()).contains(id);
    assertThat(Cli.run("verify", "--repo", oci).exitCode()).isZero();

    Cli.Run down = Cli.run("copy", "--from", oci, "--to", back, id);
    assertThat(down.exitCode()).as(down.toString()).isZero();
    assertThat(Cli.run("verify", "--repo", back).exitCode()).isZero();
    a.docker("stop", "web");
    Cli.Run restore = Cli.run("restore", "-H", b.host(), "--repo", back, id);
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(b.docker("exec", "web", "cat", "/data/file").strip()).isEqualTo("content");
  }

  @Test
  void copy_toRegistryWithWrongPassword_exitsRepositoryNamingTheRegistry(DockerDaemon a) throws Exception {
    try (RegistryServer secured = RegistryServer.start(RegistryServer.Auth.BASIC)) {
      String local = tmp.resolve("local").toString();
      a.docker("run", "-d", "--name", "auth", "--network", "none", TestImages.BASE, "sleep", "100000");
      assertThat(Cli.run("backup", "-H", a.host(), "--repo", local, "auth").exitCode()).isZero();
      java.nio.file.Path config = java.nio.file.Files.createDirectories(tmp.resolve("docker-config"));
      String auth = java.util.Base64.getEncoder().encodeToString(
          (RegistryServer.USER + ":wrong-password").getBytes(java.nio.charset.StandardCharsets.UTF_8));
      java.nio.file.Files.writeString(config.resolve("config.json"),
          "{\"auths\":{\"" + secured.hostPort() + "\":{\"auth\":\"" + auth + "\"}}}");
      Cli.Run r = Cli.run("copy", "--from", local, "--to", secured.url("offsite/auth"), "--docker-config",
          config.toString());
      assertThat(r.exitCode()).as(r.toString()).isEqualTo(io.jmigrate.cli.ExitCode.REPOSITORY);
      assertThat(r.err()).contains(secured.hostPort()).contains("docker login").doesNotContain("wrong-password");
    }
  }
}
