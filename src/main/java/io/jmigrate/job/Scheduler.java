package io.jmigrate.job;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The foreground scheduler behind {@code jmigrate schedule}: runs each job at its cron times ({@link CronSchedule},
 * in the job's time zone), each run on its own thread, and never overlaps a job with itself: a run that comes due
 * while the previous one still works is skipped and logged. Jobs with different names may run at the same time
 * (two that share a repository then take turns at its lock).
 *
 * <p>Times come from the injected {@link Clock} and waiting from the injected {@link Sleeper}, so tests drive it on
 * a stepped clock. Like cron, it does not catch up runs missed while it was not running (or while the machine
 * slept): after a wake-up it fires what is due now once and continues with the next times.
 *
 * <p>{@link #stop()} (SIGTERM) ends the loop: no new run starts; running jobs see {@link #stopping()} and skip
 * their remaining containers; {@link #awaitIdle} waits for them.
 */
public final class Scheduler {
  private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);
  /** The real sleeper re-reads the clock at least this often, so clock changes and suspends are noticed. */
  static final Duration MAX_NAP = Duration.ofSeconds(30);

  /** Runs one job once and says how it went. */
  @FunctionalInterface
  public interface JobExecutor {
    RunSummary run(Job job);
  }

  /** Waits until the clock reaches a time, or until {@link #wake()} is called. */
  public interface Sleeper {
    /** Returns when {@code clock} has reached {@code until} or when woken; may return early (the loop re-checks). */
    void sleepUntil(Instant until, Clock clock) throws InterruptedException;

    /** Ends a sleep in progress. */
    void wake();
  }

  /** Sleeps in real time, in naps of at most {@link #MAX_NAP}. */
  public static Sleeper realSleeper() {
    return new Sleeper() {
      private final Object monitor = new Object();
      private boolean woken;

      @Override
      public void sleepUntil(Instant until, Clock clock) throws InterruptedException {
        synchronized (monitor) {
          long ms = Duration.between(clock.instant(), until).toMillis();
          if (ms > 0 && !woken) {
            monitor.wait(Math.min(ms, MAX_NAP.toMillis()));
          }
          woken = false;
        }
      }

      @Override
      public void wake() {
        synchronized (monitor) {
          woken = true;
          monitor.notifyAll();
        }
      }
    };
  }

  private final List<Job> jobs;
  private final JobExecutor executor;
  private final Clock clock;
  private final Sleeper sleeper;
  private final ExecutorService threads;
  private final Map<String, Instant> running = new ConcurrentHashMap<>();
  private final AtomicInteger skipped = new AtomicInteger();
  private final AtomicInteger started = new AtomicInteger();
  private volatile boolean stopping;

  /**
   * @param jobs the jobs; those without a schedule are ignored (the command refuses a file where none has one)
   * @param executor runs one job
   * @param clock now
   * @param sleeper how to wait
   */
  public Scheduler(List<Job> jobs, JobExecutor executor, Clock clock, Sleeper sleeper) {
    this.jobs = jobs.stream().filter(j -> j.schedule().isPresent()).toList();
    this.executor = Objects.requireNonNull(executor, "executor");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    AtomicInteger n = new AtomicInteger();
    ThreadFactory tf = r -> {
      Thread t = new Thread(r, "jmigrate-job-" + n.incrementAndGet());
      t.setDaemon(false);
      return t;
    };
    this.threads = Executors.newCachedThreadPool(tf);
  }

  /** The jobs that have a schedule, in file order. */
  public List<Job> scheduledJobs() {
    return jobs;
  }

  /**
   * Runs the schedule until {@link #stop()}. With {@code runAtStart}, every scheduled job also runs once right
   * away.
   */
  public void run(boolean runAtStart) throws InterruptedException {
    Map<Job, Instant> next = new LinkedHashMap<>();
    Instant now = clock.instant();
    for (Job j : jobs) {
      next.put(j, j.schedule().get().next(now));
      LOG.info("job {}: schedule {}, first run at {}", j.name(), j.schedule().get(), local(j, next.get(j)));
    }
    if (runAtStart) {
      for (Job j : jobs) {
        fire(j, now);
      }
    }
    while (!stopping) {
      Instant wake = next.values().stream().min(Instant::compareTo).orElseThrow();
      if (clock.instant().isBefore(wake)) {
        sleeper.sleepUntil(wake, clock);
        continue; // re-check: woken early, stopped, or the clock moved
      }
      now = clock.instant();
      for (Map.Entry<Job, Instant> e : next.entrySet()) {
        if (stopping) {
          break;
        }
        if (!e.getValue().isAfter(now)) {
          Job j = e.getKey();
          fire(j, e.getValue());
          // Count from now, not from the due time: runs missed while asleep are not caught up.
          Instant after = e.getValue().isAfter(now) ? e.getValue() : now;
          e.setValue(j.schedule().get().next(after));
          LOG.debug("job {}: next run at {}", j.name(), local(j, e.getValue()));
        }
      }
    }
    LOG.info("scheduler stopped: no new runs start");
  }

  private void fire(Job job, Instant due) {
    Instant since = running.putIfAbsent(job.name(), clock.instant());
    if (since != null) {
      skipped.incrementAndGet();
      LOG.warn("job {}: skipped the run due at {}: its previous run, started {}, is still going", job.name(),
          local(job, due), local(job, since));
      return;
    }
    started.incrementAndGet();
    try {
      threads.execute(() -> {
        try {
          RunSummary s = executor.run(job);
          Instant nextTime = job.schedule().get().next(clock.instant());
          String line = "job " + job.name() + ": " + s.status().value() + " in " + Durations.format(s.duration()
              .withNanos(0)) + ", " + okCount(s) + " of " + s.containers().size() + " results, " + bytes(
                  s.totalBytes()) + (s.error() != null ? " (" + s.error() + ")" : "") + "; next run at "
              + local(job, nextTime);
          if (s.status() == RunSummary.Status.SUCCESS) {
            LOG.info("{}", line);
          } else {
            LOG.error("{}", line);
          }
        } catch (RuntimeException e) {
          LOG.error("job {}: the run failed unexpectedly: {}", job.name(), JobRunner.message(e), e);
        } finally {
          running.remove(job.name());
          synchronized (running) {
            running.notifyAll();
          }
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      running.remove(job.name());
    }
  }

  private static long okCount(RunSummary s) {
    return s.containers().stream().filter(RunSummary.ContainerResult::succeeded).count();
  }

  /** Stops the loop (no new runs); running jobs see {@link #stopping()}. Safe from any thread. */
  public void stop() {
    stopping = true;
    sleeper.wake();
  }

  /** True once {@link #stop()} was called: running jobs skip what they have not started. */
  public boolean stopping() {
    return stopping;
  }

  /** The jobs running now, with their start times. */
  public Map<String, Instant> running() {
    return Map.copyOf(running);
  }

  /** Runs skipped because the job was still running. */
  public int skippedRuns() {
    return skipped.get();
  }

  /** Runs started. */
  public int startedRuns() {
    return started.get();
  }

  /**
   * Waits until no job runs, up to {@code timeout}; then lets the job threads end.
   *
   * @return true when idle
   */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (running) {
      while (!running.isEmpty()) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          return false;
        }
        running.wait(Math.min(left, 1000));
      }
    }
    threads.shutdown();
    return true;
  }

  private static String local(Job job, Instant t) {
    return ZonedDateTime.ofInstant(t, job.timezone()).toOffsetDateTime().toString();
  }

  /** Sizes as 1.5 GiB, 12.0 MiB, 512 B. */
  static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = n;
    int i = -1;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[i]);
  }
}
