package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jmigrate.blob.Json;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.RegistryServer;
import io.jmigrate.testing.TestImages;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Tests for {@code jmigrate snapshots} on a registry repository: the image reference it prints for a snapshot is
 * one that a real engine (Docker 20.10, which refuses zstd layers) pulls and runs.
 */
@ExtendWith(DockerHosts.class)
class SnapshotsIT {
  private static RegistryServer registry;

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
  void snapshotsJson_registryRepository_givesAnImageReferenceAnEnginePulls(DockerDaemon a,
      @DockerHosts.B DockerDaemon b) throws Exception {
    String oci = registry.url("backups/web");
    a.docker("run", "-d", "--name", "web", "--network", "none", TestImages.BASE, "sh", "-c",
        "echo written > /marker; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "web", "/marker");
    Cli.Run backup = Cli.run("backup", "-H", a.host(), "--repo", oci, "web");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();

    Cli.Run list = Cli.run("snapshots", "--repo", oci, "--json", "web");
    assertThat(list.exitCode()).as(list.toString()).isZero();
    JsonNode s = Json.MAPPER.readTree(list.out()).get(0);
    String digest = s.path("imageDigest").asText();
    String ref = s.path("imageReference").asText();
    assertThat(ref).isEqualTo(registry.hostPort() + "/backups/web@" + digest);

    b.docker("pull", ref);
    assertThat(b.docker("run", "--rm", "--network", "none", ref, "cat", "/marker").strip()).isEqualTo("written");

    ch.qos.logback.classic.Logger log =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("io.jmigrate");
    ch.qos.logback.classic.Level before = log.getLevel();
    try {
      Cli.Run verbose = Cli.run("snapshots", "-v", "--repo", oci);
      assertThat(verbose.out()).contains(ref);
    } finally {
      log.setLevel(before); // -v sets the level for the whole JVM
    }

    Cli.Run none = Cli.run("snapshots", "--repo", oci, "db");
    assertThat(none.exitCode()).isEqualTo(io.jmigrate.cli.ExitCode.NOT_FOUND);
    assertThat(none.err()).contains("no snapshots of 'db' in " + oci + "; it has snapshots of web");
  }
}
