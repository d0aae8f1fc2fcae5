package io.jmigrate.archive;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.blob.NonClosingOutputStream;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * How a tar stream is compressed when stored.
 *
 * <p>zstd is the default: at level 1 with workers it runs near disk speed (about 2.4 s/GiB here, against
 * 24 s/GiB for gzip -6; see docs/performance.md). gzip exists for registries, because an image that other
 * engines must pull has to use a layer type every engine reads: Docker 20.10 refuses zstd layers.
 */
public enum Compression {
  NONE("", MediaTypes.OCI_LAYER_TAR, MediaTypes.VOLUME_TAR),
  GZIP("gzip", MediaTypes.OCI_LAYER_GZIP, MediaTypes.VOLUME_TAR_GZIP),
  ZSTD("zstd", MediaTypes.OCI_LAYER_ZSTD, MediaTypes.VOLUME_TAR_ZSTD);

  /** zstd level 1: the measured sweet spot; higher levels cost far more CPU for a few percent. */
  public static final int ZSTD_LEVEL = 1;

  private final String suffix;
  private final String layerMediaType;
  private final String volumeMediaType;

  Compression(String suffix, String layerMediaType, String volumeMediaType) {
    this.suffix = suffix;
    this.layerMediaType = layerMediaType;
    this.volumeMediaType = volumeMediaType;
  }

  /** "zstd", "gzip" or "" for none. */
  public String suffix() {
    return suffix;
  }

  public String layerMediaType() {
    return layerMediaType;
  }

  public String volumeMediaType() {
    return volumeMediaType;
  }

  /** The compression a layer or volume media type implies; the message names an unknown type. */
  public static Compression ofMediaType(String mediaType) {
    if (mediaType == null) {
      throw new IllegalArgumentException("media type is missing");
    }
    if (mediaType.endsWith("+zstd") || mediaType.endsWith(".zstd")) {
      return ZSTD;
    }
    if (mediaType.endsWith("+gzip") || mediaType.endsWith(".gzip") || mediaType.endsWith("tar.gzip")) {
      return GZIP;
    }
    if (mediaType.endsWith(".tar") || mediaType.endsWith(".diff.tar")) {
      return NONE;
    }
    throw new IllegalArgumentException("unknown layer media type: " + mediaType);
  }

  /**
   * Wraps {@code out} in a compressor. Closing the returned stream finishes the compressed frame but does not
   * close {@code out}: the caller owns it.
   */
  public OutputStream compress(OutputStream out) throws IOException {
    OutputStream shield = new NonClosingOutputStream(out);
    switch (this) {
      case NONE:
        return shield;
      case GZIP:
        return new GZIPOutputStream(shield, 1 << 16);
      case ZSTD:
        ZstdOutputStream z = new ZstdOutputStream(shield, ZSTD_LEVEL);
        // Workers overlap compression with reading; zstd's output does not depend on their number (>= 1).
        z.setWorkers(Math.max(1, Runtime.getRuntime().availableProcessors()));
        z.setChecksum(true);
        return z;
      default:
        throw new IllegalStateException(name());
    }
  }

  /** Wraps {@code in} in a decompressor. Closing the returned stream closes {@code in}. */
  public InputStream decompress(InputStream in) throws IOException {
    switch (this) {
      case NONE:
        return in;
      case GZIP:
        return new GZIPInputStream(in, 1 << 16);
      case ZSTD:
        return new BufferedInputStream(new ZstdInputStream(in), 1 << 16);
      default:
        throw new IllegalStateException(name());
    }
  }

  /** Sniffs the magic bytes of a stream that supports mark: gzip 1f8b, zstd 28b52ffd, else none. */
  public static Compression detect(InputStream in) throws IOException {
    if (!in.markSupported()) {
      throw new IllegalArgumentException("detect needs a stream that supports mark");
    }
    in.mark(4);
    byte[] m = in.readNBytes(4);
    in.reset();
    if (m.length >= 2 && (m[0] & 0xff) == 0x1f && (m[1] & 0xff) == 0x8b) {
      return GZIP;
    }
    if (m.length == 4 && (m[0] & 0xff) == 0x28 && (m[1] & 0xff) == 0xb5 && (m[2] & 0xff) == 0x2f
        && (m[3] & 0xff) == 0xfd) {
      return ZSTD;
    }
    return NONE;
  }
}
