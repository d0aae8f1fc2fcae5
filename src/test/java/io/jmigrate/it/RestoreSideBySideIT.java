package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.cli.ExitCode;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.Fidelity;
import io.jmigrate.testing.TestImages;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Tests for {@link io.jmigrate.restore.RestoreRunner} with {@code --volume-prefix}: a copy restored beside the
 * running original on the same real daemon.
 */
@ExtendWith(DockerHosts.class)
class RestoreSideBySideIT {
  @TempDir
  Path tmp;

  private DockerDaemon a;

  @BeforeEach
  void setUp(DockerDaemon a) {
    this.a = a;
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
  }

  @ParameterizedTest(name = "writer {0}")
  @CsvSource({"auto", "archive"})
  void restore_volumePrefixBesideRunningOriginal_bothRunWithEqualDataAndOriginalUntouched(String writer)
      throws Exception {
    String repo = tmp.resolve("repo").toString();
    a.docker("volume", "create", "--label", "app=web", "web-data");
    a.docker("run", "-d", "--name", "web", "--network", "none", "-v", "web-data:/data", "-v", "/anon",
        TestImages.BASE, "sh", "-c", "if [ ! -f /data/.init ]; then mkdir -p /data/dir; printf hello > /data/dir/f;"
            + " printf owned > /data/owned; chown 1000:1000 /data/owned; chmod 640 /data/owned;"
            + " printf anon > /anon/a; touch /data/.init; fi; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "web", "/data/.init");
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo, "web").exitCode()).isZero();
    String snapshotData = Fidelity.listing(a, "web", "data");
    // The original changes after the snapshot: the copy must hold the snapshot's data, the original its own.
    a.docker("exec", "web", "sh", "-c", "printf later > /data/after-backup");
    String originalBefore = Fidelity.listing(a, "web", "data", "anon");

    Cli.Run refused = Cli.run("restore", "-H", a.host(), "--repo", repo, "--name", "web2", "web");
    assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCode.REFUSED);
    assertThat(refused.err()).contains("a volume named web-data already exists").contains("--volume-prefix");

    Cli.Run r = Cli.run("restore", "-H", a.host(), "--repo", repo, "--name", "web2", "--volume-prefix", "copy-",
        "--volume-writer", writer, "web");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "web").strip()).isEqualTo("running");
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "web2").strip()).isEqualTo("running");
    assertThat(a.docker("inspect", "--format",
        "{{range .Mounts}}{{if eq .Destination \"/data\"}}{{.Name}}{{end}}{{end}}", "web2").strip())
        .isEqualTo("copy-web-data");
    assertThat(a.docker("inspect", "--format",
        "{{range .Mounts}}{{if eq .Destination \"/data\"}}{{.Name}}{{end}}{{end}}", "web").strip())
        .isEqualTo("web-data");
    assertThat(a.docker("volume", "inspect", "--format", "{{json .Labels}}", "copy-web-data").strip())
        .isEqualTo("{\"app\":\"web\"}");
    assertThat(Fidelity.listing(a, "web2", "data")).isEqualTo(snapshotData);
    assertThat(a.docker("exec", "web2", "cat", "/anon/a")).isEqualTo("anon");
    assertThat(Fidelity.listing(a, "web", "data", "anon")).as("the original is untouched").isEqualTo(originalBefore);

    a.docker("exec", "web2", "sh", "-c", "printf copy > /data/written-in-copy");
    assertThat(a.run(null, "exec", "web", "test", "-e", "/data/written-in-copy").exitCode)
        .as("the copy does not share the original's volume").isNotZero();
  }
}
