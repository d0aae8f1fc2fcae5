package io.jmigrate.cli;

import io.jmigrate.engine.Engine;
import io.jmigrate.job.Drill;
import io.jmigrate.snapshot.Snapshot;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreLock;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jmigrate drill SNAPSHOT -H HOST}: proves a snapshot restores and runs, then removes the clone. */
@Command(name = "drill", mixinStandardHelpOptions = true,
    header = "Restore a snapshot under a scratch name, check it, remove it.",
    description = {"Restore drill: restore a snapshot on a host under a scratch name (<name>-drill-<id>) with fresh "
        + "volumes, no network and no published ports; wait until it runs (or is healthy); optionally run a check "
        + "command in it; then remove everything the drill created, whatever happened. Prints PASS or FAIL with "
        + "timings on stdout; exits 0 on PASS and 10 on FAIL. The original container and its volumes are never "
        + "touched."})
final class DrillCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Mixin
  HostMixin host;

  @Mixin
  RepoMixin repo;

  @Parameters(paramLabel = "SNAPSHOT|CONTAINER",
      description = "Snapshot id (any unique prefix), tag, or container name (its latest snapshot).")
  String snapshot;

  @Option(names = "--check", paramLabel = "CMD",
      description = "A command run in the clone once it is up (sh -c CMD); the drill fails when it exits non-zero.")
  String check;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120", converter = Converters.Positive.class,
      description = "How long the clone may take to run or turn healthy, and the check to finish (default 120).")
  long timeout;

  @Option(names = "--strict-metadata",
      description = "Fail the drill when the host's filesystem drops volume metadata (owners, modes, xattrs, ACLs, "
          + "mtimes) instead of warning.")
  boolean strictMetadata;

  @Override
  public Integer call() throws Exception {
    Drill.Options options = new Drill.Options(check, Duration.ofSeconds(timeout), strictMetadata);
    Drill.Report r;
    try (Store store = repo.openExisting();
        StoreLock lock = store.lock(Store.LockMode.SHARED, "drill " + snapshot, Duration.ofMinutes(10))) {
      SnapshotRepository snapshots = new SnapshotRepository(store);
      SnapshotSummary summary = snapshots.resolve(snapshot);
      Snapshot snap = snapshots.load(summary);
      try (Engine engine = host.connect()) {
        r = new Drill(engine, Progress.forStderr()).run(store, snap, options);
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println((r.passed() ? "PASS" : "FAIL") + " " + r.container() + " " + r.snapshot() + " as " + r.scratch()
        + (r.state() != null ? " " + r.state() : "") + " restore " + Format.duration(r.restore()) + " check "
        + Format.duration(r.check()) + " cleanup " + Format.duration(r.cleanup()) + " total "
        + Format.duration(r.total()));
    out.flush();
    PrintWriter err = spec.commandLine().getErr();
    if (!r.passed()) {
      err.println("jmigrate: drill of " + r.container() + " (snapshot " + r.snapshot() + ") failed: " + r.failure());
    }
    for (String l : r.leftovers()) {
      err.println("jmigrate: drill could not remove " + l);
    }
    err.flush();
    return r.passed() ? ExitCode.OK : ExitCode.DRILL_FAILED;
  }
}
