package io.jmigrate.cli;

import io.jmigrate.job.Durations;
import io.jmigrate.job.Job;
import io.jmigrate.job.JobConfig;
import io.jmigrate.job.JobRunner;
import io.jmigrate.job.Scheduler;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code jmigrate schedule}: the foreground scheduler, for running as a service. */
@Command(name = "schedule", mixinStandardHelpOptions = true,
    header = "Run the job file's jobs at their cron times, in the foreground.",
    description = {"Run the jobs of the job file at their schedule: times, in the foreground (for systemd or a "
        + "container). A job never overlaps itself: a run that comes due while the previous one works is skipped and "
        + "logged. Each run is logged with its result, duration and size.",
        "SIGTERM or Ctrl-C: no new run starts, the running job finishes the container it is backing up and skips "
        + "the rest, then jmigrate exits 0. After --stop-timeout, or on a second signal, it stops at once: frozen "
        + "containers are resumed and nothing half-written is published."})
final class ScheduleCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(ScheduleCommand.class);

  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Mixin
  ConfigMixin config;

  @Option(names = "--run-at-start", description = "Also run every scheduled job once right away.")
  boolean runAtStart;

  @Option(names = "--stop-timeout", paramLabel = "DURATION", defaultValue = "60s",
      converter = Converters.DurationConverter.class,
      description = "After SIGTERM, how long a running job may take to finish its current container before it is "
          + "aborted (default 60s; keep it below systemd's TimeoutStopSec).")
  Duration stopTimeout;

  @Option(names = "--lock-wait", paramLabel = "SECONDS", defaultValue = "3600",
      converter = Converters.NonNegative.class,
      description = "How long a run waits for another run, backup or prune that holds a repository (default 3600).")
  long lockWait;

  @Override
  public Integer call() throws Exception {
    Duration stopAfter = stopTimeout;
    JobConfig cfg = config.load();
    List<Job> scheduled = cfg.jobs().values().stream().filter(j -> j.schedule().isPresent())
        .collect(Collectors.toList());
    if (scheduled.isEmpty()) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "no job in " + cfg.source()
          + " has a schedule; add one, e.g. schedule: \"30 2 * * *\", or run the jobs with `jmigrate run`");
    }
    Scheduler[] holder = new Scheduler[1];
    JobRunner runner = new JobRunner(JobRunner.Settings.defaults(Version.get())
        .withLockWait(Duration.ofSeconds(lockWait)).withProgress(Progress.forStderr())
        .withStopRequested(() -> holder[0] != null && holder[0].stopping()));
    Scheduler scheduler = new Scheduler(scheduled, job -> runner.run(job).summary(), Clock.systemUTC(),
        Scheduler.realSleeper());
    holder[0] = scheduler;
    Signals.onTermination(scheduler::stop, ExitCode.OK);
    LOG.info("jmigrate {} schedule: {} job(s) from {}: {}", Version.get(), scheduled.size(), cfg.source(),
        scheduled.stream().map(Job::name).collect(Collectors.joining(", ")));
    scheduler.run(runAtStart);
    if (!scheduler.running().isEmpty()) {
      LOG.info("waiting up to {} for {} to finish", Durations.format(stopAfter),
          String.join(", ", scheduler.running().keySet()));
    }
    if (!scheduler.awaitIdle(stopAfter)) {
      LOG.warn("{} still running after {}: stopping now; frozen containers are resumed and nothing half-written is "
          + "published", String.join(", ", scheduler.running().keySet()), Durations.format(stopAfter));
      // The shutdown hooks (engine.Shutdown) resume containers, remove temporary images and block any publish.
      System.exit(ExitCode.OK);
    }
    LOG.info("jmigrate schedule stopped");
    return ExitCode.OK;
  }
}
