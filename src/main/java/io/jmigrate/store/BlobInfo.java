package io.jmigrate.store;

import io.jmigrate.blob.Digest;
import java.time.Instant;
import java.util.Objects;

/** A blob as listed by a store: digest, stored size and when it was last written, for garbage collection. */
public final class BlobInfo {
  private final Digest digest;
  private final long size;
  private final Instant modified;

  private BlobInfo(Digest digest, long size, Instant modified) {
    this.digest = digest;
    this.size = size;
    this.modified = modified;
  }

  /** {@code modified} may be null where a store cannot tell (then garbage collection treats it as new). */
  public static BlobInfo of(Digest digest, long size, Instant modified) {
    if (digest == null) {
      throw new IllegalArgumentException("blob info needs a digest");
    }
    if (size < 0) {
      throw new IllegalArgumentException("negative size " + size + " for blob " + digest);
    }
    return new BlobInfo(digest, size, modified);
  }

  public Digest digest() {
    return digest;
  }

  public long size() {
    return size;
  }

  /** Null when unknown. */
  public Instant modified() {
    return modified;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BlobInfo && ((BlobInfo) o).digest.equals(digest) && ((BlobInfo) o).size == size
        && Objects.equals(((BlobInfo) o).modified, modified);
  }

  @Override
  public int hashCode() {
    return digest.hashCode();
  }

  @Override
  public String toString() {
    return digest + " (" + size + " bytes)";
  }
}
