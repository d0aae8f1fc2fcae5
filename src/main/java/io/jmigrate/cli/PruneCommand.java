package io.jmigrate.cli;

import io.jmigrate.job.Durations;
import io.jmigrate.job.Job;
import io.jmigrate.job.JobConfig;
import io.jmigrate.job.Pruner;
import io.jmigrate.job.RepositoryConfig;
import io.jmigrate.snapshot.RetentionException;
import io.jmigrate.snapshot.RetentionPolicy;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreOptions;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jmigrate prune}: retention per container, then garbage collection of unreferenced blobs. */
@Command(name = "prune", mixinStandardHelpOptions = true,
    header = "Apply retention, then remove blobs no snapshot references.",
    description = {"Apply retention and free space. First forget (untag) the snapshots that no --keep-* rule keeps, "
        + "per container; then delete the blobs no remaining snapshot references. Safe while backups run: prune "
        + "takes the repository's exclusive lock (backups hold it shared) and never deletes a blob younger than "
        + "--gc-grace. Registry repositories are only untagged: their space is freed by the registry's own "
        + "garbage-collect.",
        "",
        "  jmigrate prune --repo /backups --keep-daily 7 --keep-weekly 4",
        "      rules from the command line",
        "  jmigrate prune --config /etc/jmigrate/jmigrate.yaml [JOB...]",
        "      each job's retention, repositories and containers",
        "",
        "Without rules (and without a job), no snapshot is forgotten and only garbage is collected."})
