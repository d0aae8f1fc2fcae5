package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.TestImages;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for a stop signal during {@link io.jmigrate.cli.Main} backup, with jmigrate as a process signalled at a step
 * named by its own stderr: whatever the step, the container runs again and the repository holds nothing staged.
 */
@ExtendWith(DockerHosts.class)
class BackupStopIT {
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

  /**
   * SIGTERM right at "paused NAME": the shutdown runs while the backup goes on to stage its first blob, which
   * used to create tmp/blob-*.tmp after the stop had aborted what was staged (issue 9, 3 of 3), leaving it behind.
   */
  @Test
  void backup_sigtermAtThePauseLine_leavesNothingStagedAndResumesTheContainer() throws Exception {
    a.docker("run", "-d", "--name", "stop", "--network", "none", "-v", "stop-data:/data", TestImages.BASE, "sh", "-c",
        "head -c 2000000 /dev/urandom > /data/r; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "stop", "/data/r");
    Path repo = tmp.resolve("repo");

    Process p = new ProcessBuilder(Cli.javaCommand("-Xmx128m", "backup", "-H", a.host(), "--repo", repo.toString(),
        "stop")).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    StringBuilder err = new StringBuilder();
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null) {
        err.append(line).append('\n');
        if (line.equals("paused stop")) {
          p.destroy(); // SIGTERM
          break;
        }
      }
      assertThat(err.toString()).as("the backup reached its pause").contains("paused stop");
      Thread drain = new Thread(() -> {
        try {
          lines.lines().forEach(l -> err.append(l).append('\n'));
        } catch (UncheckedIOException e) {
          // the process is gone
        }
      });
      drain.start();
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("jmigrate stops").isTrue();
      drain.join(TimeUnit.SECONDS.toMillis(30));
    } finally {
      p.destroyForcibly();
    }

    assertThat(p.exitValue()).as(err.toString()).isEqualTo(143);
    assertThat(a.docker("inspect", "--format", "{{.State.Status}} {{.State.Paused}}", "stop").strip())
        .as(err.toString()).isEqualTo("running false");
    assertThat(files(repo.resolve("tmp"))).as("nothing staged outlives the process\n" + err).isEmpty();
    assertThat(files(repo.resolve("tags"))).as("no snapshot published").isEmpty();
    assertThat(a.docker("images", "-q", "jmigrate-tmp").strip()).as("temporary image removed").isEmpty();
  }

  private static List<String> files(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(x -> x.getFileName().toString()).collect(Collectors.toList());
    }
  }
}
