package io.jmigrate.archive;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jmigrate.blob.Digest;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

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
 *
 * <p>Memory stays bounded: small entries are kept in memory up to a total budget, and spilled to one temporary
 * file (deleted before {@code read} returns) beyond it. A legacy layer stored twice is saved by the engine as a
 * symlink ({@code <v1id>/layer.tar -> ../<other>/layer.tar}, moby image/tarexport/save.go); such links are
 * resolved, so the handler and {@link Result#layerPaths()} see the target's path.
 */
public final class SaveArchive {
  /** Entries above this size are layers and go to the handler as they stream by. */
  static final long STREAM_THRESHOLD = 4L << 20;
  /** Small entries are kept in memory up to this total, then spilled to a temporary file. */
  static final long MEMORY_BUDGET = 32L << 20;

  private static final ObjectMapper JSON = new ObjectMapper();

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
    return read(tar, handler, STREAM_THRESHOLD, MEMORY_BUDGET);
  }

  /** As {@link #read(InputStream, LayerHandler)} with the thresholds given (tests use small ones). */
  static Result read(InputStream tar, LayerHandler handler, long streamThreshold, long memoryBudget)
      throws IOException {
    try (Kept kept = new Kept(memoryBudget)) {
      return readInto(tar, handler, streamThreshold, kept);
    }
  }

  private static Result readInto(InputStream tar, LayerHandler handler, long streamThreshold, Kept kept)
      throws IOException {
    BufferedInputStream buffered = new BufferedInputStream(new NonClosing(tar), 1 << 16);
    // A user may hand us `docker save | gzip` or `| zstd`; the engine itself always sends a plain tar.
    InputStream plain = Compression.detect(buffered).decompress(buffered);
    TarArchiveInputStream in = new TarArchiveInputStream(plain);
    Map<String, String> links = new HashMap<>();
    Set<String> handed = new HashSet<>();
    int entries = 0;
    while (true) {
      TarArchiveEntry e;
      try {
        e = in.getNextEntry();
      } catch (IOException ex) {
        throw new IOException("cannot read the image archive: it is not a tar stream (docker save output was"
            + " expected) after " + entries + " entries: " + ex.getMessage(), ex);
      }
      if (e == null) {
        break;
      }
      entries++;
      String name = normalize(e.getName());
      if (e.isSymbolicLink()) {
        links.put(name, resolveRelative(name, e.getLinkName()));
      } else if (e.isLink()) {
        links.put(name, normalize(e.getLinkName()));
      } else if (e.isFile()) {
        if (e.getSize() > streamThreshold && !isMetadata(name)) {
          BufferedInputStream b = new BufferedInputStream(new NonClosing(in), 1 << 16);
          if (looksLikeJson(b)) {
            // An OCI blob can be a large config or manifest: keep it (spilled to disk) rather than hand it over.
            kept.put(name, e.getSize(), b);
          } else {
            handOver(handler, name, e.getSize(), b);
            handed.add(name);
          }
        } else {
          kept.put(name, e.getSize(), in);
        }
      }
    }
    if (entries == 0) {
      throw new IOException("cannot read the image archive: the stream is empty or not a tar (docker save output"
          + " was expected)");
    }
    // Read the end-of-archive blocks and padding too, so the caller's stream ends cleanly.
    plain.transferTo(OutputStream.nullOutputStream());

    if (!kept.has("manifest.json")) {
      throw new IOException("the image archive has no manifest.json: it is not docker save output, or it was cut"
          + " short (" + entries + " entries read)");
    }
    JsonNode manifest;
    try (InputStream m = kept.open("manifest.json")) {
      manifest = JSON.readTree(m);
    } catch (IOException ex) {
      throw new IOException("the image archive's manifest.json is not valid JSON: " + ex.getMessage(), ex);
    }
    if (manifest == null || !manifest.isArray() || manifest.size() != 1) {
      throw new IOException("the image archive's manifest.json must list exactly one image, found "
          + (manifest != null && manifest.isArray() ? manifest.size() + " entries" : "no array"));
    }
    JsonNode image = manifest.get(0);
    String configPath = resolve(links, normalize(text(image, "Config")));
    if (!kept.has(configPath)) {
      throw new IOException("the image archive is incomplete: manifest.json names config '" + configPath
          + "' but the archive has no such entry");
    }
    byte[] config;
    try (InputStream c = kept.open(configPath)) {
      config = c.readAllBytes();
    }
    JsonNode layers = image.get("Layers");
    if (layers == null || !layers.isArray()) {
      throw new IOException("the image archive's manifest.json has no Layers array");
    }
    List<String> layerPaths = new ArrayList<>();
    for (JsonNode l : layers) {
      String path = resolve(links, normalize(l.asText()));
      layerPaths.add(path);
      if (handed.contains(path)) {
        continue;
      }
      if (!kept.has(path)) {
        throw new IOException("the image archive is incomplete: manifest.json lists layer '" + l.asText()
            + "' but the archive has no such entry");
      }
      try (InputStream content = kept.open(path)) {
        handOver(handler, path, kept.size(path), content);
      }
      handed.add(path);
    }
    List<String> tags = new ArrayList<>();
    JsonNode repoTags = image.get("RepoTags");
    if (repoTags != null && repoTags.isArray()) {
      repoTags.forEach(t -> tags.add(t.asText()));
    }
    return Result.of(config, layerPaths, tags);
  }

  private static boolean looksLikeJson(BufferedInputStream b) throws IOException {
    b.mark(1);
    int first = b.read();
    b.reset();
    return first == '{' || first == '[';
  }

  /** Hands one layer to the handler, decompressed, then drains what it left. */
  private static void handOver(LayerHandler handler, String path, long size, InputStream raw) throws IOException {
    BufferedInputStream b = raw instanceof BufferedInputStream
        ? (BufferedInputStream) raw : new BufferedInputStream(raw, 1 << 16);
    Compression c = Compression.detect(b);
    InputStream content = new NonClosing(c.decompress(b));
    handler.layer(path, c == Compression.NONE ? size : -1, content);
    b.transferTo(OutputStream.nullOutputStream());
  }

  /** Names the engine writes next to layers; never layers themselves, whatever their size. */
  private static boolean isMetadata(String name) {
    return name.endsWith(".json") || name.endsWith("/json") || name.endsWith("/VERSION")
        || name.equals("repositories") || name.equals("oci-layout");
  }

  private static String text(JsonNode node, String field) throws IOException {
    JsonNode v = node.get(field);
    if (v == null || !v.isTextual() || v.asText().isEmpty()) {
      throw new IOException("the image archive's manifest.json has no " + field);
    }
    return v.asText();
  }

  static String normalize(String name) {
    String n = name;
    while (n.startsWith("./")) {
      n = n.substring(2);
    }
    while (n.startsWith("/")) {
      n = n.substring(1);
    }
    while (n.endsWith("/")) {
      n = n.substring(0, n.length() - 1);
    }
    return n;
  }

  /** Resolves a symlink target relative to the directory of the link entry. */
  private static String resolveRelative(String linkName, String target) {
    if (target.startsWith("/")) {
      return normalize(target);
    }
    List<String> parts = new ArrayList<>(List.of(linkName.split("/")));
    parts.remove(parts.size() - 1);
    for (String p : target.split("/")) {
      if (p.isEmpty() || p.equals(".")) {
        continue;
      }
      if (p.equals("..")) {
        if (!parts.isEmpty()) {
          parts.remove(parts.size() - 1);
        }
      } else {
        parts.add(p);
      }
    }
    return String.join("/", parts);
  }

  private static String resolve(Map<String, String> links, String path) {
    String p = path;
    for (int i = 0; i < 16 && links.containsKey(p); i++) {
      p = links.get(p);
    }
    return p;
  }

  /** Small entries: in memory up to a budget, then in one temporary file. */
  private static final class Kept implements AutoCloseable {
    private final long budget;
    private final Map<String, byte[]> memory = new HashMap<>();
    private final Map<String, long[]> spilled = new HashMap<>();
    private long used;
    private Path file;
    private FileChannel channel;

    Kept(long budget) {
      this.budget = budget;
    }

    void put(String name, long size, InputStream in) throws IOException {
      memory.remove(name);
      spilled.remove(name);
      if (used + size <= budget) {
        byte[] b = in.readNBytes((int) size);
        if (b.length != size) {
          throw new IOException("the image archive is truncated inside entry '" + name + "'");
        }
        memory.put(name, b);
        used += size;
        return;
      }
      if (channel == null) {
        file = Files.createTempFile("jmigrate-save-", ".tmp");
        channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
      }
      long offset = channel.size();
      long n = in.transferTo(Channels.newOutputStream(channel.position(offset)));
      if (n != size) {
        throw new IOException("the image archive is truncated inside entry '" + name + "'");
      }
      spilled.put(name, new long[] {offset, size});
    }

    boolean has(String name) {
      return memory.containsKey(name) || spilled.containsKey(name);
    }

    long size(String name) {
      byte[] b = memory.get(name);
      return b != null ? b.length : spilled.get(name)[1];
    }

    /** The caller closes the returned stream (closing it leaves the spill file open). */
    InputStream open(String name) throws IOException {
      byte[] b = memory.get(name);
      if (b != null) {
        return new ByteArrayInputStream(b);
      }
      long[] at = spilled.get(name);
      InputStream whole = Channels.newInputStream(channel.position(at[0]));
      return new FilterInputStream(whole) {
        private long left = at[1];

        @Override
        public int read() throws IOException {
          if (left <= 0) {
            return -1;
          }
          int r = in.read();
          if (r >= 0) {
            left--;
          }
          return r;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
          if (left <= 0) {
            return -1;
          }
          int r = in.read(buf, off, (int) Math.min(len, left));
          if (r > 0) {
            left -= r;
          }
          return r;
        }

        @Override
        public void close() {
          // The channel is shared; Kept.close() releases it.
        }
      };
    }

    @Override
    public void close() throws IOException {
      memory.clear();
      if (channel != null) {
        channel.close();
        Files.deleteIfExists(file);
      }
    }
  }

  /** Shields a stream from close, so readers layered on it cannot close the caller's stream. */
  private static final class NonClosing extends FilterInputStream {
    NonClosing(InputStream in) {
      super(in);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return in.read(b, off, len);
    }

    @Override
    public void close() {
      // not ours to close
    }
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

    /**
     * Layer entry paths in manifest order, bottom first, as handed to the handler (symlinked entries resolved to
     * their target); a path may repeat.
     */
    public List<String> layerPaths() {
      return layerPaths;
    }

    public List<String> repoTags() {
      return repoTags;
    }
  }
}
