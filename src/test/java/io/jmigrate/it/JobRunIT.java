package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.jmigrate.cli.ExitCode;
import io.jmigrate.job.RunSummary;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.TestImages;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link io.jmigrate.job.JobRunner} through {@code jmigrate run}, against a real private daemon. */
@ExtendWith(DockerHosts.class)
class JobRunIT {
  @TempDir
  Path tmp;

  private DockerDaemon a;
  private Path repo;

  @BeforeEach
  void setUp(DockerDaemon a) {
    this.a = a;
    this.repo = tmp.resolve("repo");
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
  }

  private void container(String name, String... extra) throws InterruptedException {
    List<String> args = new java.util.ArrayList<>(List.of("run", "-d", "--name", name, "--network", "none", "-v",
        name + "-data:/data"));
    args.addAll(List.of(extra));
    args.addAll(List.of(TestImages.BASE, "sh", "-c", "echo " + name + " > /data/hello; exec sleep 100000"));
    a.docker(args.toArray(String[]::new));
    JobTesting.awaitFile(a, name, "/data/hello");
  }

  private Path config(String jobs) throws Exception {
    return JobTesting.writeConfig(tmp, "defaults:\n  host: " + a.host() + "\n  repository: " + repo + "\njobs:\n"
        + jobs);
  }

  @Test
  void run_labelSelection_backsUpEachSelectedContainerQuietlyAndWritesTheSummary() throws Exception {
    container("web", "--label", "app=shop");
    container("db", "--label", "app=shop", "--label", "jmigrate.consistency=stop");
    container("cache", "--label", "app=shop", "--label", "jmigrate.exclude=true");
    container("other");
    Path cfg = config("  shop:\n    labels: {app: shop}\n");
    Path summary = tmp.resolve("summary.json");

    // A real process: every byte it prints is what cron would mail.
    Cli.Run r = Cli.process("-Xmx256m", "run", "--config", cfg.toString(), "--summary", summary.toString());

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).as("quiet on success").isEmpty();
    assertThat(r.err()).as("quiet on success").isEmpty();
    RunSummary s = RunSummary.fromJson(Files.readAllBytes(summary));
    assertThat(s.status()).isEqualTo(RunSummary.Status.SUCCESS);
    assertThat(s.containers()).extracting(RunSummary.ContainerResult::container).containsExactly("db", "web");
    assertThat(s.containers()).allSatisfy(c -> assertThat(c.bytes()).isPositive());
    Cli.Run list = Cli.run("snapshots", "--repo", repo.toString());
    assertThat(list.out()).contains(" db ").contains(" web ").doesNotContain("cache").doesNotContain("other");
    assertThat(list.out()).containsPattern("db .* stop");
    assertThat(JobTesting.state(a, "db")).isEqualTo("running");
    assertThat(JobTesting.state(a, "web")).isEqualTo("running");
    assertThat(Cli.run("verify", "--repo", repo.toString()).exitCode()).isZero();

