package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.job.CronSchedule;
import io.jmigrate.job.RunSummary;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.Fidelity;
import io.jmigrate.testing.RegistryServer;
import io.jmigrate.testing.S3ProxyServer;
import io.jmigrate.testing.TestImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs what {@code examples/} ships, as an operator would, against private daemons: every command line of
 * {@code examples/crontab}, the {@code ExecStart} lines of {@code examples/systemd/}, the two-container project of
 * {@code examples/compose-app/} with its job file, and the disaster-recovery runbook's {@code restore-all.sh} that
 * brings the project back on a second host from an S3 bucket (S3Proxy) and from a registry. Tests never pull, so the project's images are stand-ins built from the
 * busybox test image: a "postgres" with {@code pg_isready} and {@code pg_dumpall} scripts, and busybox httpd as the
 * web server.
 */
@ExtendWith(DockerHosts.class)
class ExamplesIT {
  private static final Path EXAMPLES = Path.of("examples").toAbsolutePath();
  private static final String DB_IMAGE = "jmigrate-test/fake-postgres:1";
  private static final String WEB_IMAGE = "jmigrate-test/fake-nginx:1";

  @TempDir
  Path tmp;

  private DockerDaemon a;
  private DockerDaemon b;
  private Path bin;

  @BeforeEach
  void setUp(DockerDaemon a, @DockerHosts.B DockerDaemon b) throws IOException {
    this.a = a;
    this.b = b;
    // `jmigrate` on the PATH, as the examples expect it; the jar under test behind it.
    bin = Files.createDirectories(tmp.resolve("bin"));
    Path wrapper = bin.resolve("jmigrate");
    Files.writeString(wrapper, "#!/bin/sh\nexec " + String.join(" ", Cli.javaCommand("-Xmx256m")) + " \"$@\"\n");
    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(b);
  }

  /** The stand-in images, on one daemon. */
  private static void images(DockerDaemon d) {
    TestImages.base(d);
    if (d.run(null, "image", "inspect", DB_IMAGE).exitCode != 0) {
      String c = "jm-fake-pg";
      d.docker("run", "--name", c, "--network", "none", TestImages.BASE, "sh", "-c", "mkdir -p /usr/local/bin && "
          + "printf '#!/bin/sh\\necho /var/run/postgresql:5432 - accepting connections\\n' > /usr/local/bin/pg_isready"
          + " && printf '#!/bin/sh\\necho -- PostgreSQL database cluster dump\\ncat /var/lib/postgresql/data/rows\\n'"
          + " > /usr/local/bin/pg_dumpall && chmod 755 /usr/local/bin/pg_isready /usr/local/bin/pg_dumpall");
      d.docker("commit", "--change", "ENV PATH=/usr/local/bin:/bin", "--change",
          "CMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; mkdir -p /var/lib/postgresql/data; "
              + "[ -f /var/lib/postgresql/data/rows ] || echo 'row 1' > /var/lib/postgresql/data/rows; "
              + "while :; do sleep 1; done\"]", c, DB_IMAGE);
      d.docker("rm", c);
    }
    if (d.run(null, "image", "inspect", WEB_IMAGE).exitCode != 0) {
      String c = "jm-fake-nginx";
      d.docker("run", "--name", c, "--network", "none", TestImages.BASE, "mkdir", "-p", "/usr/share/nginx/html");
      d.docker("commit", "--change", "ENV PATH=/bin", "--change",
          "CMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/usr/share/nginx/html\"]", c, WEB_IMAGE);
      d.docker("rm", c);
    }
  }

