package io.jmigrate.archive;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.NonClosingOutputStream;
import io.jmigrate.blob.DigestMismatchException;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Writes a tar that {@code POST /images/load} accepts, in the legacy layout every engine reads: the config as
 * {@code <hex>.json}, each sent layer as {@code <diffId hex>/layer.tar}, and {@code manifest.json} listing every
 * layer. A "thin" archive omits the layer files of a bottom prefix the target already has (found by chain id):
 * the engine looks each chain up before opening the file (see docs/engine-notes.md, "Save and load").
 *
 * <p><b>Which layers may be omitted.</b> The engine (moby image/tarexport/load.go) walks the manifest's layers
 * bottom up, computing each chain id; when the target already has that chain it moves on without opening the
 * file, otherwise it opens {@code <diffId hex>/layer.tar} and fails with "no such file or directory" if it is
 * missing. A chain id covers the whole stack below a layer ({@link ChainIds}), so a layer can be omitted only
 * when the target has its chain, that is the same layers below it too. Hence the rule: <em>omit at most a
 * bottom prefix; once one layer is missing on the target, send it and every layer above it</em>, even those whose
 * diffID the target holds in some other stack. {@link #finish} enforces it: every layer at or above the lowest
 * sent one must have been sent.
 *
 * <p><b>Order.</b> The engine extracts the whole upload before it reads {@code manifest.json} (moby
 * image/tarexport/load.go untars into a temporary directory first), so the config may come before or after the
 * layers; only {@link #finish} must come last. That lets a migration stream a live {@code docker save} straight
 * into a load: the legacy save carries the config near the end, after most layers. A layer whose diffID is only
 * known once it has streamed by (legacy save entries are named by v1 id) is written with
 * {@link #writeLayer(long, InputStream)}.
 *
 * <p>Entries have fixed owner (0:0), mode 0644 and mtime 0, so the same input always gives the same bytes.
 * Does not close the underlying stream.
 */
public final class LoadArchiveWriter implements Closeable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int BUFFER = 1 << 20;

  private final TarArchiveOutputStream tar;
  private final Set<Digest> sent = new LinkedHashSet<>();
  /** Entry names of layers written before their diffID was known; the others are named {@code <hex>/layer.tar}. */
  private final Map<Digest, String> names = new HashMap<>();
  private int unnamed;
  private String configName;
  private boolean finished;

  /** Starts a load archive on {@code out}, which the caller keeps and closes. */
  public LoadArchiveWriter(OutputStream out) {
    tar = new TarArchiveOutputStream(new NonClosingOutputStream(out));
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
  }

  /** Writes the image config; once, at any point before {@link #finish}. */
  public void writeConfig(byte[] config) throws IOException {
    if (configName != null) {
      throw new IllegalStateException("the image config was already written");
    }
    if (finished) {
      throw new IllegalStateException("the load archive is already finished");
    }
    configName = Digest.of(config).hex() + ".json";
    tar.putArchiveEntry(entry(configName, config.length));
    tar.write(config);
    tar.closeArchiveEntry();
  }

  /**
   * Writes one layer's uncompressed tar, which must be exactly {@code size} bytes with digest {@code diffId}
   * (checked; a mismatch fails). The caller closes {@code content}.
   *
   * <p>On a mismatch the archive is left broken (its last entry is wrong) and must be abandoned: the engine then
   * fails the load instead of importing wrong content.
   */
  public void writeLayer(Digest diffId, long size, InputStream content) throws IOException {
    checkOpen();
    if (size < 0) {
      throw new IllegalArgumentException("layer " + diffId + ": size must be known, got " + size);
    }
    if (!sent.add(diffId)) {
      throw new IllegalStateException("layer " + diffId + " was already written to this load archive");
    }
    String what = "layer " + diffId;
    Digest actual = copyEntry(diffId.hex() + "/layer.tar", size, content, what, diffId);
    if (!actual.equals(diffId)) {
      throw new DigestMismatchException("layer " + diffId + " is corrupt: its " + size + " bytes have digest "
          + actual, diffId, actual);
    }
    tar.closeArchiveEntry();
  }

  /**
   * Writes one layer's uncompressed tar of exactly {@code size} bytes whose diffID is not known beforehand, under a
   * neutral entry name, and returns the diffID computed on the way; {@link #finish} lists the layer under that
   * name. The engine checks every loaded layer against the config's diffIDs, and {@code finish} checks that the
   * returned digest is one of the image's. The caller closes {@code content}.
   *
   * @throws IllegalStateException when a layer with the same digest was already written
   */
  public Digest writeLayer(long size, InputStream content) throws IOException {
    checkOpen();
    if (size < 0) {
      throw new IllegalArgumentException("unnamed layer: size must be known, got " + size);
    }
    String name = "layer-" + (++unnamed) + "/layer.tar";
    Digest actual = copyEntry(name, size, content, "layer " + name, null);
    tar.closeArchiveEntry();
    if (!sent.add(actual)) {
      throw new IllegalStateException("layer " + actual + " was already written to this load archive");
    }
    names.put(actual, name);
    return actual;
  }

  private void checkOpen() {
    if (finished) {
      throw new IllegalStateException("the load archive is already finished");
    }
  }

  /** Copies exactly {@code size} bytes into a new entry and returns their digest; leaves the entry open. */
  private Digest copyEntry(String name, long size, InputStream content, String what, Digest expected)
      throws IOException {
    tar.putArchiveEntry(entry(name, size));
    MessageDigest md = Digest.newSha256();
    byte[] buf = new byte[(int) Math.min(BUFFER, Math.max(size, 1))];
    long left = size;
    while (left > 0) {
      int n = content.read(buf, 0, (int) Math.min(buf.length, left));
      if (n < 0) {
        throw new DigestMismatchException(what + " is shorter than its recorded size: ended after "
            + (size - left) + " of " + size + " bytes", expected, null);
      }
      md.update(buf, 0, n);
      tar.write(buf, 0, n);
      left -= n;
    }
    if (content.read() >= 0) {
      throw new DigestMismatchException(what + " is longer than its recorded size of " + size + " bytes",
          expected, null);
    }
    return Digest.of(md);
  }

  /** Writes manifest.json naming all {@code diffIds} (sent or not) and the tags, then ends the tar. */
  public void finish(List<Digest> diffIds, List<String> repoTags) throws IOException {
    if (configName == null) {
      throw new IllegalStateException("writeConfig must come before finish");
    }
    checkOpen();
    checkBottomPrefixRule(diffIds);
    ObjectNode image = JSON.createObjectNode();
    image.put("Config", configName);
    ArrayNode tags = image.putArray("RepoTags");
    repoTags.forEach(tags::add);
    ArrayNode layers = image.putArray("Layers");
    diffIds.forEach(d -> layers.add(names.getOrDefault(d, d.hex() + "/layer.tar")));
    ArrayNode manifest = JSON.createArrayNode().add(image);
    byte[] bytes = JSON.writeValueAsBytes(manifest);
    tar.putArchiveEntry(entry("manifest.json", bytes.length));
    tar.write(bytes);
    tar.closeArchiveEntry();
    tar.finish();
    tar.flush();
    finished = true;
  }

  private void checkBottomPrefixRule(List<Digest> diffIds) {
    List<Digest> stray = new ArrayList<>(sent);
    stray.removeAll(diffIds);
    if (!stray.isEmpty()) {
      throw new IllegalStateException("layers " + stray + " were written but are not in the image's diffIDs");
    }
    int lowest = -1;
    for (int i = 0; i < diffIds.size(); i++) {
      if (sent.contains(diffIds.get(i))) {
        lowest = i;
        break;
      }
    }
    if (lowest < 0) {
      return;
    }
    for (int i = lowest; i < diffIds.size(); i++) {
      if (!sent.contains(diffIds.get(i))) {
        throw new IllegalStateException("layer " + (i + 1) + " of " + diffIds.size() + " (" + diffIds.get(i)
            + ") is above sent layer " + (lowest + 1) + " but was not sent: the engine looks layers up by chain"
            + " id, so every layer above a missing one must be sent too");
      }
    }
  }

  private static TarArchiveEntry entry(String name, long size) {
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setSize(size);
    e.setMode(0100644);
    e.setIds(0, 0);
    e.setUserName("");
    e.setGroupName("");
    e.setLastModifiedTime(FileTime.fromMillis(0));
    return e;
  }

  /**
   * Releases the writer; never closes the underlying stream. Without {@link #finish} the archive is left
   * unfinished (no manifest.json, no end blocks), so the engine refuses it rather than loading part of an image.
   */
  @Override
  public void close() {
    finished = true;
  }
}
