package io.jmigrate.snapshot;

import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import java.util.List;

/**
 * A snapshot read from a repository: its summary, its document, and the descriptors of every object it is made
 * of. {@link #parts()} is what verify checks, copy replicates and prune keeps.
 */
public record Snapshot(
    SnapshotSummary summary,
    SnapshotDocument document,
    Descriptor imageManifest,
    Descriptor snapshotManifest,
    Descriptor documentBlob,
    List<Part> parts) {

  /**
   * One stored object of a snapshot. Manifests and indexes are stored apart from blobs in registries. For layers and
   * volumes, {@code diffId} and {@code uncompressedSize} describe the uncompressed tar; they are null and -1
   * otherwise.
   */
  public record Part(Descriptor descriptor, boolean manifest, String role, Digest diffId, long uncompressedSize) {
    static Part of(Descriptor d, boolean manifest, String role) {
      return new Part(d, manifest, role, null, -1);
    }

    /** True for a layer or volume, whose content is compressed tar. */
    public boolean isContent() {
      return diffId != null;
    }
  }
}
