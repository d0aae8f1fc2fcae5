package io.jmigrate.snapshot;

import io.jmigrate.blob.Descriptor;
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

  /** One stored object of a snapshot. Manifests and indexes are stored apart from blobs in registries. */
  public record Part(Descriptor descriptor, boolean manifest, String role) {}
}
