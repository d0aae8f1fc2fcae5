package io.jmigrate.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Tests for {@link Scheduler}, on a stepped test clock. */
class SchedulerTest {

  /** A clock that only moves when the sleeper moves it. */
  static final class StepClock extends Clock {
    private volatile Instant now;

    StepClock(Instant start) {
      now = start;
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

    void set(Instant t) {
      now = t;
    }
  }

  /**
   * Jumps the clock to each wake-up time; stops the scheduler once the clock passes {@code end}. With
   * {@code finishFirst}, runs in progress end before time moves on, as they would in the real hours in between.
   */
  static final class JumpingSleeper implements Scheduler.Sleeper {
    final StepClock clock;
    final Instant end;
    final boolean finishFirst;
    Scheduler scheduler;
    final List<Instant> wakeUps = new CopyOnWriteArrayList<>();

    JumpingSleeper(StepClock clock, Instant end, boolean finishFirst) {
      this.clock = clock;
      this.end = end;
      this.finishFirst = finishFirst;
    }

    @Override
    public void sleepUntil(Instant until, Clock c) throws InterruptedException {
      if (finishFirst) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!scheduler.running().isEmpty() && System.nanoTime() < deadline) {
          Thread.sleep(5);
        }
      }
      if (until.isAfter(end)) {
        scheduler.stop();
        return;
      }
      wakeUps.add(until);
      clock.set(until);
    }

