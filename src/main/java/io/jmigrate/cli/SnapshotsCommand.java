package io.jmigrate.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Json;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.store.Store;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jmigrate snapshots [CONTAINER] [--json]}. */
@Command(name = "snapshots", mixinStandardHelpOptions = true,
    header = "List snapshots: id, container, time, host, size, consistency.",
    description = "List snapshots, oldest first: id, container, time, host, size, consistency.")
final class SnapshotsCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Mixin
  RepoMixin repo;

  @Parameters(arity = "0..1", paramLabel = "CONTAINER", description = "Only this container's snapshots.")
  String container;

  @Option(names = "--json", description = "Print a JSON array (stable field names, for scripts).")
  boolean json;

  @Override
  public Integer call() throws Exception {
    try (Store store = repo.open()) {
      SnapshotRepository snapshots = new SnapshotRepository(store);
      List<SnapshotSummary> list = container == null ? snapshots.list() : snapshots.list(container);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(toJson(list)));
      } else if (list.isEmpty()) {
        spec.commandLine().getErr().println("jmigrate: no snapshots" + (container == null ? "" : " of " + container) + " in "
            + store.location());
      } else {
        String fmt = "%-12s  %-20s  %-20s  %-28s  %10s  %s%n";
        out.printf(fmt, "ID", "CONTAINER", "CREATED", "HOST", "SIZE", "CONSISTENCY");
        for (SnapshotSummary s : list) {
          out.printf(fmt, s.shortId(), s.container(), Format.time(s.created()), s.host() == null ? "-" : s.host(),
              Format.bytes(s.size()), s.consistency());
        }
      }
      out.flush();
    }
    return ExitCode.OK;
  }

  /** The --json form: one object per snapshot with id, shortId, tag, container, created, host, size, consistency. */
  static ArrayNode toJson(List<SnapshotSummary> list) {
    ArrayNode arr = Json.MAPPER.createArrayNode();
    for (SnapshotSummary s : list) {
      ObjectNode o = arr.addObject();
      o.put("id", s.id().toString());
      o.put("shortId", s.shortId());
      o.put("tag", s.tag());
      o.put("container", s.container());
      o.put("created", s.created().toString());
      o.put("host", s.host());
      o.put("size", s.size());
      o.put("consistency", s.consistency());
    }
    return arr;
  }
}
