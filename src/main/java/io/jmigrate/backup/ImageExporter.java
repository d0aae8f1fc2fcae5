package io.jmigrate.backup;

import com.fasterxml.jackson.databind.JsonNode;
import io.jmigrate.archive.SaveArchive;
import io.jmigrate.blob.CountingInputStream;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestingInputStream;
import io.jmigrate.blob.TransferListener;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.snapshot.Contents;
import io.jmigrate.snapshot.SnapshotDocument;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams an image's layers from {@code GET /images/get} into a store, storing only layers the store lacks.
 *
 * <p>The engine saves every layer, and in the legacy layout a layer's entry name says nothing about its digest
 * (docs/engine-notes.md). Layers the store already has are recognised without compressing them: an entry whose
 * size matches a stored layer is only hashed; if its digest turns out to be new after all (same size, other
 * content), it is stored in a second save pass. Every other entry is compressed and uploaded as it streams.
 */
public final class ImageExporter {
  private static final Logger LOG = LoggerFactory.getLogger(ImageExporter.class);
  private static final Pattern OCI_BLOB = Pattern.compile("blobs/sha256/([0-9a-f]{64})");

  private final Engine engine;
  private final Store store;
  private final TransferListener progress;

  public ImageExporter(Engine engine, Store store) {
    this(engine, store, TransferListener.NONE);
  }

  /** As {@link #ImageExporter(Engine, Store)}, reporting each stored layer's transfer. */
  public ImageExporter(Engine engine, Store store, TransferListener progress) {
    this.engine = engine;
    this.store = store;
    this.progress = progress == null ? TransferListener.NONE : progress;
  }

  /** The exported image: config bytes and layers, bottom first. */
  /**
   * The exported image: its config (the one stored), layers and byte counts; {@code imageId} is the config's
   * digest, the committed image's id unless the config was rewritten (a Podman source, see {@link #export}).
   */
  public record Exported(byte[] config, List<SnapshotDocument.Layer> layers, long bytesWritten, long bytesReused,
      String imageId) {}

  /** Exports image {@code imageId} (as committed); {@code what} names it in logs and errors. */
  public Exported export(String imageId, String what)
      throws EngineException, StoreException, IOException, BackupException {
    List<Digest> diffIds = new ArrayList<>();
    for (JsonNode l : engine.inspectImage(imageId).path("RootFS").path("Layers")) {
      diffIds.add(Digest.parse(l.asText()));
    }
    Map<Digest, Contents.Stored> known = new HashMap<>();
    Map<Long, Set<Digest>> knownSizes = new HashMap<>();
    for (Digest d : new HashSet<>(diffIds)) {
      Contents.find(store, Store.ContentKind.LAYER, d).ifPresent(s -> {
        known.put(d, s);
        knownSizes.computeIfAbsent(s.uncompressedSize(), k -> new HashSet<>()).add(d);
      });
    }
    Map<String, Contents.Stored> byPath = new LinkedHashMap<>();
    Set<String> deferred = new HashSet<>();
    SaveArchive.Result result = save(imageId, (path, size, content) -> {
      if (byPath.containsKey(path)) {
        return;
      }
      Matcher m = OCI_BLOB.matcher(path);
      if (m.matches() && known.containsKey(Digest.ofHex(m.group(1)))) {
        byPath.put(path, known.get(Digest.ofHex(m.group(1))));
        return;
      }
      if (size >= 0 && knownSizes.containsKey(size)) {
        DigestingInputStream hashed = new DigestingInputStream(content);
        hashed.drain();
        Contents.Stored have = known.get(hashed.digest());
        if (have != null) {
          LOG.info("{}: layer {} already stored, skipped", what, hashed.digest());
          byPath.put(path, have);
        } else {
          deferred.add(path);
        }
        return;
      }
      byPath.put(path, storeLayer(what, path, size, content));
    });
    if (!deferred.isEmpty()) {
      LOG.info("{}: {} layer(s) need a second pass", what, deferred.size());
      save(imageId, (path, size, content) -> {
        if (deferred.remove(path)) {
          byPath.put(path, storeLayer(what, path, size, content));
        }
      });
    }
    List<SnapshotDocument.Layer> layers = new ArrayList<>();
    long written = 0;
    long reused = 0;
    Set<Digest> counted = new HashSet<>();
    List<String> paths = result.layerPaths();
    if (paths.size() != diffIds.size()) {
      throw new BackupException(what + ": the engine saved " + paths.size() + " layers but the image has "
          + diffIds.size() + "; try again");
    }
    for (int i = 0; i < paths.size(); i++) {
      Contents.Stored s = byPath.get(paths.get(i));
      if (s == null || !s.diffId().equals(diffIds.get(i))) {
        throw new BackupException(what + ": layer " + i + " (" + paths.get(i) + ") has digest "
            + (s == null ? "none" : s.diffId()) + " but the image config says " + diffIds.get(i) + "; try again");
      }
      layers.add(new SnapshotDocument.Layer(s.blob(), s.diffId(), s.uncompressedSize()));
      if (counted.add(s.blob().digest())) {
        if (s.reused()) {
          reused += s.blob().size();
        } else {
          written += s.blob().size();
        }
      }
    }
    byte[] config = result.config();
    if (!Digest.of(config).toString().equals(imageId)) {
      throw new BackupException(what + ": the saved image config has digest " + Digest.of(config)
          + ", not the committed image id " + imageId + "; try again");
    }
    if (engine.isPodman()) {
      // Podman writes the environment it added on create (container=podman, TERM, PATH) into the committed
      // image's config, where a clone on Docker would inherit it: the stored config holds what the image and
      // the user set. The image id is then the rewritten config's digest.
      config = Engine.withoutPodmanImageDefaults(config);
    }
    return new Exported(config, layers, written, reused, Digest.of(config).toString());
  }

  private Contents.Stored storeLayer(String what, String path, long size, InputStream content) throws IOException {
    try (TransferListener.Transfer t = progress.start(what + " layer " + path, size)) {
      InputStream counted = new CountingInputStream(content, t);
      return Contents.put(store, Store.ContentKind.LAYER, what + " layer " + path, null, counted::transferTo);
    } catch (StoreException e) {
      throw new UncheckedStoreException(e);
    }
  }

  private SaveArchive.Result save(String imageId, SaveArchive.LayerHandler handler)
      throws EngineException, StoreException, IOException {
    try (InputStream tar = engine.saveImage(imageId)) {
      return SaveArchive.read(tar, handler);
    } catch (UncheckedStoreException e) {
      throw e.getCause();
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  /** Carries a StoreException through the IOException-only layer handler. */
  private static final class UncheckedStoreException extends IOException {
    private static final long serialVersionUID = 1L;

    UncheckedStoreException(StoreException e) {
      super(e);
    }

    @Override
    public synchronized StoreException getCause() {
      return (StoreException) super.getCause();
    }
  }
}
