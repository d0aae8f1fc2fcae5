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
import java.util.stream.Collectors;
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
      SnapshotRepository.Listing listing = new SnapshotRepository(store).listing();
      if (container != null) {
        listing = listing.of(container);
      }
      List<SnapshotSummary> list = listing.snapshots();
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(toJson(list)));
      } else if (list.isEmpty() && listing.unreadable().isEmpty()) {
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
      if (!listing.unreadable().isEmpty()) {
        // A tag that cannot be read hides a snapshot: never let that look like a complete listing.
        spec.commandLine().getErr().println("jmigrate: " + listing.unreadable().size() + " tag(s) in "
            + store.location() + " could not be read, so their snapshots are not listed: "
            + listing.unreadable().stream().map(Object::toString).collect(Collectors.joining("; "))
            + "; run jmigrate verify");
        return ExitCode.CORRUPT;
      }
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
