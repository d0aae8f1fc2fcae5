package io.jmigrate.snapshot;

import io.jmigrate.archive.Compression;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestingInputStream;
import io.jmigrate.blob.DigestingOutputStream;
import io.jmigrate.blob.IoConsumer;
import io.jmigrate.blob.Pipe;
import io.jmigrate.store.BlobUpload;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores and reads back uncompressed tar content (layers, volumes) in a {@link Store}, compressed the way the
 * store wants, with two digests: the stored blob's, and the uncompressed content's (the diffID).
 *
 * <p>Deduplication works on the diffID through the store's aliases, so content already stored is neither
 * compressed nor uploaded again.
 */
public final class Contents {
  private static final Logger LOG = LoggerFactory.getLogger(Contents.class);

  /** Annotation on a stored content descriptor: the sha256 of the uncompressed tar. */
  public static final String DIFFID = "io.jmigrate.diffid";
  /** Annotation on a stored content descriptor: the size of the uncompressed tar. */
  public static final String UNCOMPRESSED_SIZE = "io.jmigrate.uncompressed-size";

  private Contents() {}

  /** Content that can be written, possibly more than once (a second pass re-reads the source). */
  @FunctionalInterface
  public interface Source extends IoConsumer<OutputStream> {}

  /** The outcome of a put: the stored blob, its uncompressed digest and size, and whether it was reused. */
  public record Stored(Descriptor blob, Digest diffId, long uncompressedSize, boolean reused) {}

  /** The alias key of uncompressed content in a given compression. */
  public static String aliasKey(Compression c, Digest diffId) {
    return (c == Compression.NONE ? "tar" : c.suffix()) + "-" + diffId.hex();
  }

  /**
   * Looks up content already stored under {@code diffId} in this store's compression for {@code kind}. The alias
   * is trusted only when its blob exists.
   */
  public static Optional<Stored> find(Store store, Store.ContentKind kind, Digest diffId) throws StoreException {
    Compression c = store.compression(kind);
    Optional<Descriptor> alias;
    try {
      alias = store.getAlias(aliasKey(c, diffId));
    } catch (StoreException e) {
      if (e.kind() == StoreException.Kind.AUTH) {
        throw e;
      }
      // An alias is only a hint: one that cannot be read (another host writing the same alias right now, on a
      // server whose PUT is not atomic) costs storing the content again, never the backup.
      LOG.warn("alias {} in {} cannot be read ({}); storing the content again", aliasKey(c, diffId),
          store.location(), e.getMessage());
      return Optional.empty();
    }
    if (alias.isEmpty() || !store.hasBlob(alias.get().digest())) {
      return Optional.empty();
    }
    Descriptor d = alias.get();
    String size = d.annotation(UNCOMPRESSED_SIZE);
    return Optional.of(new Stored(d, diffId, size == null ? -1 : Long.parseLong(size), true));
  }

  /**
   * Computes the diffID and size of {@code source} without storing anything: the cheap first pass for stores where
   * uploading content only to discard it would cost real bandwidth.
   */
  public static Stored hashOnly(Source source) throws IOException {
    DigestingOutputStream d = new DigestingOutputStream(OutputStream.nullOutputStream());
    source.accept(d);
    d.close();
    return new Stored(null, d.digest(), d.count(), false);
  }

