package io.jmigrate.archive;

import io.jmigrate.blob.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * Reads the tar that {@code GET /images/get} (docker save) streams, in either layout:
 * <ul>
 *   <li>legacy (Docker ≤ 24): {@code <v1id>/layer.tar}, {@code <v1id>/json}, {@code <config>.json}, and
 *       {@code manifest.json} last, so layers cannot be identified until the end;
 *   <li>OCI (Docker ≥ 25): {@code blobs/sha256/<hex>}, {@code index.json}, {@code manifest.json}; layers may be
 *       gzip or zstd compressed under the containerd image store.
 * </ul>
 * Entries larger than a small threshold can only be layers and are handed to the {@link LayerHandler} as they
 * stream by; smaller entries are kept in memory until {@code manifest.json} says which of them are layers, then
 * handed over too. Every layer reaches the handler exactly once, decompressed, so its digest is its diffID.
 */
public final class SaveArchive {
  // TODO(archive): implemented by the archive work.
  private SaveArchive() {}

  /** Receives each layer's uncompressed tar content once. */
  @FunctionalInterface
  public interface LayerHandler {
    /**
     * {@code path} is the entry name (as listed in manifest.json), {@code size} the uncompressed size when known
     * (else -1). The handler reads {@code content} as far as it wants; the reader drains the rest. It must not
     * close {@code content}.
     */
    void layer(String path, long size, InputStream content) throws IOException;
  }

  /**
   * Reads the whole save stream, calling {@code handler} for each layer. Does not close {@code tar}. Fails with a
   * message naming the missing or malformed entry when the stream is not a complete save archive.
   */
  public static Result read(InputStream tar, LayerHandler handler) throws IOException {
    throw new UnsupportedOperationException("SaveArchive.read");
  }

  /** What the archive's manifest says. */
  public static final class Result {
    private final byte[] config;
    private final List<String> layerPaths;
    private final List<String> repoTags;

    private Result(byte[] config, List<String> layerPaths, List<String> repoTags) {
      this.config = config;
      this.layerPaths = List.copyOf(layerPaths);
      this.repoTags = List.copyOf(repoTags);
    }

    public static Result of(byte[] config, List<String> layerPaths, List<String> repoTags) {
      return new Result(config.clone(), layerPaths, repoTags);
    }

    /** The image config JSON, as saved (its sha256 is the image id). */
    public byte[] config() {
      return config.clone();
    }

    public Digest configDigest() {
      return Digest.of(config);
    }

    /** Layer entry paths in manifest order, bottom first; a path may repeat. */
    public List<String> layerPaths() {
      return layerPaths;
    }

    public List<String> repoTags() {
      return repoTags;
    }
  }
}