  /** The environment of an operator's shell on host A. */
  private Map<String, String> env(DockerDaemon d) throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", bin + ":" + System.getenv("PATH"));
    env.put("DOCKER_HOST", d.host());
    env.put("DOCKER_CONFIG", Files.createDirectories(tmp.resolve("docker-cli")).toString());
    env.put("DB_IMAGE", DB_IMAGE);
    env.put("WEB_IMAGE", WEB_IMAGE);
    env.put("WEB_PORT", Integer.toString(Fidelity.freePort()));
    return env;
  }

  /** Runs {@code command} with sh in {@code dir}. */
  private Cli.Run sh(Path dir, Map<String, String> env, String command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("sh", "-c", command).directory(dir.toFile());
    pb.environment().remove("DOCKER_CONTEXT");
    pb.environment().putAll(env);
    Path out = Files.createTempFile(tmp, "out", ".txt");
    Path err = Files.createTempFile(tmp, "err", ".txt");
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError(command + " did not finish in 10 minutes");
    }
    return new Cli.Run(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  /** Copies examples/compose-app into a scratch directory (its job writes ./backups next to itself). */
  private Path composeApp() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("compose-app"));
    for (String f : List.of("up.sh", "down.sh", "jmigrate.yaml")) {
      Files.copy(EXAMPLES.resolve("compose-app").resolve(f), dir.resolve(f));
    }
    return dir;
  }

  private Cli.Run up(Path app, Map<String, String> env) throws Exception {
    images(a);
    Cli.Run up = sh(app, env, "sh ./up.sh");
    assertThat(up.exitCode()).as(up.toString()).isZero();
    JobTesting.awaitHealthy(a, "shop-db-1");
    return up;
  }

  @Test
  void composeApp_upThenTheJob_backsUpBothAndTheRunbookBringsThemBackOnANewHost() throws Exception {
    Path app = composeApp();
    Map<String, String> env = env(a);
    assertThat(up(app, env).out()).contains("project shop is up");

    Cli.Run run = sh(app, env, "jmigrate run --config jmigrate.yaml --summary summary.json");
    assertThat(run.exitCode()).as(run.toString()).isZero();
    RunSummary s = RunSummary.fromJson(Files.readAllBytes(app.resolve("summary.json")));
    assertThat(s.containers()).extracting(RunSummary.ContainerResult::container)
        .containsExactly("shop-db-1", "shop-web-1");
    Cli.Run list = sh(app, env, "jmigrate snapshots --repo backups");
    assertThat(list.out()).containsPattern("shop-db-1 .* stop").containsPattern("shop-web-1 .* pause");
    // The post hook removed the dump from the live database; the snapshot has it (checked on the new host).
    assertThat(a.run(null, "exec", "shop-db-1", "test", "-e", "/var/lib/postgresql/data/dumpall.sql").exitCode)
        .isNotZero();

    // Offsite copies, as the job would keep with `repositories:`: an S3 bucket and a registry.
    S3ProxyServer s3 = S3ProxyServer.start();
    RegistryServer registry = RegistryServer.start();
    try {
      s3.createBucket("jm-dr");
      env.put("AWS_ACCESS_KEY_ID", S3ProxyServer.ACCESS_KEY);
      env.put("AWS_SECRET_ACCESS_KEY", S3ProxyServer.SECRET_KEY);
      env.put("AWS_REGION", S3ProxyServer.REGION);
      String s3Opts = "--s3-endpoint " + s3.endpoint() + " --s3-region " + S3ProxyServer.REGION;
      String bucket = "s3://jm-dr/shop";
      String oci = registry.url("dr/shop");
      for (String c : List.of("jmigrate copy --from backups --to " + bucket + " " + s3Opts,
          "jmigrate copy --from backups --to " + oci)) {
        Cli.Run copy = sh(app, env, c);
        assertThat(copy.exitCode()).as(c + "\n" + copy).isZero();
      }

      // Host A is lost.
      Cli.Run down = sh(app, env, "sh ./down.sh");
      assertThat(down.exitCode()).as(down.toString()).isZero();
      assertThat(a.docker("ps", "-aq", "--filter", "label=com.docker.compose.project=shop")).isBlank();

      // The runbook's step 5 on the new host B: every container back from S3; then, after clearing B, from the
      // registry.
      Path restoreAll = EXAMPLES.resolve("disaster-recovery/restore-all.sh");
      Map<String, String> onB = new LinkedHashMap<>(env);
      onB.put("DOCKER_HOST", b.host());
      for (String[] from : List.of(new String[] {bucket, s3Opts}, new String[] {oci, ""})) {
        onB.put("JMIGRATE_OPTS", from[1]);
        Cli.Run restore = sh(app, onB, "sh " + restoreAll + " " + from[0] + " " + b.host());
        assertThat(restore.exitCode()).as(from[0] + "\n" + restore).isZero();
        assertThat(JobTesting.state(b, "shop-db-1")).isEqualTo("running");
        assertThat(JobTesting.state(b, "shop-web-1")).isEqualTo("running");
        JobTesting.awaitHealthy(b, "shop-db-1");
        assertThat(b.docker("exec", "shop-db-1", "cat", "/var/lib/postgresql/data/dumpall.sql"))
            .contains("PostgreSQL database cluster dump").contains("row 1");
        // Back on their project network, under their aliases.
        assertThat(b.docker("exec", "shop-db-1", "wget", "-qO-", "http://web/")).contains("of the shop");
        Cli.Run downB = sh(app, onB, "sh ./down.sh");
        assertThat(downB.exitCode()).as(downB.toString()).isZero();
      }
    } finally {
      registry.close();
      s3.close();
    }
  }

  /** Cron entries: the five time fields, the user, the command. */
  record CronEntry(String schedule, String user, String command) {}

  static List<CronEntry> crontab(Path file) throws IOException {
    List<CronEntry> out = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#") || l.matches("[A-Z_]+=.*")) {
        continue;
      }
      String[] f = l.split("\\s+", 7);
      assertThat(f).as("a system crontab line has 5 time fields, a user and a command: " + l).hasSize(7);
      out.add(new CronEntry(String.join(" ", List.of(f).subList(0, 5)), f[5], f[6]));
    }
    return out;
  }

  @Test
  void crontab_everyEntry_hasAValidScheduleAndItsCommandRuns() throws Exception {
    List<CronEntry> entries = crontab(EXAMPLES.resolve("crontab"));
    assertThat(entries).extracting(CronEntry::command).anyMatch(c -> c.startsWith("jmigrate run "))
        .anyMatch(c -> c.startsWith("jmigrate prune ")).anyMatch(c -> c.startsWith("jmigrate drill "));
    Path app = composeApp();
    Map<String, String> env = env(a);
    up(app, env);
    // /etc/jmigrate/jmigrate.yaml is the compose app's job here; its repository is ./backups next to it.
    Path etc = app.resolve("jmigrate.yaml");
    for (CronEntry e : entries) {
      CronSchedule.parse(e.schedule(), ZoneOffset.UTC);
      assertThat(e.user()).isEqualTo("root");
      String cmd = e.command().replace("/etc/jmigrate/jmigrate.yaml", etc.toString())
          .replace("/var/lib/jmigrate/last-run.json", app.resolve("last-run.json").toString())
          .replace("/var/backups/jmigrate", app.resolve("backups").toString())
          .replace("ssh://drill@test-host", b.host());
      Cli.Run r = sh(app, env, cmd);
      assertThat(r.exitCode()).as(cmd + "\n" + r).isZero();
      if (cmd.startsWith("jmigrate run")) {
        assertThat(r.out() + r.err()).as("quiet on success").isEmpty();
        assertThat(RunSummary.fromJson(Files.readAllBytes(app.resolve("last-run.json"))).status())
            .isEqualTo(RunSummary.Status.SUCCESS);
      }
      if (cmd.startsWith("jmigrate drill")) {
        assertThat(r.out()).startsWith("PASS shop-db-1 ");
      }
    }
  }

  /** The values of {@code key=} lines in a systemd unit. */
  static List<String> unitValues(Path unit, String key) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(unit, StandardCharsets.UTF_8)) {
      if (line.startsWith(key + "=")) {
        out.add(line.substring(key.length() + 1).strip());
      }
    }
    return out;
  }

  @Test
  void systemdUnits_execStartLines_runAsTheUnitsSay() throws Exception {
    Path units = EXAMPLES.resolve("systemd");
    assertThat(unitValues(units.resolve("jmigrate-backup.service"), "Type")).containsExactly("oneshot");
    assertThat(unitValues(units.resolve("jmigrate-backup.timer"), "OnCalendar")).containsExactly("*-*-* 02:30:00");
    assertThat(unitValues(units.resolve("jmigrate-backup.timer"), "WantedBy")).containsExactly("timers.target");
    Path app = composeApp();
    Map<String, String> env = env(a);
    up(app, env);
    Path wrapper = bin.resolve("jmigrate");

    String backup = unitValues(units.resolve("jmigrate-backup.service"), "ExecStart").get(0)
        .replace("/usr/local/bin/jmigrate", wrapper.toString())
        .replace("/etc/jmigrate/jmigrate.yaml", app.resolve("jmigrate.yaml").toString())
        .replace("/var/lib/jmigrate/last-run.json", app.resolve("last-run.json").toString());
    Cli.Run r = sh(app, env, backup);
    assertThat(r.exitCode()).as(backup + "\n" + r).isZero();
    assertThat(JobTesting.tags(app.resolve("backups"))).hasSize(2);

    // The scheduler service: it starts, waits for 02:30, and stops cleanly (exit 0) on systemd's SIGTERM.
    String schedule = unitValues(units.resolve("jmigrate-schedule.service"), "ExecStart").get(0)
        .replace("/usr/local/bin/jmigrate", wrapper.toString())
        .replace("/etc/jmigrate/jmigrate.yaml", app.resolve("jmigrate.yaml").toString());
    assertThat(unitValues(units.resolve("jmigrate-schedule.service"), "KillSignal")).containsExactly("SIGTERM");
    List<String> argv = new ArrayList<>(List.of(schedule.split(" ")));
    argv.set(0, wrapper.toString());
    ProcessBuilder pb = new ProcessBuilder(argv).directory(app.toFile()).redirectErrorStream(true)
        .redirectOutput(tmp.resolve("schedule.log").toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    try {
      for (int i = 0; i < 600 && !Files.readString(tmp.resolve("schedule.log")).contains("first run at"); i++) {
        Thread.sleep(100);
      }
      String log = Files.readString(tmp.resolve("schedule.log"));
      assertThat(log).contains("job shop: schedule 30 2 * * * (Europe/Berlin), first run at");
      // The wrapper execs java, so this is the JVM's pid.
      p.destroy();
      assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
      assertThat(p.exitValue()).as(Files.readString(tmp.resolve("schedule.log"))).isZero();
      assertThat(Files.readString(tmp.resolve("schedule.log"))).contains("jmigrate schedule stopped");
    } finally {
      p.destroyForcibly();
    }
  }
}
