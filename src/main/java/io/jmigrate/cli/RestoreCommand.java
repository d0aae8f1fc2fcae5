package io.jmigrate.cli;

import io.jmigrate.engine.Engine;
import io.jmigrate.restore.RestoreRunner;
import io.jmigrate.snapshot.Snapshot;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreLock;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jmigrate restore SNAPSHOT}: recreate and start the container on a host. */
@Command(name = "restore", mixinStandardHelpOptions = true,
    header = "Recreate a snapshot's container on a host, and start it.",
    description = {"Recreate a snapshot's container on a host: image, volumes, networks, configuration; then start it "
        + "and wait until it runs (or is healthy). On failure everything created is removed."})
final class RestoreCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Mixin
  HostMixin host;

  @Mixin
  RepoMixin repo;

  @Parameters(paramLabel = "SNAPSHOT",
      description = "Snapshot id (any unique prefix), tag, or container name (its latest snapshot).")
  String snapshot;

  @Option(names = "--name", paramLabel = "NAME", description = "Create the container under another name.")
  String name;

  @Option(names = "--no-start", description = "Create the container but do not start it.")
  boolean noStart;

  @Option(names = "--replace",
      description = "Remove an existing container, and existing volumes, of the same names on the target first.")
  boolean replace;

  @Option(names = "--no-publish", description = "Do not publish the container's host ports.")
  boolean noPublish;

  @Option(names = "--wait-timeout", paramLabel = "SECONDS", defaultValue = "120",
      converter = Converters.Positive.class,
      description = "How long to wait for the container to run or be healthy (default 120).")
  long waitTimeout;

  @Option(names = "--volume-writer", paramLabel = "HOW", defaultValue = "auto",
      converter = Converters.WriterConverter.class,
      description = "auto (default): write volume directories directly when local and root, else through the "
          + "engine's archive API; direct; archive.")
  RestoreRunner.VolumeWriter volumeWriter;

  @Option(names = "--volume-prefix", paramLabel = "PREFIX", converter = Converters.VolumePrefixConverter.class,
      description = "Restore named volumes as PREFIX+name (captured bind mounts as volumes PREFIX+path), so that a "
          + "copy runs beside the original without touching its volumes; use with --name (and --no-publish).")
  String volumePrefix;

  @Option(names = "--strict-metadata",
      description = "Fail (exit 11, everything created removed) when the target's filesystem drops volume metadata "
          + "(owners, modes, xattrs, ACLs, mtimes) instead of warning.")
  boolean strictMetadata;

  @Override
  public Integer call() throws Exception {
    RestoreRunner.Options options = new RestoreRunner.Options(name, !noStart, replace, !noPublish,
        Duration.ofSeconds(waitTimeout), volumeWriter, volumePrefix, strictMetadata);
    try (Store store = repo.openExisting();
        StoreLock lock = store.lock(Store.LockMode.SHARED, "jmigrate restore", Duration.ofMinutes(10))) {
      SnapshotRepository snapshots = new SnapshotRepository(store);
      SnapshotSummary summary = snapshots.resolve(snapshot);
      Snapshot snap = snapshots.load(summary);
      try (Engine engine = host.connect()) {
        RestoreRunner.Result r = new RestoreRunner(engine, options, Progress.forStderr())
            .restore(snap.document(), summary.shortId(), RestoreRunner.fromRepository(store, snap));
        spec.commandLine().getOut().println(r.name() + " " + r.id().substring(0, 12) + " " + r.state());
        spec.commandLine().getOut().flush();
        spec.commandLine().getErr().println("jmigrate: restored " + r.name() + " on " + engine.display() + " from " + summary.shortId()
            + ": " + r.state() + " (" + r.layersSent() + " of " + r.layersTotal() + " layers sent, "
            + Format.bytes(r.layerBytesSent()) + "; " + Format.bytes(r.volumeBytes()) + " of volume data; "
            + Format.duration(r.total()) + ")");
      }
    }
    return ExitCode.OK;
  }
}
