package io.jmigrate.snapshot;

import java.time.Instant;
import java.util.Objects;

/**
 * What retention needs to know about a snapshot.
 *
 * @param id the snapshot id (index digest, or its short form)
 * @param container the container it belongs to; retention applies per container
 * @param created when the container was frozen
 */
public record RetentionSnapshot(String id, String container, Instant created) {
  public RetentionSnapshot {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(container, "container");
    Objects.requireNonNull(created, "created");
  }

  /** A listed snapshot; the id is the full index digest ({@code sha256:…}). */
  public static RetentionSnapshot of(SnapshotSummary s) {
    return new RetentionSnapshot(s.id().toString(), s.container(), s.created());
  }
}
