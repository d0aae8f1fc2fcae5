package io.jmigrate.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.Json;
import io.jmigrate.snapshot.SnapshotException;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import java.io.PrintWriter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
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
    description = {"List snapshots, oldest first: id, container, time, host, size, consistency; with -v also the "
        + "image reference an image tool can pull (as --json gives it). A CONTAINER without snapshots exits 3; a tag "
        + "that cannot be read is named and exits 6."})
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
    try (Store store = repo.openExisting()) {
      SnapshotRepository snapshots = new SnapshotRepository(store);
      SnapshotRepository.Listing all = snapshots.listing();
      String name = container == null ? null : container.startsWith("/") ? container.substring(1) : container;
      SnapshotRepository.Listing listing = name == null ? all : all.of(name);
      List<SnapshotSummary> list = listing.snapshots();
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Map<SnapshotSummary, Descriptor> images = new HashMap<>();
      int failed = ExitCode.OK;
      if (json || LoggingMixin.verboseEnabled()) {
        // One read of each snapshot's index; a snapshot whose index cannot be read is listed without it.
        for (SnapshotSummary s : list) {
          try {
            images.put(s, snapshots.imageManifestOf(s));
          } catch (StoreException | SnapshotException e) {
            err.println("jmigrate: " + Main.oneLine(e));
            failed = failed == ExitCode.OK ? ExitCode.of(e) : failed;
          }
        }
      }
      if (json) {
        out.println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(
            toJson(list, images, store.location())));
      } else if (!list.isEmpty()) {
        boolean withImage = !images.isEmpty();
        String fmt = "%-12s  %-20s  %-20s  %-28s  %10s  %-11s%s%n";
        out.printf(fmt, "ID", "CONTAINER", "CREATED", "HOST", "SIZE", "CONSISTENCY", withImage ? "  IMAGE" : "");
        for (SnapshotSummary s : list) {
          Descriptor image = images.get(s);
          String ref = image == null ? "-" : Objects.requireNonNullElse(
              imageReference(store.location(), s.tag(), image.digest()), image.digest().toString());
          out.printf(fmt, s.shortId(), s.container(), Format.time(s.created()), s.host() == null ? "-" : s.host(),
              Format.bytes(s.size()), s.consistency(), withImage ? "  " + ref : "");
        }
      }
      out.flush();
      if (!listing.unreadable().isEmpty()) {
        // A tag that cannot be read hides a snapshot: never let that look like a complete listing, nor like a
        // container without snapshots (its snapshot may be the unreadable one).
        err.println("jmigrate: " + listing.unreadable().size() + " tag(s) in "
            + store.location() + " could not be read, so their snapshots are not listed: "
            + listing.unreadable().stream().map(Object::toString).collect(Collectors.joining("; "))
            + "; run jmigrate verify");
        err.flush();
        return ExitCode.CORRUPT;
      }
      if (list.isEmpty() && name != null) {
        // A container name with no snapshots is most often a typo or a container that was never backed up: say
        // which containers do have snapshots, and exit like any unknown object (3) so that scripts notice.
        Set<String> have = new TreeSet<>();
        all.snapshots().forEach(s -> have.add(s.container()));
        err.println("jmigrate: no snapshots of '" + name + "' in " + store.location() + (have.isEmpty()
            ? " (the repository has no snapshots)" : "; it has snapshots of " + String.join(", ", have)));
        err.flush();
        return ExitCode.NOT_FOUND;
      }
      if (list.isEmpty() && !json) {
        err.println("jmigrate: no snapshots in " + store.location());
      }
      err.flush();
      return failed;
    }
  }

  /**
   * The --json form: one object per snapshot with id, shortId, tag, container, created, host, size, consistency,
   * imageDigest (the image manifest's digest) and imageReference ({@link #imageReference}, null where none).
   */
  static ArrayNode toJson(List<SnapshotSummary> list, Map<SnapshotSummary, Descriptor> images, String location) {
    ArrayNode arr = Json.MAPPER.createArrayNode();
    for (SnapshotSummary s : list) {
      ObjectNode o = arr.addObject();
      o.put("id", s.id().toString());
      o.put("shortId", s.shortId());
      o.put("tag", s.tag());
      o.put("container", s.container());
      o.put("created", s.created().toString());
      o.put("host", s.host());
      o.put("hostname", s.hostname());
      o.put("size", s.size());
      o.put("consistency", s.consistency());
      Descriptor image = images.get(s);
      o.put("imageDigest", image == null ? null : image.digest().toString());
      o.put("imageReference", image == null ? null : imageReference(location, s.tag(), image.digest()));
    }
    return arr;
  }

  /**
   * What an image tool can pull a snapshot's image by: {@code HOST[:PORT]/REPO@sha256:…} for a registry (any
   * engine can pull it: its layers are gzip), {@code oci:/PATH:TAG} for a local repository (an OCI image layout
   * that skopeo and podman read; its layers are zstd, see docs/repository-format.md). Null for S3, which no image
   * tool reads.
   */
  static String imageReference(String location, String tag, Digest imageManifest) {
    if (location.startsWith("oci://")) {
      return location.substring("oci://".length()) + "@" + imageManifest;
    }
    if (location.startsWith("file:")) {
      return "oci:" + location.substring("file:".length()) + ":" + tag;
    }
    return null;
  }
}
