package io.jmigrate.cli;

import io.jmigrate.backup.BackupRunner;
import io.jmigrate.backup.Consistency;
import io.jmigrate.backup.VolumeSources;
import io.jmigrate.engine.Engine;
import io.jmigrate.migrate.MigrationRunner;
import io.jmigrate.restore.RestoreRunner;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreLock;
import io.jmigrate.store.StoreOptions;
import io.jmigrate.store.Stores;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jmigrate migrate SOURCE TARGET CONTAINER...}: move containers between hosts, no repository in between. */
@Command(name = "migrate", mixinStandardHelpOptions = true,
    header = "Move containers from one host to another, with a rollback on failure.",
    description = {"Move containers from one host to another: image layers the target lacks, writable layer, "
        + "volumes, networks and configuration, streamed directly. The bulk is copied while the source runs; the "
        + "source is then stopped, what changed is sent, and the clone is started (in dependency order for a "
        + "project) and checked until it runs or is healthy. The source is left stopped, not removed. Any failure, "
        + "Ctrl-C or SIGTERM starts the source again and removes what was created on the target.",
        "",
        "  jmigrate migrate unix:///var/run/docker.sock ssh://root@host-b web",
        "  jmigrate host-a host-b web                     the same, with docker contexts",
        "  jmigrate migrate host-a host-b --project shop  a whole compose project",
        "",
        "The short form (without `migrate`) is taken only when SOURCE and TARGET are engine URLs or docker contexts "
        + "that exist."})
