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
 * {@code script}), a long volume transfer draws a progress bar with bytes, rate and (when the size is known) the
 * time left, never a placeholder; without a terminal it does not.
 */
@ExtendWith(DockerHosts.class)
class JobProgressIT {
  @TempDir
  Path tmp;

  private DockerDaemon a;
  private DockerDaemon b;

  @BeforeEach
  void setUp(DockerDaemon a, @DockerHosts.B DockerDaemon b) {
    this.a = a;
    this.b = b;
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(b);
  }

  private String run(boolean terminal, String... args) throws Exception {
    String cmd = String.join(" ", Cli.javaCommand("-Xmx256m", args));
    String name = args[0] + "-" + terminal;
    List<String> argv = terminal ? List.of("script", "-qefc", cmd, "/dev/null") : List.of("sh", "-c", cmd);
    ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true)
        .redirectOutput(tmp.resolve("out-" + name).toFile());
    pb.environment().put("TERM", "xterm");
    if (!terminal) {
      pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    }
    Process p = pb.start();
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
    String out = Files.readString(tmp.resolve("out-" + name));
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  @Test
  void backupAndRestore_longVolumeTransfer_drawsABarWithRealFiguresOnATerminalAndNoneInAPipe() throws Exception {
    // 384 MiB through the archive API: several seconds each way (about 85 MiB/s here), so a bar appears (after one
    // second) and draws while the transfer runs. 128 MiB took 1.5 s, and the bar's first drawing, which sets up a
    // JLine terminal (stty processes) on the library's thread, could land after the transfer had ended, leaving only
    // the final line.
    a.docker("run", "-d", "--name", "big", "--network", "none", "-v", "big-data:/data", TestImages.BASE, "sh", "-c",
        "head -c 402653184 /dev/urandom > /data/big; touch /data/done; exec sleep 100000");
    JobTesting.awaitFile(a, "big", "/data/done");
    String repo = tmp.resolve("r1").toString();

    String tty = run(true, "backup", "-H", a.host(), "--repo", repo, "--volume-reader", "archive", "big");
    assertThat(tty).contains("big: volume").containsPattern("\\d+\\.\\d MiB so far, \\d+\\.\\d MiB/s")
        .containsPattern("big: volume \\S+ at /data: \\d+\\.\\d MiB in \\S+ \\(\\d+\\.\\d MiB/s\\)")
        .contains("\r").doesNotContain("?MiB").doesNotContain("? %").doesNotContain("0:00:00");

    // The restore knows the volume's size: percent, bar and time left; and it says once that it restored.
    String restore = run(true, "restore", "-H", b.host(), "--repo", repo, "--volume-writer", "archive", "big");
    assertThat(restore).containsPattern("volume \\S+ +\\d+% \\[=*>? *\\] \\d+\\.\\d MiB of 384\\.0 MiB")
        .contains("left").doesNotContain("?MiB").doesNotContain("? %").doesNotContain("0:00:00");
    assertThat(restore.lines().filter(l -> l.contains("restored big on"))).hasSize(1);

    String pipe = run(false, "backup", "-H", a.host(), "--repo", tmp.resolve("r2").toString(), "--volume-reader",
        "archive", "big");
    assertThat(pipe).contains("backed up big").doesNotContain("MiB/s").doesNotContain("\r");
  }
}
