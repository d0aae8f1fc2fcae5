package io.jmigrate.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import io.jmigrate.backup.Consistency;
import io.jmigrate.job.EffectiveSettings;
import io.jmigrate.job.Job;
import io.jmigrate.job.JobConfig;
import io.jmigrate.job.JobRunner;
import io.jmigrate.job.RunSummary;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jmigrate run [JOB...]}: runs jobs once, for cron and systemd timers. */
@Command(name = "run", mixinStandardHelpOptions = true,
    header = "Run the job file's backup jobs once (for cron and systemd timers).",
    description = {"Run backup jobs from the job file once: back up every selected container to each of the job's "
        + "repositories (with its hooks), apply its retention, and notify its webhook. For cron and systemd timers: "
        + "quiet on success unless -v; failures are printed one per line on stderr."})
final class RunCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Mixin
  ConfigMixin config;

  @Parameters(paramLabel = "JOB", arity = "0..*", description = "Jobs to run, in this order (default: every job).")
  List<String> jobs = new ArrayList<>();

  @Option(names = "--summary", paramLabel = "FILE",
      description = "Write the run summary as JSON (one job: the webhook's document; several: an array of them).")
  Path summaryFile;

  @Option(names = "--lock-wait", paramLabel = "SECONDS", defaultValue = "0",
      converter = Converters.NonNegative.class,
      description = "How long to wait for another run or prune that holds a repository (default 0: exit at once "
          + "with code 8, naming the holder).")
  long lockWait;

  @Option(names = "--consistency", paramLabel = "MODE", converter = Converters.ConsistencyConverter.class,
      description = "Override every container's consistency (pause, stop, none); beats labels and the file.")
  Consistency consistency;

  @Option(names = "--hook-timeout", paramLabel = "DURATION", converter = Converters.DurationConverter.class,
      description = "Override the timeout of every hook, e.g. 5m.")
  Duration hookTimeout;

  @Option(names = "--include-binds", negatable = true,
      description = "Override include-binds for every container.")
  Boolean includeBinds;

  @Override
  public Integer call() throws Exception {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    Level before = ctx.getLogger("io.jmigrate").getLevel();
    boolean verbose = ctx.getLogger("io.jmigrate").isDebugEnabled();
    Level notifierBefore = ctx.getLogger("io.jmigrate.job.WebhookNotifier").getLevel();
    if (!verbose) {
      // Quiet on success: cron mails whatever a job prints. Failures are printed below, one line each; a webhook
      // that cannot be reached is still said (its warning).
      LoggingMixin.level("io.jmigrate", Level.ERROR);
      LoggingMixin.level("io.jmigrate.job.WebhookNotifier", Level.WARN);
    }
    try {
      return runJobs(verbose);
    } finally {
      ctx.getLogger("io.jmigrate").setLevel(before);
      ctx.getLogger("io.jmigrate.job.WebhookNotifier").setLevel(notifierBefore);
    }
  }

  private int runJobs(boolean verbose) throws Exception {
    EffectiveSettings.Overrides overrides = new EffectiveSettings.Overrides(consistency, hookTimeout, includeBinds);
    JobConfig cfg = config.load();
    List<Job> selected;
    try {
      selected = cfg.select(jobs);
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    JobRunner runner = new JobRunner(JobRunner.Settings.defaults(Version.get())
        .withLockWait(Duration.ofSeconds(lockWait)).withOverrides(overrides).withProgress(Progress.forStderr()));
    PrintWriter err = spec.commandLine().getErr();
    List<RunSummary> summaries = new ArrayList<>();
    List<Throwable> causes = new ArrayList<>();
    long ok = 0;
    long failed = 0;
    for (Job job : selected) {
      JobRunner.Outcome o = runner.run(job);
      RunSummary s = o.summary();
      summaries.add(s);
      causes.addAll(o.causes());
      for (RunSummary.ContainerResult r : s.containers()) {
        if (r.succeeded()) {
          ok++;
          if (verbose) {
            err.println("jmigrate: job " + job.name() + ": " + r.container() + " -> " + r.repository() + ": snapshot "
                + r.snapshot() + " (" + Format.bytes(r.bytes()) + ", " + Format.duration(r.duration()) + ")");
          }
        } else {
          failed++;
          err.println("jmigrate: job " + job.name() + ": " + r.container() + " -> " + r.repository() + ": "
              + r.error());
        }
      }
      if (s.error() != null) {
        failed++;
        err.println("jmigrate: job " + job.name() + ": " + s.error());
      }
      if (verbose || s.status() != RunSummary.Status.SUCCESS) {
        err.println("jmigrate: job " + job.name() + ": " + s.status().value() + " (" + s.containers().stream()
            .filter(RunSummary.ContainerResult::succeeded).count() + " of " + s.containers().size()
            + " results, " + Format.bytes(s.totalBytes()) + ", " + Format.duration(s.duration()) + ")");
      }
    }
    err.flush();
    if (summaryFile != null) {
      writeSummaries(summaryFile, summaries);
    }
    if (failed == 0) {
      return ExitCode.OK;
    }
    if (ok > 0) {
      return ExitCode.PARTIAL;
    }
    return sameCode(causes);
  }

  /** The code every failure shares (e.g. all LOCKED), else FAILED. */
  static int sameCode(List<Throwable> causes) {
    Integer code = null;
    for (Throwable t : causes) {
      int c = ExitCode.of(t);
      if (code == null) {
        code = c;
      } else if (code != c) {
        return ExitCode.FAILED;
      }
    }
    return code == null ? ExitCode.FAILED : code;
  }

  /** One summary as its own document; several as a JSON array; written atomically. */
  static void writeSummaries(Path file, List<RunSummary> summaries) throws IOException {
    if (summaries.size() == 1) {
      summaries.get(0).writeTo(file);
      return;
    }
    Path abs = file.toAbsolutePath();
    Path tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName() + ".", ".tmp");
    try {
      try (OutputStream out = Files.newOutputStream(tmp)) {
        out.write('[');
        for (int i = 0; i < summaries.size(); i++) {
          if (i > 0) {
            out.write(',');
          }
          out.write('\n');
          out.write(summaries.get(i).toJson(true));
        }
        out.write("\n]\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
      try {
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
