package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.TestImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for docs/runbooks/migrate-host.md: every {@code sh} block runs, in order, as one bash script against hosts A
 * and B, with {@code jmigrate} being the packaged jar; and the rollback line that jmigrate prints undoes a move.
 */
@ExtendWith(DockerHosts.class)
class MigrateRunbookIT {
  private static final String IMAGE = "jmigrate-test/runbook:1";
  private static final Path RUNBOOK = Path.of("docs/runbooks/migrate-host.md");
  private static final Pattern SH_BLOCK = Pattern.compile("(?m)^```sh\\n(.*?)^```", Pattern.DOTALL);

  @TempDir
  Path tmp;

  private DockerDaemon a;
  private DockerDaemon b;

  @BeforeEach
  void setUp(DockerDaemon a, @DockerHosts.B DockerDaemon b) throws Exception {
    this.a = a;
    this.b = b;
    TestImages.derived(a, IMAGE, "mkdir -p /data");
    a.docker("run", "-d", "--name", "web", "--network", "none", "--stop-timeout", "1", "-v", "web-data:/data",
        IMAGE, "sh", "-c", "trap 'exit 0' TERM; echo page > /data/index.html; while :; do sleep 0.2; done");
    a.docker("network", "create", "shop_default");
    a.docker("run", "-d", "--name", "shop-db-1", "--network", "shop_default", "--stop-timeout", "1",
        "--label", "com.docker.compose.project=shop", "--label", "com.docker.compose.service=db", IMAGE, "sh", "-c",
        "trap 'exit 0' TERM; while :; do sleep 0.2; done");
    a.docker("run", "-d", "--name", "shop-app-1", "--network", "shop_default", "--stop-timeout", "1",
        "--label", "com.docker.compose.project=shop", "--label", "com.docker.compose.service=app",
        "--label", "com.docker.compose.depends_on=db:service_started:false", IMAGE, "sh", "-c",
        "trap 'exit 0' TERM; while :; do sleep 0.2; done");
    BackupRestoreIT.awaitFile(a, "web", "/data/index.html");
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(b);
  }

  @Test
  void runbook_everyShellBlockInOrder_movesTheHost() throws Exception {
    String markdown = Files.readString(RUNBOOK, StandardCharsets.UTF_8);
    List<String> blocks = new ArrayList<>();
    Matcher m = SH_BLOCK.matcher(markdown);
    while (m.find()) {
      blocks.add(m.group(1));
    }
    assertThat(blocks).as("the runbook's runnable steps").hasSizeGreaterThanOrEqualTo(5);
    Path script = tmp.resolve("runbook.sh");
    Files.writeString(script, "set -euo pipefail\n" + String.join("\n", blocks));

    Run r = bash(script, Map.of("SRC", a.host(), "DST", b.host(), "CONTAINERS", "web", "PROJECTS", "shop"));

    assertThat(r.code).as(r.out).isZero();
    assertThat(r.out).contains("pre-flight checks passed for web").contains("moved web from " + a.host())
        .contains("moved shop-db-1, shop-app-1 from " + a.host());
    for (String c : List.of("web", "shop-db-1", "shop-app-1")) {
      assertThat(b.docker("inspect", "--format", "{{.State.Status}}", c).strip()).as(c).isEqualTo("running");
      assertThat(a.run(null, "inspect", c).exitCode).as("retired on the source: " + c).isNotZero();
    }
    assertThat(b.docker("exec", "web", "cat", "/data/index.html").strip()).isEqualTo("page");
  }

  @Test
  void rollbackLine_printedAfterAMove_restoresTheSourceAndCleansTheTarget() throws Exception {
    Cli.Run moved = Cli.run("migrate", a.host(), b.host(), "web");
    assertThat(moved.exitCode()).as(moved.toString()).isZero();
    Matcher hint = Pattern.compile("to roll back: (.*)").matcher(moved.err());
    assertThat(hint.find()).as(moved.err()).isTrue();
    Path script = tmp.resolve("rollback.sh");
    Files.writeString(script, "set -euo pipefail\n" + hint.group(1) + "\n");

    Run r = bash(script, Map.of());

    assertThat(r.code).as(r.out).isZero();
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "web").strip()).isEqualTo("running");
    assertThat(b.run(null, "inspect", "web").exitCode).isNotZero();
    assertThat(b.run(null, "volume", "inspect", "web-data").exitCode).isNotZero();
  }

  private record Run(int code, String out) {}

  /** Runs a bash script with {@code jmigrate} (the packaged jar) and the docker CLI on the PATH. */
  private Run bash(Path script, Map<String, String> env) throws IOException, InterruptedException {
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path wrapper = bin.resolve("jmigrate");
    Files.writeString(wrapper, "#!/bin/sh\nexec " + String.join(" ", Cli.javaCommand("-Xmx128m")) + " \"$@\"\n");
    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path log = tmp.resolve("bash.log");
    ProcessBuilder pb = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().putAll(env);
    pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
    pb.environment().put("DOCKER_CONFIG", Files.createDirectories(tmp.resolve("docker-config")).toString());
    pb.environment().remove("DOCKER_HOST");
    pb.environment().remove("DOCKER_CONTEXT");
    Process p = pb.start();
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("the script did not finish in 10 minutes: " + Files.readString(log));
    }
    return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }
}
