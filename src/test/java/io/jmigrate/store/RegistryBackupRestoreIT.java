package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.RegistryServer;
import io.jmigrate.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Tests for {@link RegistryStore} under the real commands: backup on host A into a registry, restore on host B,
 * and a plain {@code docker pull} of the pushed image on host B.
 */
@ExtendWith(DockerHosts.class)
class RegistryBackupRestoreIT {
  private static final String IMAGE = "jmigrate-test/registry-e2e:1";
  private static RegistryServer registry;

  private DockerDaemon a;
  private DockerDaemon b;

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

  @BeforeEach
  void setUp(DockerDaemon a, @DockerHosts.B DockerDaemon b) {
    this.a = a;
    this.b = b;
    TestImages.derived(a, IMAGE, "echo from-image > /etc/motd-from-image");
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(b);
  }

  /** The data files distribution stores (blobs and manifests alike), with their sizes. */
  private static List<Path> storedBlobs() throws Exception {
    Path root = registry.storageRoot().resolve("docker/registry/v2/blobs/sha256");
    if (!Files.isDirectory(root)) {
      return new ArrayList<>();
    }
    try (Stream<Path> s = Files.walk(root)) {
      return new ArrayList<>(s.filter(p -> p.getFileName().toString().equals("data")).toList());
    }
  }

  @Test
  void backupToRegistry_restoreOnSecondHost_imagePullableAndSecondBackupSendsNoContent() throws Exception {
    String repo = registry.url("jm/e2e");
    a.docker("run", "-d", "--name", "web", "--network", "none", "-v", "web-data:/data", IMAGE, "sh", "-c",
        "head -c 2000000 /dev/urandom > /data/r; echo hello > /data/f; echo changed > /etc/motd-from-image; "
            + "exec sleep 100000");
    for (int i = 0; i < 120 && a.run(null, "exec", "web", "test", "-f", "/data/f").exitCode != 0; i++) {
      Thread.sleep(250);
    }

    Cli.Run backup = Cli.run("backup", "-H", a.host(), "--repo", repo, "web");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    Cli.Run list = Cli.run("snapshots", "--repo", repo, "--json", "web");
    assertThat(list.exitCode()).as(list.toString()).isZero();
    assertThat(list.out()).contains("\"container\" : \"web\"");
    assertThat(Cli.run("verify", "--repo", repo).exitCode()).isZero();

    List<Path> before = storedBlobs();
    Cli.Run second = Cli.run("backup", "-H", a.host(), "--repo", repo, "web");
    assertThat(second.exitCode()).as(second.toString()).isZero();
    List<Path> added = storedBlobs();
    added.removeAll(before);
    // New: the new commit's config and manifest (its writable layer is unchanged), document, snapshot manifest,
    // index, and alias tags. No layer, no volume.
    for (Path p : added) {
      assertThat(Files.size(p)).as("only small metadata is new: " + p).isLessThan(64 * 1024);
    }

    a.docker("stop", "web");
    Cli.Run restore = Cli.run("restore", "-H", b.host(), "--repo", repo, "web");
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(b.docker("exec", "web", "cat", "/data/f").strip()).isEqualTo("hello");
    assertThat(b.docker("exec", "web", "cat", "/etc/motd-from-image").strip()).isEqualTo("changed");

    // The snapshot's image is a standard image: a plain docker pull by digest works on host B.
    String imageManifest;
    try (RegistryStore store = RegistryStore.open(repo, StoreOptions.defaults())) {
      Tag latest = store.listTags().stream().max((x, y) -> x.name().compareTo(y.name())).orElseThrow();
      JsonNode index = RegistryStore.JSON.readTree(store.getManifest(latest.target().digest()));
      imageManifest = null;
      for (JsonNode m : index.path("manifests")) {
        if ("image".equals(m.path("annotations").path("io.jmigrate.role").asText())) {
          imageManifest = m.path("digest").asText();
        }
      }
    }
    assertThat(imageManifest).isNotNull();
    String ref = registry.hostPort() + "/jm/e2e@" + imageManifest;
    b.docker("pull", ref);
    assertThat(b.docker("run", "--rm", "--network", "none", ref, "cat", "/etc/motd-from-image").strip())
        .isEqualTo("changed");
  }
}
