package io.jmigrate.store;

import io.jmigrate.archive.Compression;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import java.io.Closeable;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A repository backend: content-addressed blobs, manifests, tags that publish them, aliases that map an
 * uncompressed content digest to the stored blob, and a lock.
 *
 * <p>Every kind (local directory, S3, OCI registry) passes the same contract tests (StoreContract). Rules:
 * <ul>
 *   <li>A write first checks whether the digest exists, and logs the skip.
 *   <li>Nothing is visible under a digest until all its bytes are stored and checked; a tag is written last,
 *       atomically, so a snapshot is either wholly there or not there.
 *   <li>Every read is digest-checked: a mismatch fails with {@link io.jmigrate.blob.DigestMismatchException}.
 *   <li>Messages name the action, the object and {@link #location()}, never credentials.
 * </ul>
 */
public interface Store extends Closeable {

  /** What a blob holds, which decides how the store wants it compressed. */
  enum ContentKind {
    /** An image layer: a registry needs gzip so that any engine can pull the image. */
    LAYER,
    /** A volume's contents. */
    VOLUME
  }

  /** Lock modes: many SHARED holders (backups) or one EXCLUSIVE holder (prune, run). */
  enum LockMode {
    SHARED,
    EXCLUSIVE
  }

  /** The repository's URL, without credentials: {@code file:/…}, {@code s3://…}, {@code oci://…}. */
  String location();

  /**
   * True when the repository exists: its directory, its S3 bucket, or a registry repository that something was
   * pushed to. Reading commands check it, so that a mistyped {@code --repo} is an error and not an empty
   * repository. Opening a store never creates one; the first write does.
   */
  boolean exists() throws StoreException;

  /** The compression this store wants for content of this kind. */
  Compression compression(ContentKind kind);

  /** True when the blob is stored. */
  boolean hasBlob(Digest digest) throws StoreException;

  /** Starts a streamed write whose digest is computed while writing; see {@link BlobUpload}. */
  BlobUpload startUpload() throws StoreException;

  /**
   * Stores a small blob whose digest is known; skips (and logs) when it exists. Returns its descriptor.
   */
  Descriptor putBlob(String mediaType, byte[] content) throws StoreException;

  /**
   * Opens a blob for reading. The stream checks the content against {@code digest} and {@code size} (pass -1
   * when unknown) at its end and throws {@link io.jmigrate.blob.DigestMismatchException} naming
   * {@code context} (e.g. "volume data of snapshot 3f2a9c1b0d4e"). The caller closes the stream.
   */
  InputStream openBlob(Digest digest, long size, String context) throws StoreException;

  /** Removes a blob; absent is not an error. */
  void deleteBlob(Digest digest) throws StoreException;

  /**
   * Lists stored blobs with size and write time, for garbage collection. A store that cannot list (a registry)
   * throws with kind INVALID and says what to do instead.
   */
  List<BlobInfo> listBlobs() throws StoreException;

  /**
   * Stores a manifest or index (registries keep these apart from blobs). {@code descriptor.digest()} must be
   * the sha256 of {@code content}. Skips when present.
   */
  void putManifest(Descriptor descriptor, byte[] content) throws StoreException;

  /** Reads a manifest or index, digest-checked. */
  byte[] getManifest(Digest digest) throws StoreException;

  /** Publishes a tag atomically, replacing any tag of that name. */
  void putTag(Tag tag) throws StoreException;

  /**
   * Publishes a tag only if no tag of that name exists, and says whether it did: the last step of every snapshot,
   * so that two hosts publishing the same name at once never replace each other's snapshot. Atomic where the store
   * has a primitive for it (local: under the repository's index lock; S3: a conditional PUT with
   * {@code If-None-Match: *}). Elsewhere (a registry's tag PUT has no condition, nor has an S3 server that ignores
   * it) this default checks, writes, waits {@link #PUBLISH_SETTLE} and reads the tag back: a writer that finds
   * another's snapshot under the name then says it did not publish, and its caller takes the next name, so of two
   * writers that met, the one overwritten moves aside. Only a writer stalled for longer than the settle time
   * between its check and its write can still replace a tag: docs/stores.md says which store guarantees what.
   */
  default boolean putTagIfAbsent(Tag tag) throws StoreException {
    if (getTag(tag.name()).isPresent()) {
      return false;
    }
    putTag(tag);
    try {
      Thread.sleep(PUBLISH_SETTLE.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(StoreException.Kind.OTHER, "interrupted while publishing tag " + tag.name(), e);
    }
    Optional<Tag> now = getTag(tag.name());
    return now.isPresent() && now.get().target().digest().equals(tag.target().digest());
  }

  /** How long {@link #putTagIfAbsent} waits before it reads back a tag written without a condition. */
  java.time.Duration PUBLISH_SETTLE = java.time.Duration.ofSeconds(1);

  /**
   * All readable tags, with their targets' descriptors; jmigrate's own internal tags (locks) are not listed. Each
   * unreadable tag is skipped with a warning: {@link #tagListing} reports them to callers that must be loud.
   */
  List<Tag> listTags() throws StoreException;

  /** All tags like {@link #listTags}, and those that exist but could not be read, without logging them. */
  TagListing tagListing() throws StoreException;

  /**
   * As {@link #tagListing()}, for the tags whose names start with {@code prefix} only. A store that can list by
   * prefix reads only those tags (one container's snapshots, when a repository holds a fleet's); this default
   * filters the whole listing.
   */
  default TagListing tagListing(String prefix) throws StoreException {
    TagListing all = tagListing();
    return new TagListing(all.tags().stream().filter(t -> t.name().startsWith(prefix)).toList(),
        all.unreadable().stream().filter(u -> u.name().startsWith(prefix)).toList());
  }

  /** One tag, or empty. */
  Optional<Tag> getTag(String name) throws StoreException;

  /** Removes a tag; absent is not an error. */
  void deleteTag(String name) throws StoreException;

  /**
   * Looks up the stored blob for a content key, e.g. {@code zstd-<hex of the uncompressed digest>}, so that a
   * backup can skip a layer or volume it already stored without compressing it again.
   */
  Optional<Descriptor> getAlias(String key) throws StoreException;

  /** Records an alias. Aliases are hints: a reader checks {@link #hasBlob} before trusting one. */
  void putAlias(String key, Descriptor target) throws StoreException;

  /**
   * Takes the repository lock, waiting up to {@code wait} for a conflicting holder to leave. Fails with kind
   * LOCKED and a message naming the holder (command, host, pid, since when) when it cannot.
   */
  StoreLock lock(LockMode mode, String purpose, Duration wait) throws StoreException;

  /**
   * Removes staged data (temp files, temp objects, unfinished multipart uploads) older than {@code olderThan},
   * which a killed process can leave behind; running writes are younger. Returns how many items were removed.
   * Stores whose staging expires by itself (a registry's upload sessions) remove nothing.
   */
  default int cleanStaging(Duration olderThan) throws StoreException {
    return 0;
  }

  /** Releases connections; does not delete anything. */
  @Override
  void close();
}
