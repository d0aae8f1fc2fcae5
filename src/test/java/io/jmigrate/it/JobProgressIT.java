package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
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

/**
 * Tests for the progress display ({@code cli.Progress}): on a real terminal (a pty from util-linux
 * {@code script}), a long volume transfer draws a progress bar with bytes and rate; without a terminal it does not.
 */
@ExtendWith(DockerHosts.class)
class JobProgressIT {
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

  private String run(boolean terminal, String repo) throws Exception {
    String cmd = String.join(" ", Cli.javaCommand("-Xmx256m", "backup", "-H", a.host(), "--repo", repo,
        "--volume-reader", "archive", "big"));
    List<String> argv = terminal ? List.of("script", "-qefc", cmd, "/dev/null") : List.of("sh", "-c", cmd);
    ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true)
        .redirectOutput(tmp.resolve("out-" + terminal).toFile());
    pb.environment().put("TERM", "xterm");
    if (!terminal) {
      pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    }
    Process p = pb.start();
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
    String out = Files.readString(tmp.resolve("out-" + terminal));
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  @Test
  void backup_longVolumeTransfer_drawsABarOnATerminalAndNoneInAPipe() throws Exception {
    // 128 MiB through the archive API: several seconds, so a bar appears (after one second).
    a.docker("run", "-d", "--name", "big", "--network", "none", "-v", "big-data:/data", TestImages.BASE, "sh", "-c",
        "head -c 134217728 /dev/urandom > /data/big; touch /data/done; exec sleep 100000");
    JobTesting.awaitFile(a, "big", "/data/done");

    String tty = run(true, tmp.resolve("r1").toString());
    assertThat(tty).contains("big: volume").containsPattern("\\d+(\\.\\d+)?/\\d+(\\.\\d+)? MiB|\\d+(\\.\\d+)? MiB")
        .containsPattern("MiB/s").contains("\r");

    String pipe = run(false, tmp.resolve("r2").toString());
    assertThat(pipe).contains("backed up big").doesNotContain("MiB/s").doesNotContain("\r");
  }
}
