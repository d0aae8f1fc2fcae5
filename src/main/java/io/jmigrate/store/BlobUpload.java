package io.jmigrate.store;

import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import java.io.OutputStream;

/**
 * A blob being written whose digest is not known until its last byte: write to {@link #stream()}, then
 * {@link #commit} with the digest computed on the way, or {@link #abort}. Until commit nothing is visible under
 * the blob's digest: the bytes sit in a staging area (a temp file, a temp object, an upload session).
 *
 * <p>Close is abort unless commit already happened, so try-with-resources never leaves staged data behind.
 */
public interface BlobUpload extends AutoCloseable {
  /** Where to write the stored bytes. Owned by the upload: do not close it; commit or abort does. */
  OutputStream stream();

  /**
   * Makes the staged bytes visible as {@code digest}. When the store already has that digest (written meanwhile
   * by another writer) the staged copy is dropped and the skip is logged. Returns the stored descriptor.
   */
  Descriptor commit(String mediaType, Digest digest, long size) throws StoreException;

  /** Drops the staged bytes. Safe to call more than once, and after commit (then it does nothing). */
  void abort();

  @Override
  default void close() {
    abort();
  }
}
