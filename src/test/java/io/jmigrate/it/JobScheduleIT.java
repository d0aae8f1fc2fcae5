package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.job.Job;
import io.jmigrate.job.JobConfigLoader;
import io.jmigrate.job.JobRunner;
import io.jmigrate.job.RunSummary;
import io.jmigrate.job.Scheduler;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for {@link Scheduler} with the real {@link JobRunner} on a test clock, and for {@code jmigrate schedule} as a
 * process that receives SIGTERM in the middle of a run.
 */
@ExtendWith(DockerHosts.class)
class JobScheduleIT {
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

  /** A clock set by the test. */
  static final class TestClock extends Clock {
    volatile Instant now;

    TestClock(Instant now) {
      this.now = now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  void scheduler_testClockReachesTheCronTime_runsTheRealJobOnce() throws Exception {
    a.docker("run", "-d", "--name", "web", "--network", "none", "-v", "web-data:/data", TestImages.BASE, "sleep",
        "100000");
    Path cfg = JobTesting.writeConfig(tmp, "jobs:\n  nightly:\n    host: " + a.host() + "\n    containers: [web]\n"
        + "    repository: " + repo + "\n    schedule: \"30 2 * * *\"\n    timezone: Europe/Berlin\n");
    List<Job> jobs = List.copyOf(JobConfigLoader.load(cfg).jobs().values());
    // 02:29 in Berlin on a winter night; the sleeper jumps to each wake-up, and stops after 02:31.
    TestClock clock = new TestClock(Instant.parse("2026-11-20T01:29:00Z"));
    Instant end = Instant.parse("2026-11-20T01:31:00Z");
    List<RunSummary> runs = new CopyOnWriteArrayList<>();
    // The run reads the same clock: its summary says when, by the schedule's time, it started.
    JobRunner runner = new JobRunner(new JobRunner.Settings(java.time.Duration.ZERO,
        io.jmigrate.job.EffectiveSettings.Overrides.NONE, "test", null, null, clock, null));
    Scheduler[] holder = new Scheduler[1];
    Scheduler s = new Scheduler(jobs, job -> {
      RunSummary r = runner.run(job).summary();
      runs.add(r);
      return r;
    }, clock, new Scheduler.Sleeper() {
      @Override
      public void sleepUntil(Instant until, Clock c) throws InterruptedException {
        while (!holder[0].running().isEmpty()) {
          Thread.sleep(20); // a run takes real time; the test clock waits for it
        }
        if (until.isAfter(end)) {
          holder[0].stop();
        } else {
          clock.now = until;
        }
      }

      @Override
      public void wake() {}
    });
    holder[0] = s;

    s.run(false);
    assertThat(s.awaitIdle(java.time.Duration.ofMinutes(5))).isTrue();

    assertThat(runs).hasSize(1);
    assertThat(runs.get(0).status()).as(runs.get(0).toString()).isEqualTo(RunSummary.Status.SUCCESS);
    assertThat(runs.get(0).started()).isEqualTo(Instant.parse("2026-11-20T01:30:00Z"));
    assertThat(JobTesting.tags(repo)).hasSize(1);
  }

  /** Starts {@code jmigrate schedule --run-at-start} on a job whose container has a large volume to back up. */
  private Process startScheduleDuringABigBackup(String... extra) throws Exception {
    a.docker("run", "-d", "--name", "big", "--network", "none", "-v", "big-data:/data", TestImages.BASE, "sh", "-c",
        "head -c 268435456 /dev/urandom > /data/big; touch /data/done; exec sleep 100000");
    JobTesting.awaitFile(a, "big", "/data/done");
    Path cfg = JobTesting.writeConfig(tmp, "jobs:\n  nightly:\n    host: " + a.host() + "\n    containers: [big]\n"
        + "    repository: " + repo + "\n    schedule: \"0 3 1 1 *\"\n    consistency: pause\n");
    List<String> args = new java.util.ArrayList<>(List.of("schedule", "--config", cfg.toString(), "--run-at-start"));
    args.addAll(List.of(extra));
    Process p = new ProcessBuilder(Cli.javaCommand("-Xmx256m", args.toArray(String[]::new)))
        .redirectErrorStream(true).redirectOutput(tmp.resolve("schedule.log").toFile()).start();
    // Wait until the backup holds the container paused: the middle of a run.
    for (int i = 0; i < 1200 && p.isAlive(); i++) {
      if ("paused".equals(JobTesting.state(a, "big"))) {
        return p;
      }
      Thread.sleep(25);
    }
    p.destroyForcibly();
    throw new AssertionError("the scheduled run never paused the container: " + Files.readString(tmp.resolve(
        "schedule.log")));
  }

  private void assertCleanAfterStop() throws Exception {
    assertThat(JobTesting.state(a, "big")).isEqualTo("running");
    assertThat(a.docker("images", "-q", "jmigrate-tmp").strip()).as("temporary image removed").isEmpty();
    Cli.Run verify = Cli.run("verify", "--repo", repo.toString());
    assertThat(verify.exitCode()).as("every published snapshot is whole: " + verify).isZero();
  }

  @Test
  void schedule_sigtermDuringARun_finishesTheContainerThenExitsZero() throws Exception {
    Process p = startScheduleDuringABigBackup();
    p.destroy(); // SIGTERM

    assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
    String log = Files.readString(tmp.resolve("schedule.log"));
    assertThat(p.exitValue()).as(log).isZero();
    assertThat(log).contains("received SIGTERM").contains("jmigrate schedule stopped");
    assertCleanAfterStop();
    // It finished the container it was backing up: one whole snapshot.
    assertThat(JobTesting.tags(repo)).hasSize(1);
  }

  @Test
  void schedule_sigtermAndTheStopTimeoutPasses_abortsWithTheContainerRunningAndNothingHalfPublished()
      throws Exception {
    Process p = startScheduleDuringABigBackup("--stop-timeout", "100ms");
    // Let the commit (which comes right after the pause) finish: the abort then hits the volume read.
    Thread.sleep(1000);
    boolean midRun = "paused".equals(JobTesting.state(a, "big"));
    p.destroy(); // SIGTERM

    assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
    String log = Files.readString(tmp.resolve("schedule.log"));
    assertThat(p.exitValue()).as(log).isZero();
    assertThat(log).contains("stopping now");
    assertCleanAfterStop();
    if (midRun) {
      assertThat(JobTesting.tags(repo)).as(log).isEmpty();
    }
  }
}
