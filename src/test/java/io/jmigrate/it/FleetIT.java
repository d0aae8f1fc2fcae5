package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jmigrate.blob.Json;
import io.jmigrate.cli.ExitCode;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.S3ProxyServer;
import io.jmigrate.testing.S3rverServer;
import io.jmigrate.testing.TestImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many hosts, one repository (issue 15): eight {@code jmigrate run} processes from two engines, started at once,
 * each for its own container, into one local, one S3Proxy and one s3rver repository, with a prune started while
 * they all hold their locks. Every run succeeds without {@code --lock-wait}, every snapshot is listed (the two
 * same-named containers frozen in the same second included), the prune loses nothing, and verify is clean.
 */
@ExtendWith(DockerHosts.class)
class FleetIT {
  private static final int PER_HOST = 4;
  private static S3ProxyServer s3proxy;
  private static S3rverServer s3rver;

  @TempDir
  Path tmp;

  @BeforeAll
  static void start() throws Exception {
    s3proxy = S3ProxyServer.start(S3rverServer.ACCESS_KEY, S3rverServer.SECRET_KEY);
    s3proxy.createBucket("fleet");
    s3rver = S3rverServer.startHttp();
    s3rver.createBucket("fleet");
  }

  @AfterAll
  static void stop() throws Exception {
    if (s3proxy != null) {
      s3proxy.close();
    }
    if (s3rver != null) {
      s3rver.close();
    }
  }

  @AfterEach
  void clean() {
    DockerHosts.cleanAll(DockerHosts.hostA());
    DockerHosts.cleanAll(DockerHosts.hostB());
  }

  @Test
  void run_eightHostsJobsAtOnceWithAPruneInTheMiddle_everyBackupSucceedsAndNothingIsLost(DockerDaemon a,
      @DockerHosts.B DockerDaemon b) throws Exception {
    Path local = tmp.resolve("repo");
    List<Process> runs = new ArrayList<>();
    List<Path> logs = new ArrayList<>();
    List<String[]> containers = new ArrayList<>(); // {host, name}
    for (DockerDaemon d : List.of(a, b)) {
      for (int i = 0; i < PER_HOST; i++) {
        // "web" on both engines: a same-named container frozen in the same second on two hosts.
        String name = i == 0 ? "web" : (d == a ? "a" : "b") + i;
        // The pre hook holds each run inside its lock until the test says go: all eight hold it at once.
        d.docker("run", "-d", "--name", name, "--network", "none", "-v", name + "-data:/data", TestImages.BASE,
            "sh", "-c", "echo " + name + " > /data/who; head -c 200000 /dev/urandom > /data/r; exec sleep 100000");
        BackupRestoreIT.awaitFile(d, name, "/data/r");
        containers.add(new String[] {d.host(), name});
      }
    }
    for (String[] c : containers) {
      Path cfg = tmp.resolve("job-" + c[1] + "-" + runs.size() + ".yaml");
      Files.writeString(cfg, job(c[0], c[1], local));
      Path log = tmp.resolve("run-" + runs.size() + ".log");
      logs.add(log);
      ProcessBuilder pb = new ProcessBuilder(Cli.javaCommand("-Xmx128m", "run", "--config", cfg.toString()))
          .redirectErrorStream(true).redirectOutput(log.toFile());
      pb.environment().putAll(Map.of("AWS_ACCESS_KEY_ID", S3rverServer.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY",
          S3rverServer.SECRET_KEY));
      runs.add(pb.start());
    }
    String missing = awaitHolders(local, runs.size(), runs);
    if (missing != null) {
      // Let every run finish, so that the failure shows what each one said.
      release(containers, a, b);
      StringBuilder all = new StringBuilder(missing);
      for (int i = 0; i < runs.size(); i++) {
        runs.get(i).waitFor(10, TimeUnit.MINUTES);
        all.append("\n--- run ").append(i).append(":\n").append(Files.readString(logs.get(i)));
      }
      throw new AssertionError(all.toString());
    }

    // A prune started while every run holds the repository: it waits for them, then loses nothing.
    Process prune = new ProcessBuilder(Cli.javaCommand("-Xmx128m", "prune", "--repo", local.toString(),
        "--keep-last", "5", "--lock-wait", "600")).redirectErrorStream(true)
        .redirectOutput(tmp.resolve("prune.log").toFile()).start();
    release(containers, a, b);
    for (int i = 0; i < runs.size(); i++) {
      assertThat(runs.get(i).waitFor(10, TimeUnit.MINUTES)).as("run %d finished", i).isTrue();
      assertThat(runs.get(i).exitValue()).as(Files.readString(logs.get(i))).isZero();
    }
    assertThat(prune.waitFor(10, TimeUnit.MINUTES)).isTrue();
    assertThat(prune.exitValue()).as(Files.readString(tmp.resolve("prune.log"))).isZero();

    S3rverServer.useCredentials();
    try {
      for (String[] repo : List.of(new String[] {local.toString()},
          new String[] {"s3://fleet/p", "--s3-endpoint", s3proxy.endpoint(), "--s3-region", S3ProxyServer.REGION},
          new String[] {"s3://fleet/r", "--s3-endpoint", s3rver.endpoint(), "--s3-region", S3rverServer.REGION})) {
        Cli.Run list = Cli.run(concat(new String[] {"snapshots", "--json", "--repo"}, repo));
        assertThat(list.exitCode()).as(list.toString()).isZero();
        JsonNode snaps = Json.tree(list.out().getBytes(StandardCharsets.UTF_8), "snapshots --json");
        List<String> names = new ArrayList<>();
        List<String> tags = new ArrayList<>();
        snaps.forEach(s -> {
          names.add(s.path("container").asText());
          tags.add(s.path("tag").asText());
        });
        assertThat(names).as(list.out()).containsExactlyInAnyOrder("web", "web", "a1", "a2", "a3", "b1", "b2", "b3");
        assertThat(tags).doesNotHaveDuplicates();
        Cli.Run verify = Cli.run(concat(new String[] {"verify", "--repo"}, repo));
        assertThat(verify.exitCode()).as(verify.toString()).isZero();
        assertThat(verify.out() + verify.err()).contains("8 snapshot(s) verified");
      }
    } finally {
      S3ProxyServer.useCredentials(null, null);
    }
  }

