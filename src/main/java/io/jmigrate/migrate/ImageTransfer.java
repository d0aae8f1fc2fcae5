package io.jmigrate.migrate;

import com.fasterxml.jackson.databind.JsonNode;
import io.jmigrate.archive.LoadArchiveWriter;
import io.jmigrate.archive.SaveArchive;
import io.jmigrate.blob.CountingInputStream;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestingInputStream;
import io.jmigrate.blob.DigestingOutputStream;
import io.jmigrate.blob.TransferListener;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.restore.RestoreRunner;
import io.jmigrate.restore.TargetJournal;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Moves an image from a source engine to a target engine by streaming {@code GET /images/get} on the source
 * into a thin {@code POST /images/load} on the target, sending only the layers the target lacks (a load may omit
 * a bottom prefix of layers whose chain ids the target has: docs/engine-notes.md, "Save and load").
 *
 * <p><b>Which save entry is which layer.</b> A legacy save names layers by v1 id, not by digest, and writes the
 * manifest last, so an entry is known only once it has been hashed. Each layer entry is therefore:
 * <ul>
 *   <li>streamed straight into the load, hashed on the way, when it cannot be a layer the target has: no such
 *       layer is left unaccounted for, or none of them has its size (sizes are learnt from earlier transfers
 *       of this run, so the final pass of a migration knows the size of every lower layer);
 *   <li>only hashed when its size is that of a layer the target has, which it then almost surely is; if the hash
 *       says otherwise, the entry is sent in a second save pass;
 *   <li>otherwise hashed while it is spooled to a temporary file (one layer at most, always deleted), then sent
 *       from there when needed.
 * </ul>
 * OCI layouts (Docker 25+) name uncompressed layers by digest, which identifies them at once.
 */
final class ImageTransfer {
  private static final Pattern OCI_BLOB = Pattern.compile("blobs/sha256/([0-9a-f]{64})");

  private final Engine source;
  private final Engine target;
  private final Consumer<String> report;
  private final TransferListener progress;
  /** Uncompressed tar size of every layer seen in this run, by diffID. */
  private final Map<Digest, Long> sizes = new ConcurrentHashMap<>();

  /** What one transfer sent: layers sent of all, and their bytes (uncompressed tar). */
  record Sent(int layersSent, int layersTotal, long bytes) {}

  ImageTransfer(Engine source, Engine target, Consumer<String> report, TransferListener progress) {
    this.source = source;
    this.target = target;
    this.report = report;
    this.progress = progress;
  }

  /** The diffIDs of an image on an engine, bottom first. */
  static List<Digest> diffIds(Engine engine, String image) throws EngineException {
    List<Digest> out = new ArrayList<>();
    for (JsonNode l : engine.inspectImage(image).path("RootFS").path("Layers")) {
      out.add(Digest.parse(l.asText()));
    }
    return out;
  }

  /**
   * Sends image {@code imageId} (an id on the source) to the target and tags it {@code repo:tag} there. The image
   * id and tag are recorded in {@code journal} before the load starts, so that an interrupted load leaves
   * nothing behind. {@code what} names the container in messages.
   */
  Sent send(String imageId, String repo, String tag, TargetJournal journal, String what)
      throws EngineException, IOException {
    List<Digest> diffIds = diffIds(source, imageId);
    if (target.findImage(imageId).isPresent()) {
      target.tagImage(imageId, repo, tag);
      report.accept(what + ": image " + Digest.parse(imageId).shortHex(12) + " is already on " + target.display()
          + ", nothing sent");
      return new Sent(0, diffIds.size(), 0);
    }
    int skip = RestoreRunner.presentPrefix(target, diffIds);
    report.accept(what + ": image " + Digest.parse(imageId).shortHex(12) + ": " + (diffIds.size() - skip) + " of "
        + diffIds.size() + " layers to send" + (skip > 0 ? ", " + skip + " already on " + target.display() : ""));
    journal.image(imageId);
    journal.image(repo + ":" + tag);
    Plan plan = new Plan(diffIds, skip, what);
    try {
      target.loadImage("migrate-load-" + what, out -> produce(imageId, repo + ":" + tag, plan, out));
    } catch (IOException p) {
      // The source's own failure (a broken save), which Engine.loadImage reports rather than the load it broke.
      throw new IOException(what + ": cannot send image " + Digest.parse(imageId).shortHex(12) + " from "
          + source.display() + " to " + target.display() + ": " + p.getMessage(), p);
    }
    String loaded = plan.loadedId != null ? plan.loadedId : imageId;
    if (target.findImage(loaded).isEmpty()) {
      throw new IOException(what + ": the load on " + target.display() + " ended without image " + loaded
          + "; try again");
    }
    return new Sent(plan.sent.size(), diffIds.size(), plan.bytes);
  }