    Cli.Run verbose = Cli.process("-Xmx256m", "run", "--config", cfg.toString(), "-v");
    assertThat(verbose.exitCode()).as(verbose.toString()).isZero();
    assertThat(verbose.err()).contains("job shop: web -> " + repo + ": snapshot ").contains("job shop: success");
  }

  @Test
  void run_hooks_runAroundTheSnapshotAndFailUnderBothPolicies(@DockerHosts.B DockerDaemon b) throws Exception {
    container("web");
    container("db");
    container("api");
    Path cfg = config("  app:\n    containers: [web, db, api]\n    hooks:\n      pre:\n"
        + "        - command: echo dumped-by-hook > /data/dump.txt\n          container: web\n"
        + "        - command: \"echo about to fail; exit 3\"\n          container: db\n"
        + "        - command: \"echo tolerated; exit 4\"\n          container: api\n          on-error: continue\n"
        + "      post:\n        - rm -f /data/dump.txt\n");
    Path summary = tmp.resolve("s.json");

    Cli.Run r = Cli.run("run", "--config", cfg.toString(), "--summary", summary.toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.PARTIAL);
    assertThat(r.err()).contains("job app: db -> " + repo + ": pre hook `sh -c echo about to fail; exit 3` in "
        + "container db failed with exit code 3").contains("its last output: about to fail")
        .contains("container db was not backed up");
    RunSummary s = RunSummary.fromJson(Files.readAllBytes(summary));
    assertThat(s.status()).isEqualTo(RunSummary.Status.PARTIAL);
    assertThat(s.containers()).extracting(c -> c.container() + "=" + c.status().value())
        .containsExactly("web=success", "db=failed", "api=success");
    assertThat(Cli.run("snapshots", "--repo", repo.toString(), "db").err()).contains("no snapshots");
    // The post hook ran after the snapshot: the dump is gone from the container but is in the snapshot.
    assertThat(a.run(null, "exec", "web", "test", "-e", "/data/dump.txt").exitCode).isNotZero();
    Cli.Run restore = Cli.run("restore", "-H", b.host(), "--repo", repo.toString(), "web");
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(b.docker("exec", "web", "cat", "/data/dump.txt").strip()).isEqualTo("dumped-by-hook");
    DockerHosts.cleanAll(b);
  }

  @Test
  void run_hookHangsPastItsTimeout_isKilledCountsAsFailedAndTheContainerRuns() throws Exception {
    container("web");
    Path cfg = config("  app:\n    containers: [web]\n    hooks:\n      pre:\n"
        + "        - command: \"echo starting; sleep 300\"\n          timeout: 2s\n");

    long t0 = System.nanoTime();
    Cli.Run r = Cli.run("run", "--config", cfg.toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.FAILED);
    assertThat(r.err()).contains("did not finish within its timeout of 2s (killed)").contains("starting");
    assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).isLessThan(120);
    assertThat(JobTesting.state(a, "web")).isEqualTo("running");
    assertThat(a.docker("top", "web", "-o", "pid,args")).doesNotContain("sleep 300");
    assertThat(JobTesting.tags(repo)).isEmpty();
  }

  @Test
  void run_secondRunWhileTheFirstHoldsTheLock_bothBackUpAndPruneWaitsForThem() throws Exception {
    container("web");
    // The first run holds the repository lock (shared, as every backup) while its pre hook sleeps.
    Path cfg = config("  nightly:\n    containers: [web]\n    hooks:\n      pre:\n"
        + "        - command: sleep 6\n          timeout: 1m\n");
    CompletableFuture<Cli.Run> first = CompletableFuture.supplyAsync(() -> Cli.run("run", "--config",
        cfg.toString()));
    awaitHolder();

    // Runs never exclude each other (fifty hosts at 02:30 must not queue): the second backs up at once.
    Path quick = config("  other:\n    containers: [web]\n");
    Cli.Run second = Cli.run("run", "--config", quick.toString());
    assertThat(second.exitCode()).as(second.toString()).isZero();
    // Prune's deletion is what excludes them: it refuses while the first run holds the lock, naming it.
    Cli.Run prune = Cli.run("prune", "--repo", repo.toString(), "--keep-last", "5");
    assertThat(prune.exitCode()).as(prune.toString()).isEqualTo(ExitCode.LOCKED);
    assertThat(prune.err()).contains("is locked by jmigrate run nightly (shared), pid "
        + ProcessHandle.current().pid()).contains("wait for it to finish");

    Cli.Run firstRun = first.get(2, TimeUnit.MINUTES);
    assertThat(firstRun.exitCode()).as(firstRun.toString()).isZero();
    assertThat(JobTesting.tags(repo)).hasSize(2);
  }

  private void awaitHolder() throws Exception {
    for (int i = 0; i < 200; i++) {
      Path locks = repo.resolve("locks");
      if (Files.isDirectory(locks)) {
        try (var s = Files.list(locks)) {
          if (s.anyMatch(p -> p.getFileName().toString().startsWith("holder-"))) {
            return;
          }
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the first run never took the lock");
  }

  @Test
  void run_partialFailure_postsTheSummaryToTheWebhook() throws Exception {
    container("web");
    BlockingQueue<String> received = new LinkedBlockingQueue<>();
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/hook/secret-token", ex -> {
      received.add(ex.getRequestHeaders().getFirst("Content-Type") + " "
          + new String(ex.getRequestBody().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
      ex.sendResponseHeaders(204, -1);
      ex.close();
    });
    server.start();
    try {
      String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/hook/secret-token";
      Path cfg = config("  ok:\n    containers: [web]\n    notify: {webhook: \"" + url + "\"}\n"
          + "  partly:\n    containers: [web, missing]\n    notify: {webhook: \"" + url + "\", on: failure}\n");

      Cli.Run ok = Cli.run("run", "--config", cfg.toString(), "ok");
      assertThat(ok.exitCode()).as(ok.toString()).isZero();
      assertThat(received.poll(2, TimeUnit.SECONDS)).as("on: failure, and it succeeded").isNull();

      Cli.Run partly = Cli.run("run", "--config", cfg.toString(), "partly");
      assertThat(partly.exitCode()).as(partly.toString()).isEqualTo(ExitCode.PARTIAL);
      String got = received.poll(30, TimeUnit.SECONDS);
      assertThat(got).isNotNull().startsWith("application/json ");
      JsonNode json = new ObjectMapper().readTree(got.substring("application/json ".length()));
      assertThat(json.path("job").asText()).isEqualTo("partly");
      assertThat(json.path("status").asText()).isEqualTo("partial");
      assertThat(json.path("containers")).hasSize(2);
      assertThat(json.path("containers").get(1).path("error").asText()).contains("no container 'missing'");
    } finally {
      server.stop(0);
    }
  }

  @Test
  void run_twoRepositoriesAndRetention_freezesOnceWritesBothAndKeepsWhatTheJobSays() throws Exception {
    container("web");
    Path second = tmp.resolve("offsite");
    Path cfg = JobTesting.writeConfig(tmp, "jobs:\n  both:\n    host: " + a.host() + "\n    containers: [web]\n"
        + "    repositories: [" + repo + ", " + second + "]\n    retention: {keep-last: 2}\n");
    String since = a.docker("info", "--format", "{{.SystemTime}}").strip();

    for (int i = 0; i < 3; i++) {
      a.docker("exec", "web", "sh", "-c", "echo " + i + " > /data/n");
      Cli.Run r = Cli.run("run", "--config", cfg.toString());
      assertThat(r.exitCode()).as(r.toString()).isZero();
      Thread.sleep(1100); // tags carry the second
    }

    // One freeze per run, not one per repository: the second repository gets a copy of the same snapshot.
    assertThat(pauses(since)).isEqualTo(3);
    assertThat(JobTesting.tags(repo)).hasSize(2);
    assertThat(JobTesting.tags(second)).isEqualTo(JobTesting.tags(repo));
    assertThat(Cli.run("verify", "--repo", repo.toString()).exitCode()).isZero();
    assertThat(Cli.run("verify", "--repo", second.toString()).exitCode()).isZero();
  }

  @Test
  void run_twoRepositoriesFreezePerRepository_freezesForEach() throws Exception {
    container("web");
    Path second = tmp.resolve("offsite");
    Path cfg = JobTesting.writeConfig(tmp, "jobs:\n  both:\n    host: " + a.host() + "\n    containers: [web]\n"
        + "    repositories: [" + repo + ", " + second + "]\n    freeze-per-repository: true\n");
    String since = a.docker("info", "--format", "{{.SystemTime}}").strip();

    Cli.Run r = Cli.run("run", "--config", cfg.toString());

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(pauses(since)).isEqualTo(2);
    assertThat(JobTesting.tags(second)).hasSize(1);
  }

  /** How often web was paused on host A since {@code since} (the daemon's clock). */
  private long pauses(String since) {
    String until = a.docker("info", "--format", "{{.SystemTime}}").strip();
    return a.docker("events", "--since", since, "--until", until, "--filter", "container=web", "--filter",
        "event=pause", "--format", "{{.Action}}").lines().filter(l -> l.equals("pause")).count();
  }

  @Test
  void run_badInput_exitsWithTheMatchingCode() throws Exception {
    container("web");
    Path cfg = config("  web:\n    containers: [web]\n");
    Cli.Run unknownJob = Cli.run("run", "--config", cfg.toString(), "nope");
    assertThat(unknownJob.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(unknownJob.err()).contains("no job named \"nope\"").contains("expected one of: web");

    Cli.Run missingFile = Cli.run("run", "--config", tmp.resolve("none.yaml").toString());
    assertThat(missingFile.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(missingFile.err()).contains("none.yaml: no such file");

    Path unreachable = JobTesting.writeConfig(tmp, "jobs:\n  web:\n    host: unix:///tmp/jm-jobs-no-such.sock\n"
        + "    containers: [web]\n    repository: " + repo + "\n");
    Cli.Run engine = Cli.run("run", "--config", unreachable.toString());
    assertThat(engine.exitCode()).as(engine.toString()).isEqualTo(ExitCode.ENGINE);
    assertThat(engine.err()).contains("job web: ").contains("jm-jobs-no-such.sock");

    Path none = JobTesting.writeConfig(tmp, "jobs:\n  none:\n    host: " + a.host() + "\n    labels: {nobody: here}\n"
        + "    repository: " + repo + "\n");
    Cli.Run empty = Cli.run("run", "--config", none.toString());
    assertThat(empty.exitCode()).isEqualTo(ExitCode.FAILED);
    assertThat(empty.err()).contains("job none selected no container");
  }
}
