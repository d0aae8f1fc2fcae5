package io.jmigrate.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Tests for {@link DockerDaemon}, {@link DockerHosts} and {@link TestImages}. */
@ExtendWith(DockerHosts.class)
class DockerDaemonIT {

  @Test
  void hosts_twoSharedDaemons_areDistinctAndHaveTheBaseImage(DockerDaemon a, @DockerHosts.B DockerDaemon b) {
    assertThat(a.socket()).isNotEqualTo(b.socket());
    assertThat(a.host()).startsWith("unix:///tmp/");
    assertThat(a.host().length()).isLessThan(100);
    assertThat(a.docker("info", "--format", "{{.DockerRootDir}}")).isEqualTo(a.dataRoot().toString());
    assertThat(b.docker("info", "--format", "{{.DockerRootDir}}")).isEqualTo(b.dataRoot().toString());
    assertThat(a.docker("images", "--format", "{{.Repository}}:{{.Tag}}")).contains(TestImages.BASE);
    assertThat(b.docker("images", "--format", "{{.Repository}}:{{.Tag}}")).contains(TestImages.BASE);
    assertThat(DockerHosts.hostA()).isSameAs(a);
    assertThat(DockerHosts.hostB()).isSameAs(b);
  }

  @Test
  void base_runsBusyboxWithUsersAndGzip(DockerDaemon a) {
    String out =
        a.docker(
            "run", "--rm", "--network", "none", TestImages.BASE, "sh", "-c",
            "id -u user; stat -c %a /tmp; echo hello | gzip | gzip -d; ls /bin/tar");
    assertThat(out).isEqualTo("1000\n1777\nhello\n/bin/tar");
  }

  @Test
  void base_sameLayerOnBothHosts(DockerDaemon a, @DockerHosts.B DockerDaemon b) {
    String la = a.docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", TestImages.BASE);
    String lb = b.docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", TestImages.BASE);
    assertThat(la).isEqualTo(lb).startsWith("[\"sha256:");
    assertThat(TestImages.base(a)).isEqualTo(TestImages.base(a)); // idempotent
  }

  @Test
  void derived_hasTwoLayersAndTheWrittenFile(DockerDaemon a) {
    String id = TestImages.derived(a, "jmigrate-test/derived:it", "echo layer2 > /etc/marker");
    try {
      assertThat(TestImages.derived(a, "jmigrate-test/derived:it", "exit 1")).isEqualTo(id);
      String layers = a.docker("image", "inspect", "--format", "{{len .RootFS.Layers}}", id);
      assertThat(layers).isEqualTo("2");
      assertThat(a.docker("run", "--rm", "--network", "none", "jmigrate-test/derived:it", "cat", "/etc/marker"))
          .isEqualTo("layer2");
    } finally {
      a.docker("rmi", "-f", "jmigrate-test/derived:it");
    }
  }

  @Test
  void cleanAll_removesEverythingButTheBaseImage(DockerDaemon a) {
    a.docker("volume", "create", "jm-clean-vol");
    a.docker("network", "create", "jm-clean-net");
    a.docker("create", "--name", "jm-clean-c", "--network", "none", "-v", "/anon", TestImages.BASE, "true");
    TestImages.derived(a, "jmigrate-test/clean:1", "touch /x");

    DockerHosts.cleanAll(a);

    assertThat(a.docker("ps", "-aq")).isEmpty();
    assertThat(a.docker("volume", "ls", "-q")).isEmpty();
    assertThat(a.docker("network", "ls", "--filter", "type=custom", "-q")).isEmpty();
    assertThat(a.docker("images", "-a", "--format", "{{.Repository}}:{{.Tag}}")).isEqualTo(TestImages.BASE);
  }

  @Test
  void startExtra_killAndRestartThenStop_removesEverything() throws Exception {
    DockerDaemon d = DockerHosts.startExtra("x");
    Path dir = d.dir();
    try {
      d.docker("run", "-d", "--name", "sleeper", "--network", "none", TestImages.BASE, "sleep", "300");
      long pid = d.pid();
      d.kill();
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
      assertThat(d.run(null, "version").exitCode).isNotZero();

      d.restart();
      assertThat(d.docker("images", "--format", "{{.Repository}}:{{.Tag}}")).contains(TestImages.BASE);
    } finally {
      d.stop();
    }
    assertThat(Files.exists(dir)).isFalse();
    assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(dir.toString());
    try (var procs = Files.list(Path.of("/proc"))) {
      long leftovers =
          procs
              .filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
              .filter(
                  p -> {
                    try {
                      return Files.readString(p.resolve("cmdline")).contains(dir.toString());
                    } catch (Exception e) {
                      return false;
                    }
                  })
              .count();
      assertThat(leftovers).as("processes naming %s", dir).isZero();
    }
  }
}
