package io.jmigrate.cli;

import io.jmigrate.backup.BackupRunner;
import io.jmigrate.backup.Consistency;
import io.jmigrate.backup.VolumeSources;
import io.jmigrate.engine.Engine;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreLock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code jmigrate backup CONTAINER...}: one snapshot per container. */
@Command(name = "backup", mixinStandardHelpOptions = true,
    header = "Snapshot containers: image, writable layer, volumes and configuration.",
    description = {"Snapshot containers: image, writable layer (deletions included), volumes and configuration.",
        "Prints one line per snapshot on stdout: container, snapshot id, tag."})
final class BackupCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Mixin
  HostMixin host;

  @Mixin
  RepoMixin repo;

  @Parameters(arity = "1..*", paramLabel = "CONTAINER", description = "Container names or ids.")
  List<String> containers;

  @Option(names = "--consistency", paramLabel = "MODE", defaultValue = "pause",
      converter = Converters.ConsistencyConverter.class,
      description = "pause (default): freeze while the writable layer and volumes are read; stop: stop and "
          + "start again; none: read while running.")
  Consistency consistency;

  @Option(names = "--stop-timeout", paramLabel = "SECONDS", converter = Converters.NonNegative.class,
      description = "With --consistency stop: seconds to wait before SIGKILL (default: the container's own).")
  Long stopTimeout;

  @Option(names = "--include-binds", description = "Also capture the contents of bind mounts.")
  boolean includeBinds;

  @Option(names = "--volume-reader", paramLabel = "HOW", defaultValue = "auto",
      converter = Converters.ReaderConverter.class,
      description = "auto (default): read volume directories directly when local and root, else the engine's "
          + "archive API; direct; archive.")
  VolumeSources.Reader volumeReader;

  @Option(names = "--lock-wait", paramLabel = "SECONDS", defaultValue = "600",
      converter = Converters.NonNegative.class,
      description = "How long to wait for a prune that holds the repository lock (default 600).")
  long lockWait;

  @Override
  public Integer call() throws Exception {
    BackupRunner.Options options = new BackupRunner.Options(consistency, includeBinds,
        stopTimeout == null ? null : Duration.ofSeconds(stopTimeout), volumeReader, Version.get());
    int ok = 0;
    int firstFailure = ExitCode.OK;
    try (Store store = repo.open(); Engine engine = host.connect();
        StoreLock lock = store.lock(Store.LockMode.SHARED, "jmigrate backup", Duration.ofSeconds(lockWait))) {
      BackupRunner runner = new BackupRunner(engine, new SnapshotRepository(store), options, Progress.forStderr());
      for (String c : containers) {
        try {
          BackupRunner.Result r = runner.backup(c);
          ok++;
          spec.commandLine().getOut().println(r.container() + " " + r.snapshot().shortId() + " " + r.snapshot().tag());
          spec.commandLine().getOut().flush();
          spec.commandLine().getErr().println("jmigrate: backed up " + r.container() + " as " + r.snapshot().shortId() + " ("
              + r.consistency() + ", frozen " + Format.duration(r.frozen()) + ", " + Format.bytes(r.bytesWritten())
              + " written, " + Format.bytes(r.bytesReused()) + " already stored, " + Format.duration(r.total()) + ")");
        } catch (Exception e) {
          if (containers.size() == 1) {
            throw e;
          }
          spec.commandLine().getErr().println("jmigrate: backup of " + c + " failed: " + Main.oneLine(e));
          if (firstFailure == ExitCode.OK) {
            firstFailure = ExitCode.of(e);
          }
        }
      }
    }
    if (firstFailure == ExitCode.OK) {
      return ExitCode.OK;
    }
    return ok > 0 ? ExitCode.PARTIAL : firstFailure;
  }
}
