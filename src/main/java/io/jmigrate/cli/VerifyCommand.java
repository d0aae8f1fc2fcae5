package io.jmigrate.cli;

import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.snapshot.Verifier;
import io.jmigrate.store.Store;
import io.jmigrate.store.TagListing;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jmigrate verify [SNAPSHOT...]}: re-read and digest-check every blob. */
@Command(name = "verify", mixinStandardHelpOptions = true,
    header = "Re-read and digest-check every blob of snapshots.",
    description = {"Re-read every blob of the given snapshots (default: all) and check its digest, compressed and "
        + "uncompressed. Reports every problem, a tag or snapshot document that cannot be read included; exits 6 "
        + "when any is found."})
final class VerifyCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Mixin
  RepoMixin repo;

  @Parameters(arity = "0..*", paramLabel = "SNAPSHOT", description = "Snapshot ids, tags or container names.")
  List<String> snapshots = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    try (Store store = repo.openExisting()) {
      SnapshotRepository repository = new SnapshotRepository(store);
      List<SnapshotSummary> todo = new ArrayList<>();
      // Tags that cannot be read are snapshots that cannot be verified: corrupt, never skipped.
      List<TagListing.Unreadable> unreadable = new ArrayList<>();
      SnapshotRepository.Listing listing = repository.listing();
      if (snapshots.isEmpty()) {
        todo.addAll(listing.snapshots());
        unreadable.addAll(listing.unreadable());
      } else {
        for (String q : snapshots) {
          Optional<TagListing.Unreadable> u = listing.unreadable().stream().filter(x -> x.name().equals(q))
              .findFirst();
          if (u.isPresent()) {
            unreadable.add(u.get());
          } else {
            todo.add(repository.resolve(q));
          }
        }
      }
      Verifier verifier = new Verifier(repository);
      PrintWriter out = spec.commandLine().getOut();
      int bad = unreadable.size();
      for (TagListing.Unreadable u : unreadable) {
        out.println("CORRUPT  " + String.format("%-12s", "?") + "  " + u.name() + ": cannot read tag " + u.name()
            + " in " + store.location() + ": " + u.problem());
      }
      out.flush();
      for (SnapshotSummary s : todo) {
        Verifier.Report r = verifier.verify(s);
        if (r.ok()) {
          out.println("ok       " + s.shortId() + "  " + s.tag() + "  (" + r.objects() + " objects, "
              + Format.bytes(r.bytes()) + " read)");
        } else {
          bad++;
          for (String p : r.problems()) {
            out.println("CORRUPT  " + s.shortId() + "  " + s.tag() + ": " + p);
          }
        }
        out.flush();
      }
      if (bad > 0) {
        spec.commandLine().getErr().println("jmigrate: " + bad + " of " + (todo.size() + unreadable.size())
            + " snapshots in " + store.location()
            + " have problems; restore them from another copy (jmigrate copy) or take new backups");
        return ExitCode.CORRUPT;
      }
      spec.commandLine().getErr().println("jmigrate: " + todo.size() + " snapshot(s) verified in " + store.location());
    }
    return ExitCode.OK;
  }
}
