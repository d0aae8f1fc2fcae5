package io.jmigrate.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.Json;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.snapshot.Contents;
import io.jmigrate.snapshot.SnapshotDocument;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.store.Store;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Real snapshots in a real local store for the job package's tests, without an engine. */
final class JobFixtures {
  private JobFixtures() {}

  /**
   * Publishes a snapshot of {@code container} frozen at {@code when}: one image layer shared by every snapshot of
   * the container, and one volume with {@code volumeData} (so each distinct text is a distinct blob).
   */
  static SnapshotSummary publish(SnapshotRepository repo, String container, Instant when, String volumeData,
      Map<String, String> labels) throws Exception {
    Store store = repo.store();
    byte[] layer = ("layer of " + container).getBytes(StandardCharsets.UTF_8);
    Contents.Stored l = Contents.put(store, Store.ContentKind.LAYER, "layer", null, out -> out.write(layer));
    byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
        + l.diffId() + "\"]}}").getBytes(StandardCharsets.UTF_8);
    Descriptor configDesc = Descriptor.of(MediaTypes.OCI_CONFIG, Digest.of(config), config.length);
    List<SnapshotDocument.Layer> layers = List.of(new SnapshotDocument.Layer(l.blob(), l.diffId(), l.uncompressedSize()));
    List<SnapshotDocument.Volume> volumes = new ArrayList<>();
    byte[] v = volumeData.getBytes(StandardCharsets.UTF_8);
    Contents.Stored s = Contents.put(store, Store.ContentKind.VOLUME, "volume", null, out -> out.write(v));
    volumes.add(new SnapshotDocument.Volume(container + "-data", "volume", false, "local", Map.of(), Map.of(),
        "/data", null, false, s.blob(), s.diffId(), s.uncompressedSize(), "direct"));
    ObjectNode inspect = Json.newObject();
    inspect.put("Id", "0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef");
    inspect.put("Name", "/" + container);
    ObjectNode cfg = inspect.putObject("Config");
    cfg.put("Image", "busybox");
    ObjectNode lab = cfg.putObject("Labels");
    labels.forEach(lab::put);
    SnapshotDocument doc = new SnapshotDocument(SnapshotDocument.SCHEMA_VERSION,
        new SnapshotDocument.Tool("jmigrate", "test"),
        new SnapshotDocument.Container(container, inspect.path("Id").asText(), inspect),
        new SnapshotDocument.Image("busybox", Digest.of(config).toString(),
            SnapshotRepository.imageManifest(configDesc, layers), configDesc, layers),
        volumes, List.of(), "pause",
        new SnapshotDocument.Source("unix:///test.sock", "host-a", "20.10", "1.41", "amd64", "linux"),
        new SnapshotDocument.Times(when, when, when.plusSeconds(1), when.plusSeconds(2)));
    return repo.publish(repo.prepare(doc, config));
  }

  /** Sets every stored blob's mtime to {@code when}, as if written then. */
  static void ageBlobs(Path repoDir, Instant when) throws IOException {
    try (Stream<Path> s = Files.list(repoDir.resolve("blobs").resolve("sha256"))) {
      for (Path p : s.toList()) {
        Files.setLastModifiedTime(p, FileTime.from(when));
      }
    }
  }

  /** The hex names of the stored blobs. */
  static List<String> blobs(Path repoDir) throws IOException {
    Path dir = repoDir.resolve("blobs").resolve("sha256");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
