package io.jmigrate.snapshot;

import io.jmigrate.archive.Compression;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.store.BlobUpload;
import io.jmigrate.store.RegistryStore;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import io.jmigrate.store.Tag;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replicates snapshots from one repository to another, of any kinds, sending only the objects the target lacks.
 *
 * <p>The copy is byte-exact: the same blobs, manifests and index, so a snapshot keeps its id everywhere and a copy
 * can be verified against the original. (A snapshot copied into a registry therefore keeps the layer compression
 * of its source; a backup made straight into a registry uses gzip layers, see docs/registry.md.) Blobs go first,
 * then manifests, then the index, and the tag last: a copy interrupted halfway publishes nothing.
 */
public final class SnapshotCopier {
  private static final Logger LOG = LoggerFactory.getLogger(SnapshotCopier.class);

  private final SnapshotRepository from;
  private final Store to;
  private long objectsSent;
  private long bytesSent;
  private long objectsSkipped;

  public SnapshotCopier(SnapshotRepository from, Store to) {
    this.from = from;
    this.to = to;
  }

  /** What a copy did. */
  public record Result(SnapshotSummary snapshot, boolean alreadyThere, long objectsSent, long bytesSent,
      long objectsSkipped) {}

  /** Copies one snapshot; a snapshot whose tag already points at the same index is left alone. */
  public Result copy(SnapshotSummary s) throws StoreException, SnapshotException, IOException {
    long sent0 = objectsSent;
    long bytes0 = bytesSent;
    long skipped0 = objectsSkipped;
    Optional<Tag> existing = to.getTag(s.tag());
    if (existing.isPresent()) {
      if (existing.get().target().digest().equals(s.id())) {
        return new Result(s, true, 0, 0, 0);
      }
      throw new SnapshotException(SnapshotException.Kind.INVALID, "cannot copy snapshot " + s.shortId() + ": "
          + to.location() + " already has a different snapshot tagged " + s.tag());
    }
    Snapshot snap = from.load(s);
    for (Snapshot.Part p : snap.parts()) {
      if (!p.manifest()) {
        copyBlob(p, s);
      }
    }
    // Manifests before the index that lists them: a registry refuses a manifest whose parts it lacks.
    for (Snapshot.Part p : snap.parts()) {
      if (p.manifest() && !"index".equals(p.role())) {
        to.putManifest(p.descriptor(), from.store().getManifest(p.descriptor().digest()));
      }
    }
    to.putManifest(s.index(), from.store().getManifest(s.id()));
    // Created only if still free: another copy (or a backup on another host) may have taken the name meanwhile.
    if (!to.putTagIfAbsent(Tag.of(s.tag(), s.index()))) {
      Optional<Tag> now = to.getTag(s.tag());
      if (now.isPresent() && now.get().target().digest().equals(s.id())) {
        return new Result(s, true, objectsSent - sent0, bytesSent - bytes0, objectsSkipped - skipped0);
      }
      throw new SnapshotException(SnapshotException.Kind.INVALID, "cannot copy snapshot " + s.shortId() + ": "
          + to.location() + " got a different snapshot tagged " + s.tag() + " while copying");
    }
    LOG.info("copied snapshot {} ({}) to {}", s.shortId(), s.tag(), to.location());
    return new Result(s, false, objectsSent - sent0, bytesSent - bytes0, objectsSkipped - skipped0);
  }

  private void copyBlob(Snapshot.Part p, SnapshotSummary s) throws StoreException, IOException {
    Descriptor d = p.descriptor();
    if (to.hasBlob(d.digest())) {
      LOG.debug("{} of {}: {} already in {}, skipped", p.role(), s.shortId(), d.digest(), to.location());
      objectsSkipped++;
    } else if (from.store() instanceof RegistryStore && to instanceof RegistryStore
        && ((RegistryStore) to).sameRegistry((RegistryStore) from.store())
        && ((RegistryStore) to).mountFrom(((RegistryStore) from.store()).repository(), d.digest())) {
      LOG.info("{} of {}: mounted {} from {}", p.role(), s.shortId(), d.digest(), from.store().location());
      objectsSent++;
    } else {
      String what = p.role() + " of snapshot " + s.shortId();
      try (InputStream in = from.store().openBlob(d.digest(), d.size(), what);
          BlobUpload up = to.startUpload()) {
        in.transferTo(up.stream());
        up.commit(d.mediaType(), d.digest(), d.size());
      }
      objectsSent++;
      bytesSent += d.size();
      LOG.info("{} of {}: sent {} ({} bytes)", p.role(), s.shortId(), d.digest(), d.size());
    }
    if (p.isContent()) {
      // So that later backups straight into the target recognise this content without compressing it again.
      Compression c = Compression.ofMediaType(d.mediaType());
      to.putAlias(Contents.aliasKey(c, p.diffId()), d.withAnnotations(java.util.Map.of(Contents.DIFFID,
          p.diffId().toString(), Contents.UNCOMPRESSED_SIZE, Long.toString(p.uncompressedSize()))));
    }
  }
}