    @Override
    public void wake() {}
  }

  private static List<Job> jobs(String yaml) throws Exception {
    return List.copyOf(JobConfigLoader.load(new StringReader(yaml), "t.yaml", null).jobs().values());
  }

  private static RunSummary summary(Job job, Instant t) {
    return RunSummary.builder(job.name()).started(t).finished(t)
        .add(RunSummary.ContainerResult.success("web", "/r", "0123456789ab", 10, Duration.ZERO)).build();
  }

  @Test
  void run_twoJobsOverADay_firesEachAtItsCronTimesInItsZone() throws Exception {
    List<Job> jobs = jobs("jobs:\n"
        + "  nightly:\n    containers: [web]\n    repository: /r\n    schedule: \"30 2 * * *\"\n"
        + "    timezone: Europe/Berlin\n"
        + "  sixhourly:\n    containers: [db]\n    repository: /r\n    schedule: \"0 */6 * * *\"\n"
        + "  manual:\n    containers: [x]\n    repository: /r\n");
    StepClock clock = new StepClock(Instant.parse("2026-11-20T00:00:00Z"));
    JumpingSleeper sleeper = new JumpingSleeper(clock, Instant.parse("2026-11-20T23:59:00Z"), true);
    List<String> fired = new CopyOnWriteArrayList<>();
    Scheduler s = new Scheduler(jobs, job -> {
      fired.add(job.name() + "@" + clock.instant());
      return summary(job, clock.instant());
    }, clock, sleeper);
    sleeper.scheduler = s;

    assertThat(s.scheduledJobs()).extracting(Job::name).containsExactly("nightly", "sixhourly");
    s.run(false);
    assertThat(s.awaitIdle(Duration.ofSeconds(10))).isTrue();

    // 02:30 in Berlin is 01:30 UTC in November; the six-hourly job fires at 06, 12, 18 (00:00 is the start, not
    // after it).
    assertThat(fired).containsExactlyInAnyOrder("nightly@2026-11-20T01:30:00Z", "sixhourly@2026-11-20T06:00:00Z",
        "sixhourly@2026-11-20T12:00:00Z", "sixhourly@2026-11-20T18:00:00Z");
    assertThat(sleeper.wakeUps).containsExactly(Instant.parse("2026-11-20T01:30:00Z"),
        Instant.parse("2026-11-20T06:00:00Z"), Instant.parse("2026-11-20T12:00:00Z"),
        Instant.parse("2026-11-20T18:00:00Z"));
    assertThat(s.startedRuns()).isEqualTo(4);
    assertThat(s.skippedRuns()).isZero();
  }

  @Test
  void run_jobStillRunningWhenDueAgain_skipsThatRunAndNeverOverlaps() throws Exception {
    List<Job> jobs = jobs("jobs:\n  hourly:\n    containers: [web]\n    repository: /r\n    schedule: \"@hourly\"\n");
    StepClock clock = new StepClock(Instant.parse("2026-11-20T00:30:00Z"));
    JumpingSleeper sleeper = new JumpingSleeper(clock, Instant.parse("2026-11-20T03:30:00Z"), false);
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch firstStarted = new CountDownLatch(1);
    List<Instant> starts = new CopyOnWriteArrayList<>();
    int[] concurrent = {0, 0};
    Scheduler s = new Scheduler(jobs, job -> {
      synchronized (concurrent) {
        concurrent[0]++;
        concurrent[1] = Math.max(concurrent[1], concurrent[0]);
      }
      starts.add(clock.instant());
      firstStarted.countDown();
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (concurrent) {
        concurrent[0]--;
      }
      return summary(job, clock.instant());
    }, clock, new Scheduler.Sleeper() {
      @Override
      public void sleepUntil(Instant until, Clock c) throws InterruptedException {
        // The first run must be under way before the clock moves past it, so the later ones find it running.
        if (!sleeper.wakeUps.isEmpty()) {
          firstStarted.await(10, TimeUnit.SECONDS);
        }
        sleeper.sleepUntil(until, c);
      }

      @Override
      public void wake() {}
    });
    sleeper.scheduler = s;

    s.run(false);
    release.countDown();
    assertThat(s.awaitIdle(Duration.ofSeconds(10))).isTrue();

    assertThat(starts).containsExactly(Instant.parse("2026-11-20T01:00:00Z"));
    assertThat(s.skippedRuns()).isEqualTo(2);
    assertThat(concurrent[1]).isEqualTo(1);
  }

  @Test
  void run_runAtStart_runsEveryScheduledJobAtOnce() throws Exception {
    List<Job> jobs = jobs("jobs:\n  a:\n    containers: [web]\n    repository: /r\n    schedule: \"0 3 * * *\"\n");
    StepClock clock = new StepClock(Instant.parse("2026-11-20T10:00:00Z"));
    JumpingSleeper sleeper = new JumpingSleeper(clock, Instant.parse("2026-11-20T11:00:00Z"), true);
    List<Instant> starts = new CopyOnWriteArrayList<>();
    Scheduler s = new Scheduler(jobs, job -> {
      starts.add(clock.instant());
      return summary(job, clock.instant());
    }, clock, sleeper);
    sleeper.scheduler = s;

    s.run(true);
    assertThat(s.awaitIdle(Duration.ofSeconds(10))).isTrue();

    assertThat(starts).containsExactly(Instant.parse("2026-11-20T10:00:00Z"));
  }

  @Test
  void stop_fromAnotherThreadDuringARealSleep_endsTheLoopAndRunningJobsSeeIt() throws Exception {
    List<Job> jobs = jobs("jobs:\n  a:\n    containers: [web]\n    repository: /r\n    schedule: \"0 3 1 1 *\"\n");
    CountDownLatch running = new CountDownLatch(1);
    Scheduler[] holder = new Scheduler[1];
    boolean[] sawStop = {false};
    Scheduler s = new Scheduler(jobs, job -> {
      running.countDown();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!holder[0].stopping() && System.nanoTime() < deadline) {
        Thread.onSpinWait();
      }
      sawStop[0] = holder[0].stopping();
      return summary(job, Instant.now());
    }, Clock.systemUTC(), Scheduler.realSleeper());
    holder[0] = s;
    Thread loop = new Thread(() -> {
      try {
        s.run(true);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    loop.start();
    assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();

    s.stop();
    loop.join(10_000);

    assertThat(loop.isAlive()).isFalse();
    assertThat(s.awaitIdle(Duration.ofSeconds(10))).isTrue();
    assertThat(sawStop[0]).isTrue();
  }
}
