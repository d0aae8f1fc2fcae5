package io.jmigrate.archive;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Builds packs (docs/repository-format.md, "Packs"): chunks compressed one by one, each as an independent zstd
 * frame so that a range read fetches one, back to back in one growable buffer; then a trailer listing them:
 * <pre>
 * entry 0 … entry n-1 | trailer (zstd-compressed JSON) | trailer length (4 bytes, big-endian) | "JMPACK01"
 * trailer = {"chunks": [{"id": "sha256:…", "type": "data"|"meta", "offset": 0, "length": 5123, "raw": 1048576}, …]}
 * </pre>
 * The trailer's frame carries zstd's checksum; the entries' frames do not (the chunk id is their check). The
 * caller adds chunks while {@link #full} is false, then {@link #finish}es the pack, which hands over the
 * buffer with the pack's size and sha256 digest, and starts the next pack empty. One zstd context is reused for
 * every chunk. Not thread-safe; {@link #close} frees the native context.
 */
public final class PackWriter implements AutoCloseable {
  public static final int DEFAULT_TARGET = 16 * 1024 * 1024;
  /** The pack's last 8 bytes. */
  static final byte[] MAGIC = "JMPACK01".getBytes(StandardCharsets.US_ASCII);
  /** Trailer length (4) and magic (8). */
  public static final int FOOTER_BYTES = 4 + 8;
  /** Packs are addressed with int offsets: the target leaves room for one more chunk below 2 GiB. */
  static final int MAX_TARGET = 1 << 30;
  private static final int INITIAL_BUFFER = 1 << 20;

  private final int target;
  private final ZstdCompressCtx zstd = new ZstdCompressCtx();
  private final MessageDigest sha = Digest.newSha256();
  private byte[] buf;
  private int size;
  private final List<PackEntry> entries = new ArrayList<>();

  /** A writer closing packs at {@code target} bytes, compressing at zstd {@code level}. */
  public PackWriter(int target, int level) {
    if (target < 1 || target > MAX_TARGET) {
      throw new IllegalArgumentException("pack target size must be in [1, " + MAX_TARGET + "], got " + target);
    }
    this.target = target;
    // Content size in each frame header: a reader can size its buffer, and the trailer check can use it.
    zstd.setLevel(level).setContentSize(true).setChecksum(false);
  }

  /** 16 MiB packs at {@link Compression#ZSTD_LEVEL}. */
  public static PackWriter defaults() {
    return new PackWriter(DEFAULT_TARGET, Compression.ZSTD_LEVEL);
  }

  /**
   * Compresses {@code data[off, off + len)} into the pack as the chunk {@code id[idOff, idOff + 32)}, which the
   * caller computed (to look it up in the index first). Returns its entry.
   */
  public PackEntry add(byte[] id, int idOff, PackEntry.Type type, byte[] data, int off, int len) {
    if (len <= 0) {
      throw new IllegalArgumentException("a chunk must not be empty");
    }
    int bound = (int) Zstd.compressBound(len);
    ensure(size + bound);
    int n;
    try {
      n = zstd.compressByteArray(buf, size, bound, data, off, len);
    } catch (ZstdException e) {
      throw new IllegalStateException("zstd failed to compress a chunk of " + len + " bytes: " + e.getMessage(), e);
    }
    PackEntry e = new PackEntry(id, idOff, type, size, n, len);
    entries.add(e);
    size += n;
    return e;
  }

  /** True when the pack has reached its target size: {@link #finish} it before adding more. */
  public boolean full() {
    return size >= target;
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  /** Bytes of entries so far. */
  public int size() {
    return size;
  }

  /** Entries so far. */
  public int count() {
    return entries.size();
  }

  /**
   * Appends the trailer and footer, and hands over the finished pack; this writer then starts an empty one.
   * Refuses an empty pack.
   */
  public Finished finish() throws IOException {
    if (entries.isEmpty()) {
      throw new IllegalStateException("no chunk in the pack");
    }
    byte[] json = trailerJson(entries);
    int bound = (int) Zstd.compressBound(json.length);
    ensure(size + bound + FOOTER_BYTES);
    // The trailer's frame carries zstd's checksum: it is read from a range of the tail, without the pack's digest.
    zstd.setChecksum(true);
    int n;
    try {
      n = zstd.compressByteArray(buf, size, bound, json, 0, json.length);
    } finally {
      zstd.setChecksum(false);
    }
    size += n;
    buf[size++] = (byte) (n >>> 24);
    buf[size++] = (byte) (n >>> 16);
    buf[size++] = (byte) (n >>> 8);
    buf[size++] = (byte) n;
    System.arraycopy(MAGIC, 0, buf, size, MAGIC.length);
    size += MAGIC.length;
    sha.update(buf, 0, size);
    Finished f = new Finished(buf, size, Digest.of(sha), Collections.unmodifiableList(new ArrayList<>(entries)));
    buf = null;
    size = 0;
    entries.clear();
    return f;
  }

  /** The trailer's JSON, keys in a fixed order. */
  static byte[] trailerJson(List<PackEntry> entries) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 + entries.size() * 130);
    try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(out, JsonEncoding.UTF8)) {
      g.writeStartObject();
      g.writeArrayFieldStart("chunks");
      for (PackEntry e : entries) {
        g.writeStartObject();
        g.writeStringField("id", "sha256:" + e.idHex());
        g.writeStringField("type", e.type().json());
        g.writeNumberField("offset", e.offset());
        g.writeNumberField("length", e.length());
        g.writeNumberField("raw", e.raw());
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    return out.toByteArray();
  }

  private void ensure(int capacity) {
    if (capacity < 0) {
      throw new IllegalStateException("pack would exceed 2 GiB");
    }
    if (buf == null) {
      buf = new byte[Math.max(capacity, Math.min(INITIAL_BUFFER, target + FOOTER_BYTES))];
    } else if (capacity > buf.length) {
      buf = Arrays.copyOf(buf, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(capacity, 2L * buf.length)));
    }
  }

  @Override
  public void close() {
    zstd.close();
  }

  /** A finished pack: {@code bytes()[0, size())}, its sha256 digest and its entries in order. */
  public static final class Finished {
    private final byte[] bytes;
    private final int size;
    private final Digest digest;
    private final List<PackEntry> entries;

    private Finished(byte[] bytes, int size, Digest digest, List<PackEntry> entries) {
      this.bytes = bytes;
      this.size = size;
      this.digest = digest;
      this.entries = entries;
    }

    /** The buffer holding the pack in its first {@link #size} bytes; owned by the caller now. */
    public byte[] bytes() {
      return bytes;
    }

    public int size() {
      return size;
    }

    public Digest digest() {
      return digest;
    }

    public List<PackEntry> entries() {
      return entries;
    }
  }
}
