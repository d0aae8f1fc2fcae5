package io.jmigrate.snapshot;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.Json;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.store.Store;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builds real snapshots in a store for tests of the snapshot package, without an engine. */
public final class SnapshotFixtures {
  private SnapshotFixtures() {}

  /** Stores one layer and one volume and prepares (but does not publish) a snapshot of {@code container}. */
  public static SnapshotRepository.Pending prepare(SnapshotRepository repo, String container, Instant when,
      String volumeData) throws Exception {
    Store store = repo.store();
    byte[] layer = ("layer of " + container).getBytes(StandardCharsets.UTF_8);
    Contents.Stored l = Contents.put(store, Store.ContentKind.LAYER, "layer", null, out -> out.write(layer));
    byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\""
        + l.diffId() + "\"]}}").getBytes(StandardCharsets.UTF_8);
    Descriptor configDesc = Descriptor.of(MediaTypes.OCI_CONFIG, Digest.of(config), config.length);
    List<SnapshotDocument.Layer> layers = List.of(new SnapshotDocument.Layer(l.blob(), l.diffId(), l.uncompressedSize()));
    List<SnapshotDocument.Volume> volumes = new ArrayList<>();
    if (volumeData != null) {
      byte[] v = volumeData.getBytes(StandardCharsets.UTF_8);
      Contents.Stored s = Contents.put(store, Store.ContentKind.VOLUME, "volume", null, out -> out.write(v));
      volumes.add(new SnapshotDocument.Volume("data", "volume", false, "local", Map.of(), Map.of("k", "v"), "/data",
          null, false, s.blob(), s.diffId(), s.uncompressedSize(), "direct"));
    }
    ObjectNode inspect = Json.newObject();
    inspect.put("Id", "0123456789ab0123456789ab0123456789ab0123456789ab0123456789abcdef");
    inspect.put("Name", "/" + container);
    inspect.putObject("Config").put("Image", "busybox");
    SnapshotDocument doc = new SnapshotDocument(SnapshotDocument.SCHEMA_VERSION,
        new SnapshotDocument.Tool("jmigrate", "test"),
        new SnapshotDocument.Container(container, inspect.path("Id").asText(), inspect),
        new SnapshotDocument.Image("busybox", Digest.of(config).toString(),
            SnapshotRepository.imageManifest(configDesc, layers), configDesc, layers),
        volumes, List.of(), "pause",
        new SnapshotDocument.Source("unix:///test.sock", "host-a", "20.10", "1.41", "amd64", "linux"),
        new SnapshotDocument.Times(when, when, when.plusSeconds(1), when.plusSeconds(2)));
    return repo.prepare(doc, config);
  }

  public static SnapshotSummary publish(SnapshotRepository repo, String container, Instant when) throws Exception {
    return repo.publish(prepare(repo, container, when, "data of " + container + " at " + when));
  }
}
