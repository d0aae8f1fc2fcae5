package io.jmigrate.cli;

import io.jmigrate.snapshot.SnapshotCopier;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreLock;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jmigrate copy --from REPO --to REPO [SNAPSHOT...]}: offsite replication. */
@Command(name = "copy", mixinStandardHelpOptions = true,
    header = "Copy snapshots between repositories, sending only missing blobs.",
    description = {"Copy snapshots between repositories of any kinds (directory, s3://, oci://), sending only the "
        + "objects the target lacks. Snapshots keep their ids. Default: every snapshot of --from."})
final class CopyCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Mixin
  RepoMixin repo;

  @Option(names = "--from", required = true, paramLabel = "REPO", description = "Repository to copy from.")
  String fromUrl;

  @Option(names = "--to", required = true, paramLabel = "REPO", description = "Repository to copy to.")
  String toUrl;

  @Parameters(arity = "0..*", paramLabel = "SNAPSHOT", description = "Snapshot ids, tags or container names.")
  List<String> snapshots = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    try (Store from = RepoMixin.openExisting(fromUrl, repo.options(), "--from"); Store to = repo.open(toUrl);
        StoreLock fromLock = from.lock(Store.LockMode.SHARED, "jmigrate copy", Duration.ofMinutes(10));
        StoreLock toLock = to.lock(Store.LockMode.SHARED, "jmigrate copy", Duration.ofMinutes(10))) {
      SnapshotRepository source = new SnapshotRepository(from);
      List<SnapshotSummary> todo = new ArrayList<>();
      if (snapshots.isEmpty()) {
        todo.addAll(source.list());
      } else {
        for (String q : snapshots) {
          todo.add(source.resolve(q));
        }
      }
      SnapshotCopier copier = new SnapshotCopier(source, to);
      PrintWriter out = spec.commandLine().getOut();
      long bytes = 0;
      int copied = 0;
      for (SnapshotSummary s : todo) {
        SnapshotCopier.Result r = copier.copy(s);
        if (r.alreadyThere()) {
          out.println(s.shortId() + " " + s.tag() + " already there");
        } else {
          copied++;
          bytes += r.bytesSent();
          out.println(s.shortId() + " " + s.tag() + " copied (" + r.objectsSent() + " objects, "
              + Format.bytes(r.bytesSent()) + " sent, " + r.objectsSkipped() + " already there)");
        }
        out.flush();
      }
      spec.commandLine().getErr().println("jmigrate: copied " + copied + " of " + todo.size() + " snapshot(s) from "
          + from.location() + " to " + to.location() + ", " + Format.bytes(bytes) + " sent");
    }
    return ExitCode.OK;
  }
}
