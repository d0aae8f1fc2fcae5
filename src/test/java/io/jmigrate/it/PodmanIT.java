package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreOptions;
import io.jmigrate.store.Stores;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.PodmanService;
import io.jmigrate.testing.TestImages;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Podman as a source and a target (issue 14), against a real {@code podman system service} (Debian's 4.3.1,
 * {@link PodmanService}) beside the private Docker daemons: a Docker snapshot restores on Podman and the clone's
 * own backup holds the source's environment, not Podman's additions; a container goes Docker → Podman → Docker
 * and comes back with its data and its original environment; a Podman container backs up and restores on Docker.
 */
@ExtendWith(DockerHosts.class)
class PodmanIT {
  private static PodmanService podman;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() throws Exception {
    podman = PodmanService.start();
    podman.importBase();
  }

  @AfterAll
  static void stop() throws Exception {
    if (podman != null) {
      podman.close();
    }
  }

  @AfterEach
  void clean() {
    podman.clean();
    DockerHosts.cleanAll(DockerHosts.hostA());
    DockerHosts.cleanAll(DockerHosts.hostB());
  }

  private static void container(DockerDaemon d, String name) throws Exception {
    d.docker("run", "-d", "--name", name, "--network", "none", "-e", "APP_MODE=prod", "-v", name + "-data:/data",
        TestImages.BASE, "sh", "-c", "echo kept > /data/f; chown 1234:5678 /data/f; chmod 640 /data/f;"
            + " echo layer > /layer; rm /bin/vi; exec sleep 100000");
    BackupRestoreIT.awaitFile(d, name, "/data/f");
  }

  @Test
  void restoreOnPodman_dockerSnapshot_runsWithItsDataAndALaterBackupHoldsTheSourcesEnvironment(DockerDaemon a)
      throws Exception {
    container(a, "pweb");
    String sourceEnv = a.docker("inspect", "--format", "{{json .Config.Env}}", "pweb").strip();
    String repo = tmp.resolve("repo").toString();
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo, "pweb").exitCode()).isZero();

    Cli.Run restore = Cli.run("restore", "-H", podman.host(), "--repo", repo, "pweb");

    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(podman.docker("exec", "pweb", "cat", "/data/f", "/layer").strip()).isEqualTo("kept\nlayer");
    assertThat(podman.docker("exec", "pweb", "stat", "-c", "%u:%g %a", "/data/f").strip())
        .isEqualTo("1234:5678 640");
    assertThat(podman.run("exec", "pweb", "ls", "/bin/vi").exitCode).as("a deletion in the layer").isNotZero();

    // The clone's own backup on Podman: the environment the user set, not what Podman added on create.
    String again = tmp.resolve("again").toString();
    Cli.Run backup = Cli.run("backup", "-H", podman.host(), "--repo", again, "pweb");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    try (Store store = Stores.open(again, StoreOptions.defaults())) {
      SnapshotRepository r = new SnapshotRepository(store);
      var doc = r.load(r.resolve("pweb")).document();
      assertThat(doc.container().inspect().path("Config").path("Env").toString())
          .isEqualTo(sourceEnv);
    }
  }

  @Test
  void migrate_dockerToPodmanAndBack_keepsTheDataAndTheOriginalEnvironment(DockerDaemon a,
      @DockerHosts.B DockerDaemon b) throws Exception {
    container(a, "round");
    String sourceEnv = a.docker("inspect", "--format", "{{json .Config.Env}}", "round").strip();

    Cli.Run there = Cli.run("migrate", a.host(), podman.host(), "round");
    assertThat(there.exitCode()).as(there.toString()).isZero();
    assertThat(podman.docker("exec", "round", "cat", "/data/f", "/layer").strip()).isEqualTo("kept\nlayer");

    Cli.Run back = Cli.run("migrate", podman.host(), b.host(), "round");
    assertThat(back.exitCode()).as(back.toString()).isZero();

    assertThat(b.docker("exec", "round", "cat", "/data/f", "/layer").strip()).isEqualTo("kept\nlayer");
    assertThat(b.docker("exec", "round", "stat", "-c", "%u:%g %a", "/data/f").strip()).isEqualTo("1234:5678 640");
    assertThat(b.docker("inspect", "--format", "{{json .Config.Env}}", "round").strip()).isEqualTo(sourceEnv);
  }

  @Test
  void backupOnPodman_restoreOnDocker_runsWithItsData(DockerDaemon a) throws Exception {
    podman.docker("run", "-d", "--name", "pod", "--network", "none", "-e", "APP_MODE=prod", "-v", "pod-data:/data",
        TestImages.BASE, "sh",
        "-c", "echo from-podman > /data/f; echo layer > /layer; exec sleep 100000");
    for (int i = 0; i < 100 && podman.run("exec", "pod", "test", "-f", "/data/f").exitCode != 0; i++) {
      Thread.sleep(100);
    }
    String repo = tmp.resolve("repo").toString();
    Cli.Run backup = Cli.run("backup", "-H", podman.host(), "--repo", repo, "pod");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();

    Cli.Run restore = Cli.run("restore", "-H", a.host(), "--repo", repo, "pod");

    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(a.docker("exec", "pod", "cat", "/data/f", "/layer").strip()).isEqualTo("from-podman\nlayer");
    assertThat(a.docker("inspect", "--format", "{{json .Config.Env}}", "pod")).doesNotContain("container=podman");
  }
}