  /** Which layers to send, and what has been seen and sent so far. */
  private final class Plan {
    final List<Digest> diffIds;
    final Set<Digest> needed = new HashSet<>();
    final Set<Digest> present = new HashSet<>();
    final Set<Digest> seenPresent = new HashSet<>();
    final Set<Digest> sent = new HashSet<>();
    /** The id the target gets: the source's, unless its config was rewritten (a Podman source). */
    volatile String loadedId;
    final Map<String, Digest> deferred = new LinkedHashMap<>();
    final String what;
    long bytes;

    Plan(List<Digest> diffIds, int skip, String what) {
      this.diffIds = diffIds;
      this.what = what;
      needed.addAll(diffIds.subList(skip, diffIds.size()));
      present.addAll(diffIds.subList(0, skip));
      present.removeAll(needed);
    }

    /** Layers the target has that have not been seen in this save yet. */
    private List<Digest> unseenPresent() {
      List<Digest> out = new ArrayList<>(present);
      out.removeAll(seenPresent);
      return out;
    }

    /** True when an entry of this size cannot be a layer the target has. */
    boolean certainlyNeeded(long size) {
      for (Digest p : unseenPresent()) {
        Long s = sizes.get(p);
        if (s == null || s == size) {
          return false;
        }
      }
      return true;
    }

    /** True when an unseen layer the target has is known to have this size. */
    boolean sizeOfPresent(long size) {
      for (Digest p : unseenPresent()) {
        Long s = sizes.get(p);
        if (s != null && s == size) {
          return true;
        }
      }
      return false;
    }

    void written(Digest d, long size) throws IOException {
      if (!needed.contains(d)) {
        throw new IOException(what + ": the saved image has a layer " + d + " that its config does not list"
            + "; try again");
      }
      sent.add(d);
      sizes.put(d, size);
      bytes += size;
      report.accept(what + ": layer " + (diffIds.indexOf(d) + 1) + "/" + diffIds.size() + " " + d.shortHex(12)
          + " sent: " + bytesText(size));
    }

    void seen(Digest d, long size) throws IOException {
      if (!diffIds.contains(d)) {
        throw new IOException(what + ": the saved image has a layer " + d + " that its config does not list"
            + "; try again");
      }
      sizes.put(d, size);
      if (present.contains(d)) {
        seenPresent.add(d);
      }
    }
  }

