package io.jmigrate.snapshot;

import java.time.Instant;
import java.util.Objects;

/**
 * What retention needs to know about a snapshot.
 *
 * @param id the snapshot id (index digest, or its short form)
 * @param container the container it belongs to; retention applies per container and engine host
 * @param hostname the engine host's name the snapshot was taken on (null when not recorded): containers of the same
 *     name on several hosts backing up into one repository are separate histories, as restic groups by host
 * @param created when the container was frozen
 */
public record RetentionSnapshot(String id, String container, String hostname, Instant created) {
  public RetentionSnapshot {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(container, "container");
    Objects.requireNonNull(created, "created");
  }

  /** A snapshot without a recorded host. */
  public RetentionSnapshot(String id, String container, Instant created) {
    this(id, container, null, created);
  }

  /** The history this snapshot belongs to: its container on its host. */
  String group() {
    return hostname == null ? container : container + "\u0000" + hostname;
  }

  /** A listed snapshot; the id is the full index digest ({@code sha256:…}). */
  public static RetentionSnapshot of(SnapshotSummary s) {
    return new RetentionSnapshot(s.id().toString(), s.container(), s.hostname(), s.created());
  }
}