  /**
   * Stores the uncompressed content that {@code source} writes. When {@code knownDiffId} is given and already
   * stored, nothing is read. Otherwise the content is compressed and uploaded while both digests are computed;
   * if its diffID turns out to be stored already (an unchanged volume), the upload is dropped before it becomes
   * visible. {@code what} names the content in logs and errors.
   */
  public static Stored put(Store store, Store.ContentKind kind, String what, Digest knownDiffId, Source source)
      throws IOException, StoreException {
    if (knownDiffId != null) {
      Optional<Stored> have = find(store, kind, knownDiffId);
      if (have.isPresent()) {
        LOG.info("{}: already stored as {}, skipped", what, have.get().blob().digest());
        return have.get();
      }
    }
    Compression c = store.compression(kind);
    String mediaType = kind == Store.ContentKind.LAYER ? c.layerMediaType() : c.volumeMediaType();
    try (BlobUpload upload = store.startUpload()) {
      DigestingOutputStream stored = new DigestingOutputStream(upload.stream());
      // Two stages on two threads, so that producing and hashing the tar overlaps with compressing, hashing and
      // writing it: on the 2-core machines this was measured on, that is most of the difference to `tar | zstd`.
      // Set by the producer before its end of stream, which the reader sees only after (the pipe's queue orders it).
      DigestingOutputStream[] produced = new DigestingOutputStream[1];
      try (OutputStream compressed = c.compress(stored);
          InputStream tar = Pipe.produce("read " + what, out -> {
            DigestingOutputStream d = new DigestingOutputStream(out);
            source.accept(d);
            d.close();
            produced[0] = d;
          })) {
        byte[] buf = new byte[1 << 20];
        int n;
        while ((n = tar.read(buf)) > 0) {
          compressed.write(buf, 0, n);
        }
      }
      stored.close();
      DigestingOutputStream raw = produced[0];
      Digest diffId = raw.digest();
      if (knownDiffId != null && !knownDiffId.equals(diffId)) {
        throw new IOException(what + " changed while it was read: expected " + knownDiffId + ", read " + diffId);
      }
      Optional<Stored> have = find(store, kind, diffId);
      if (have.isPresent()) {
        upload.abort();
        LOG.info("{}: unchanged, already stored as {}, skipped", what, have.get().blob().digest());
        return have.get();
      }
      Descriptor blob = upload.commit(mediaType, stored.digest(), stored.count())
          .withAnnotations(Map.of(DIFFID, diffId.toString(), UNCOMPRESSED_SIZE, Long.toString(raw.count())));
      store.putAlias(aliasKey(c, diffId), blob);
      LOG.info("{}: stored {} ({} bytes, {} uncompressed)", what, blob.digest(), blob.size(), raw.count());
      return new Stored(blob, diffId, raw.count(), false);
    }
  }

  /** Reports a decompressor's complaint (bad frame, bad checksum) as corruption of the blob, not as an I/O error. */
  private static InputStream corruptionAware(InputStream in, Descriptor blob, String context) {
    return new FilterInputStream(in) {
      @Override
      public int read() throws IOException {
        try {
          return super.read();
        } catch (com.github.luben.zstd.ZstdIOException | java.util.zip.ZipException e) {
          throw corrupt(e);
        }
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        try {
          return super.read(b, off, len);
        } catch (com.github.luben.zstd.ZstdIOException | java.util.zip.ZipException e) {
          throw corrupt(e);
        }
      }

      private IOException corrupt(IOException e) {
        return new io.jmigrate.blob.DigestMismatchException(
            context + " is corrupt: blob " + blob.digest() + " does not decompress (" + e.getMessage() + ")",
            blob.digest(), null);
      }
    };
  }

  /**
   * Opens stored content decompressed, checked twice: the stored bytes against the blob digest and the
   * uncompressed bytes against {@code diffId} and {@code uncompressedSize} (-1 when unknown). A mismatch throws
   * {@link io.jmigrate.blob.DigestMismatchException} naming {@code context}. The caller closes the stream.
   */
  public static InputStream open(Store store, Descriptor blob, Digest diffId, long uncompressedSize, String context)
      throws StoreException, IOException {
    DigestingInputStream storedBytes = new DigestingInputStream(
        store.openBlob(blob.digest(), blob.size(), context), null, -1, context);
    Compression c = Compression.ofMediaType(blob.mediaType());
    InputStream plain;
    try {
      plain = c.decompress(storedBytes);
    } catch (IOException e) {
      storedBytes.close();
      throw new io.jmigrate.blob.DigestMismatchException(
          context + " is corrupt: cannot decompress blob " + blob.digest() + ": " + e.getMessage(), blob.digest(), null);
    }
    DigestingInputStream checked = new DigestingInputStream(
        corruptionAware(plain, blob, context), diffId, uncompressedSize, context + " (uncompressed)");
    return new FilterInputStream(checked) {
      private boolean drained;

      @Override
      public int read() throws IOException {
        int b = super.read();
        if (b < 0) {
          drainStored();
        }
        return b;
      }

      @Override
      public int read(byte[] buf, int off, int len) throws IOException {
        int n = super.read(buf, off, len);
        if (n < 0) {
          drainStored();
        }
        return n;
      }

      // A decompressor may stop at the end of its frame without reading the stored stream to its end; read the
      // rest so that the stored blob's own digest check runs too.
      private void drainStored() throws IOException {
        if (!drained) {
          drained = true;
          storedBytes.drain();
        }
      }
    };
  }
}