final class PruneCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Mixin
  RepoMixin repo;

  @Option(names = {"-c", "--config"}, paramLabel = "FILE",
      description = "Prune the repositories of the jobs in this job file, by each job's retention and time zone, "
          + "over the containers it selects.")
  java.nio.file.Path config;

  @Parameters(paramLabel = "JOB", arity = "0..*",
      description = "With --config (or $JMIGRATE_CONFIG): only these jobs (default: every job).")
  List<String> jobs = new ArrayList<>();

  @ArgGroup(exclusive = false)
  Keep keep = new Keep();

  /** The --keep-* rules (restic's forget --keep-*). */
  static final class Keep {
    @Option(names = "--keep-last", paramLabel = "N", description = "Keep the N newest snapshots of each container.")
    Integer last;

    @Option(names = "--keep-hourly", paramLabel = "N", description = "Keep the newest of each of the last N hours.")
    Integer hourly;

    @Option(names = "--keep-daily", paramLabel = "N", description = "... of the last N days.")
    Integer daily;

    @Option(names = "--keep-weekly", paramLabel = "N", description = "... of the last N ISO weeks.")
    Integer weekly;

    @Option(names = "--keep-monthly", paramLabel = "N", description = "... of the last N months.")
    Integer monthly;

    @Option(names = "--keep-yearly", paramLabel = "N", description = "... of the last N years.")
    Integer yearly;

    boolean any() {
      return last != null || hourly != null || daily != null || weekly != null || monthly != null || yearly != null;
    }
  }

  @Option(names = "--allow-remove-all",
      description = "Accept rules that are all 0, which forget every snapshot of each container.")
  boolean allowRemoveAll;

  @Option(names = "--timezone", paramLabel = "ZONE", defaultValue = "UTC", converter = Converters.ZoneConverter.class,
      description = "Where days, weeks, months and years begin for --keep-* rules (IANA name; default UTC).")
  ZoneId timezone;

  @Option(names = "--dry-run", description = "Print what would be forgotten and deleted; change nothing.")
  boolean dryRun;

  @Option(names = "--gc-grace", paramLabel = "DURATION", defaultValue = "1h",
      converter = Converters.DurationConverter.class,
      description = "Never delete an unreferenced blob written less than this long ago: a running backup may not "
          + "have published it yet (default 1h).")
  Duration gcGrace;

  @Option(names = "--lock-wait", paramLabel = "SECONDS", defaultValue = "0", converter = Converters.NonNegative.class,
      description = "How long to wait for running backups to release the repository (default 0: exit with code 8).")
  long lockWait;

  @Override
  public Integer call() throws Exception {
    Duration grace = gcGrace;
    ZoneId zone = timezone;
    RetentionPolicy flags = keep.any() || allowRemoveAll ? policy() : null;
    Pruner pruner = new Pruner(new Pruner.Options(dryRun, grace, Duration.ofSeconds(lockWait), null));
    // One entry per repository: where, how to open it, and the job scopes that write there.
    Map<String, List<Job>> byRepo = new LinkedHashMap<>();
    Map<String, StoreOptions> repoOptions = new LinkedHashMap<>();
    boolean jobMode = config != null || !jobs.isEmpty();
    if (jobMode) {
      if (repo.repo != null) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "give either --repo (with --keep-* rules) or --config [JOB...] (the jobs' repositories), not both");
      }
      ConfigMixin cm = new ConfigMixin();
      cm.config = config;
      JobConfig cfg = cm.load();
      List<Job> selected;
      try {
        selected = cfg.select(jobs);
      } catch (IllegalArgumentException e) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
      }
      for (Job j : selected) {
        for (RepositoryConfig rc : j.repositories()) {
          byRepo.computeIfAbsent(rc.url(), k -> new ArrayList<>()).add(j);
          repoOptions.putIfAbsent(rc.url(), rc.storeOptions());
        }
      }
    } else {
      byRepo.put(repo.url(), List.of());
      repoOptions.put(repo.url(), repo.options());
    }
    PrintWriter out = spec.commandLine().getOut();
    for (Map.Entry<String, List<Job>> e : byRepo.entrySet()) {
      String fix = jobMode ? "the repositories of job " + e.getValue().stream().map(Job::name)
          .collect(java.util.stream.Collectors.joining(", ")) + " in the job file" : "--repo";
      try (Store store = RepoMixin.openExisting(e.getKey(), repoOptions.get(e.getKey()), fix)) {
        List<Pruner.Scope> scopes = new ArrayList<>();
        if (jobMode) {
          SnapshotRepository sr = new SnapshotRepository(store);
          for (Job j : e.getValue()) {
            Pruner.Scope s = Pruner.forJob(j, sr);
            scopes.add(flags == null ? s : new Pruner.Scope("job " + j.name() + " (" + flags + ")", flags,
                j.timezone(), s.containers()));
          }
        } else if (flags != null) {
          scopes.add(new Pruner.Scope("--keep-* rules (" + flags + ")", flags, zone, c -> true));
        }
        print(out, pruner.prune(store, scopes), grace);
      }
    }
    out.flush();
    return ExitCode.OK;
  }

  private RetentionPolicy policy() throws RetentionException {
    RetentionPolicy.Builder b = RetentionPolicy.builder().allowRemoveAll(allowRemoveAll);
    if (keep.last != null) {
      b.keepLast(keep.last);
    }
    if (keep.hourly != null) {
      b.keepHourly(keep.hourly);
    }
    if (keep.daily != null) {
      b.keepDaily(keep.daily);
    }
    if (keep.weekly != null) {
      b.keepWeekly(keep.weekly);
    }
    if (keep.monthly != null) {
      b.keepMonthly(keep.monthly);
    }
    if (keep.yearly != null) {
      b.keepYearly(keep.yearly);
    }
    try {
      return b.build();
    } catch (RetentionException e) {
      throw new RetentionException(e.getMessage().replace("allow it explicitly", "add --allow-remove-all"));
    }
  }

  private static void print(PrintWriter out, Pruner.Report r, Duration grace) {
    String where = r.location() + ": ";
    for (Pruner.Forgotten f : r.forgotten()) {
      out.println(where + (r.dryRun() ? "would forget " : "forgot ") + f.snapshot().shortId() + " "
          + f.snapshot().container() + " " + Format.time(f.snapshot().created()) + " (" + f.scope() + ")");
    }
    int kept = r.kept().values().stream().mapToInt(List::size).sum();
    out.println(where + r.forgotten().size() + " snapshot(s) " + (r.dryRun() ? "to forget" : "forgotten") + ", "
        + kept + " kept by the rules");
    if (r.gcNote() != null) {
      out.println(where + r.gcNote());
      return;
    }
    out.println(where + (r.dryRun() ? "would delete " : "deleted ") + r.blobsDeleted() + " unreferenced blob(s), "
        + Format.bytes(r.bytesFreed()) + (r.dryRun() ? " would be freed" : " freed") + (r.stagingRemoved() > 0
            ? (r.dryRun() ? "; would remove " : "; removed ") + r.stagingRemoved() + " stale staging file(s)" : ""));
    if (r.youngKept() > 0) {
      out.println(where + "kept " + r.youngKept() + " unreferenced blob(s) (" + Format.bytes(r.youngBytes())
          + ") written within the last " + Durations.format(grace) + " (--gc-grace): a backup may still publish "
          + "them; a later prune removes them");
    }
  }
}