final class MigrateCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Parameters(index = "0", paramLabel = "SOURCE",
      description = "Source engine: unix:///path, tcp://host:port, ssh://[user@]host[:port] or a context name.")
  String sourceHost;

  @Parameters(index = "1", paramLabel = "TARGET", description = "Target engine, in the same forms.")
  String targetHost;

  @Parameters(index = "2..*", arity = "0..*", paramLabel = "CONTAINER", description = "Container names or ids.")
  List<String> containers = List.of();

  @Option(names = "--project", paramLabel = "NAME",
      description = "Every container of compose project NAME (label com.docker.compose.project), stopped together "
          + "and started on the target in depends_on order.")
  String project;

  @Option(names = "--keep-running",
      description = "Clone instead of move: pause the source for the final pass, then resume it.")
  boolean keepRunning;

  @Option(names = "--replace",
      description = "Remove a container, and volumes, of the same names on the target first.")
  boolean replace;

  @Option(names = "--remove-source", description = "Remove the source containers after a successful move.")
  boolean removeSource;

  @Option(names = "--remove-volumes",
      description = "With --remove-source: also remove the source's volumes.")
  boolean removeVolumes;

  @Option(names = "--via", paramLabel = "REPO",
      description = "Also keep a snapshot in this repository (directory, s3://, oci://), taken from the stopped "
          + "source once the clone runs.")
  String via;

  @Option(names = "--check", description = "Run the pre-flight checks only; change nothing.")
  boolean check;

  @Option(names = "--stop-timeout", paramLabel = "SECONDS", converter = Converters.NonNegative.class,
      description = "Seconds the source gets to stop before SIGKILL (default: the container's own).")
  Long stopTimeout;

  @Option(names = "--wait-timeout", paramLabel = "SECONDS", defaultValue = "120",
      converter = Converters.Positive.class,
      description = "How long to wait for each clone to run or be healthy (default 120).")
  long waitTimeout;

  @Option(names = "--cleanup-timeout", paramLabel = "SECONDS", defaultValue = "60",
      converter = Converters.NonNegative.class,
      description = "After a failure, how long to keep retrying a target that cannot be reached before printing "
          + "the commands that clean it up by hand (default 60).")
  long cleanupTimeout;

  @Option(names = "--volume-reader", paramLabel = "HOW", defaultValue = "auto",
      converter = Converters.ReaderConverter.class,
      description = "auto (default): read volume directories directly when the source is local, else the "
          + "engine's archive API; direct; archive.")
  VolumeSources.Reader volumeReader;

  @Option(names = "--volume-writer", paramLabel = "HOW", defaultValue = "auto",
      converter = Converters.WriterConverter.class,
      description = "auto (default): write volume directories directly when the target is local, else through "
          + "the engine's archive API; direct; archive.")
  RestoreRunner.VolumeWriter volumeWriter;

  @Option(names = "--strict-metadata",
      description = "Fail and roll back (exit 11) when the target's filesystem drops volume metadata (owners, modes, "
          + "xattrs, ACLs, mtimes) instead of warning.")
  boolean strictMetadata;

  @Override
  public Integer call() throws Exception {
    if (containers.isEmpty() && project == null) {
      throw new ParameterException(spec.commandLine(), "name at least one CONTAINER, or --project NAME");
    }
    if (removeVolumes && !removeSource) {
      throw new ParameterException(spec.commandLine(), "--remove-volumes needs --remove-source");
    }
    if (removeSource && keepRunning) {
      throw new ParameterException(spec.commandLine(), "--remove-source and --keep-running contradict each other");
    }
    MigrationRunner.Options options = new MigrationRunner.Options(keepRunning, replace, removeSource, removeVolumes,
        stopTimeout == null ? null : Duration.ofSeconds(stopTimeout), Duration.ofSeconds(waitTimeout),
        volumeReader, volumeWriter,
        Duration.ofSeconds(cleanupTimeout), check, Version.get(), strictMetadata);
    PrintWriter err = spec.commandLine().getErr();
    PrintWriter out = spec.commandLine().getOut();
    try (Engine source = HostMixin.connect(sourceHost, spec.commandLine());
        Engine target = HostMixin.connect(targetHost, spec.commandLine());
        Store store = via == null ? null : Stores.open(via, StoreOptions.builder().build())) {
      MigrationRunner.Snapshotter snapshotter = null;
      if (store != null) {
        snapshotter = name -> {
          try (StoreLock lock = store.lock(Store.LockMode.SHARED, "jmigrate migrate --via", Duration.ofMinutes(10))) {
            BackupRunner.Result r = new BackupRunner(source, new SnapshotRepository(store),
                new BackupRunner.Options(Consistency.PAUSE, false, null, options.reader(), Version.get()))
                .backup(name);
            line(err, "snapshot " + r.snapshot().shortId() + " of " + name + " written to " + via + " ("
                + r.consistency() + ")");
          }
        };
      }
      MigrationRunner.Result r = new MigrationRunner(source, target, options, s -> line(err, s),
          Progress.forStderr()).migrate(containers, project, snapshotter);
      if (check) {
        return ExitCode.OK;
      }
      for (MigrationRunner.Moved m : r.containers()) {
        out.println(m.name() + " " + m.id().substring(0, 12) + " " + m.state());
      }
      out.flush();
      line(err, (keepRunning ? "cloned " : "moved ") + String.join(", ", r.containers().stream()
          .map(MigrationRunner.Moved::name).toList()) + " from " + source.display() + " to " + target.display()
          + ": " + (r.downtime() == null ? "" : "downtime " + Format.duration(r.downtime()) + ", ") + "total "
          + Format.duration(r.total()) + "; sent " + Format.bytes(r.layerBytes()) + " of image layers and "
          + Format.bytes(r.volumeBytes()) + " of volume data");
      if (!keepRunning && !removeSource) {
        line(err, "the source is stopped, not removed; to roll back: " + r.rollbackHint());
      }
      if (r.snapshotProblem() != null) {
        line(err, r.snapshotProblem());
        return ExitCode.PARTIAL;
      }
    }
    return ExitCode.OK;
  }

  private static void line(PrintWriter err, String text) {
    err.println("jmigrate: " + text);
    err.flush();
  }
}