  private void produce(String imageId, String ref, Plan plan, OutputStream out) throws IOException {
    LoadArchiveWriter w = new LoadArchiveWriter(out);
    SaveArchive.Result result = save(imageId, (path, size, content) -> handle(w, plan, path, size, content));
    if (!plan.deferred.isEmpty()) {
      report.accept(plan.what + ": " + plan.deferred.size() + " layer(s) need a second save pass");
      save(imageId, (path, size, content) -> {
        Digest d = plan.deferred.remove(path);
        if (d != null && !plan.sent.contains(d)) {
          try (TransferListener.Transfer t = progress.start(plan.what + ": layer " + d.shortHex(12), size)) {
            w.writeLayer(d, size, new CountingInputStream(content, t));
          }
          plan.written(d, size);
        }
      });
    }
    List<Digest> missing = new ArrayList<>(plan.needed);
    missing.removeAll(plan.sent);
    if (!missing.isEmpty()) {
      throw new IOException(plan.what + ": the save of image " + imageId + " on " + source.display() + " lacked "
          + "layers " + missing + "; try again");
    }
    byte[] config = result.config();
    if (!Digest.of(config).toString().equals(imageId)) {
      throw new IOException(plan.what + ": the saved image config has digest " + Digest.of(config) + ", not "
          + imageId + "; try again");
    }
    if (source.isPodman()) {
      // As a backup does (ImageExporter): the environment Podman added on create, which its commit wrote into
      // the image config, does not go to the target, where the clone would inherit it.
      config = Engine.withoutPodmanImageDefaults(config);
    }
    plan.loadedId = Digest.of(config).toString();
    w.writeConfig(config);
    w.finish(plan.diffIds, List.of(ref));
    w.close();
  }

  private SaveArchive.Result save(String imageId, SaveArchive.LayerHandler handler) throws IOException {
    try (InputStream in = source.saveImage(imageId)) {
      return SaveArchive.read(in, handler);
    } catch (EngineException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  private void handle(LoadArchiveWriter w, Plan plan, String path, long size, InputStream content)
      throws IOException {
    Matcher m = OCI_BLOB.matcher(path);
    Digest named = m.matches() ? Digest.ofHex(m.group(1)) : null;
    if (named != null && plan.diffIds.contains(named) && size >= 0) {
      plan.seen(named, size);
      if (plan.needed.contains(named) && !plan.sent.contains(named)) {
        try (TransferListener.Transfer t = progress.start(plan.what + ": layer " + named.shortHex(12), size)) {
          w.writeLayer(named, size, new CountingInputStream(content, t));
        }
        plan.written(named, size);
      }
      return;
    }
    if (size >= 0 && plan.certainlyNeeded(size)) {
      Digest d;
      try (TransferListener.Transfer t = progress.start(plan.what + ": layer", size)) {
        d = w.writeLayer(size, new CountingInputStream(content, t));
      }
      plan.seen(d, size);
      plan.written(d, size);
      return;
    }
    if (size >= 0 && plan.sizeOfPresent(size)) {
      DigestingInputStream hashed = new DigestingInputStream(content);
      hashed.drain();
      Digest d = hashed.digest();
      plan.seen(d, size);
      if (plan.needed.contains(d) && !plan.sent.contains(d)) {
        plan.deferred.put(path, d);
      }
      return;
    }
    spool(w, plan, content);
  }

  /** Hashes the entry into a temporary file, then sends it from there when the target lacks it. */
  private void spool(LoadArchiveWriter w, Plan plan, InputStream content) throws IOException {
    Path tmp = Files.createTempFile("jmigrate-layer-", ".tar");
    tmp.toFile().deleteOnExit();
    try {
      Digest d;
      long size;
      try (OutputStream file = Files.newOutputStream(tmp)) {
        DigestingOutputStream hashed = new DigestingOutputStream(file);
        content.transferTo(hashed);
        hashed.close();
        d = hashed.digest();
        size = hashed.count();
      }
      plan.seen(d, size);
      if (plan.needed.contains(d) && !plan.sent.contains(d)) {
        try (TransferListener.Transfer t = progress.start(plan.what + ": layer " + d.shortHex(12), size);
            InputStream in = new CountingInputStream(Files.newInputStream(tmp), t)) {
          w.writeLayer(d, size, in);
        }
        plan.written(d, size);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** "1.0 MiB (1048576 bytes)": readable, and exact for scripts and tests. */
  static String bytesText(long n) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = n;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    String human = u == 0 ? n + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    return human + " (" + n + " bytes)";
  }

  /** Unused sizes are kept for the next transfer of this run; exposed for tests. */
  Map<Digest, Long> knownSizes() {
    return new HashMap<>(sizes);
  }
}
