package io.jmigrate.snapshot;

import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.store.Tag;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * A snapshot as listed: what its tag and the annotations of its index say, without reading the document.
 * The id is the digest of the snapshot index; {@link #shortId()} is what users see and type.
 */
public final class SnapshotSummary {
  /** Index annotations; see docs/repository-format.md. */
  public static final String CONTAINER = "io.jmigrate.snapshot.container";
  public static final String CREATED = "io.jmigrate.snapshot.created";
  public static final String HOST = "io.jmigrate.snapshot.host";
  /** The engine host's own name (its {@code /info} Name): what tells two hosts' same-named containers apart. */
  public static final String HOSTNAME = "io.jmigrate.snapshot.hostname";
  public static final String CONSISTENCY = "io.jmigrate.snapshot.consistency";
  public static final String SIZE = "io.jmigrate.snapshot.size";

  /** Hex characters shown for an id, as docker shows 12 for image and container ids. */
  public static final int SHORT_ID = 12;

  private final String tag;
  private final Descriptor index;
  private final String container;
  private final Instant created;
  private final String host;
  private final String consistency;
  private final long size;

  private SnapshotSummary(String tag, Descriptor index, String container, Instant created, String host,
      String consistency, long size) {
    this.tag = tag;
    this.index = index;
    this.container = container;
    this.created = created;
    this.host = host;
    this.consistency = consistency;
    this.size = size;
  }

  /** The summary of a tag, or empty when the tag is not a jmigrate snapshot (e.g. some other image in a registry). */
  public static Optional<SnapshotSummary> fromTag(Tag tag) {
    Descriptor d = tag.target();
    String container = d.annotation(CONTAINER);
    String created = d.annotation(CREATED);
    if (container == null || created == null) {
      return Optional.empty();
    }
    Instant when;
    long size;
    try {
      when = Instant.parse(created);
      size = d.annotation(SIZE) == null ? -1 : Long.parseLong(d.annotation(SIZE));
    } catch (DateTimeParseException | NumberFormatException e) {
      return Optional.empty();
    }
    return Optional.of(new SnapshotSummary(tag.name(), d, container, when, d.annotation(HOST),
        d.annotation(CONSISTENCY), size));
  }

  public Digest id() {
    return index.digest();
  }

  public String shortId() {
    return index.digest().shortHex(SHORT_ID);
  }

  public String tag() {
    return tag;
  }

  /** The snapshot index's descriptor, with its annotations. */
  public Descriptor index() {
    return index;
  }

  public String container() {
    return container;
  }

  public Instant created() {
    return created;
  }

  /** Null when the snapshot did not record it. */
  public String host() {
    return host;
  }

  /** The engine host's name; null when the snapshot did not record it (snapshots written before it was recorded). */
  public String hostname() {
    return index.annotation(HOSTNAME);
  }

  public String consistency() {
    return consistency;
  }

  /** Stored bytes referenced by the snapshot, or -1 when unknown. */
  public long size() {
    return size;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SnapshotSummary && ((SnapshotSummary) o).tag.equals(tag)
        && ((SnapshotSummary) o).index.digest().equals(index.digest());
  }

  @Override
  public int hashCode() {
    return tag.hashCode();
  }

  @Override
  public String toString() {
    return shortId() + " (" + container + ", " + created + ")";
  }
}