  private String job(String host, String container, Path local) {
    return "jobs:\n  fleet-" + container + ":\n    host: " + host + "\n    containers: [" + container + "]\n"
        + "    retention: {keep-last: 3}\n"
        + "    hooks:\n      pre:\n        - command: \"i=0; while [ ! -e /tmp/go ] && [ $i -lt 1500 ]; do sleep 0.2;"
        + " i=$((i+1)); done\"\n          timeout: 10m\n"
        + "    repositories:\n      - " + local + "\n"
        + "      - url: s3://fleet/p\n        s3-endpoint: " + s3proxy.endpoint() + "\n        s3-region: "
        + S3ProxyServer.REGION + "\n        s3-checksum: when-required\n"
        + "      - url: s3://fleet/r\n        s3-endpoint: " + s3rver.endpoint() + "\n        s3-region: "
        + S3rverServer.REGION + "\n";
  }

  /**
   * Waits (bounded) until {@code n} lock holders are in the local repository: null then, else what went wrong (a
   * run ended early, or fewer holders after five minutes).
   */
  private static String awaitHolders(Path repo, int n, List<Process> runs) throws Exception {
    for (int i = 0; i < 3000; i++) {
      for (int r = 0; r < runs.size(); r++) {
        if (!runs.get(r).isAlive()) {
          return "run " + r + " ended before the prune started";
        }
      }
      if (holders(repo) >= n) {
        return null;
      }
      Thread.sleep(100);
    }
    return "only " + holders(repo) + " of " + n + " runs took the repository lock in 5 minutes";
  }

  /** Ends every run's pre hook. */
  private static void release(List<String[]> containers, DockerDaemon a, DockerDaemon b) {
    for (String[] c : containers) {
      DockerDaemon d = c[0].equals(a.host()) ? a : b;
      d.docker("exec", c[1], "touch", "/tmp/go");
    }
  }

  private static long holders(Path repo) throws IOException {
    Path locks = repo.resolve("locks");
    if (!Files.isDirectory(locks)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(locks)) {
      return s.filter(p -> p.getFileName().toString().startsWith("holder-")).count();
    }
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = new String[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
