package io.jmigrate.store;

import com.fasterxml.jackson.databind.JsonNode;
import io.jmigrate.archive.Compression;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.MediaTypes;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Aliases for a registry, which cannot store small objects of its own: the map from
 * {@code <compression>-<hex of the uncompressed sha256>} to a stored blob is rebuilt from the snapshots that
 * tags reach, once per store instance, on the first lookup:
 * <ul>
 *   <li>an image manifest's layers pair by position with its config's {@code rootfs.diff_ids};
 *   <li>a layer annotated with {@code io.jmigrate.diffid} (volumes in snapshot manifests) says it itself.
 * </ul>
 * {@link #put} only adds to this in-memory map, so that a backup finds what it stored itself earlier in the
 * same run. Aliases are hints: a reader checks that the blob exists before trusting one.
 */
final class RegistryAliases {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryAliases.class);
  static final String DIFFID = "io.jmigrate.diffid";
  private static final int CONFIG_LIMIT = 16 << 20;
  private static final int MAX_DEPTH = 4;

  private final RegistryStore store;
  private final Map<String, Descriptor> cache = new ConcurrentHashMap<>();
  private final Set<Digest> visited = ConcurrentHashMap.newKeySet();
  private volatile boolean scanned;

  RegistryAliases(RegistryStore store) {
    this.store = store;
  }

  /** The alias key of a blob: {@code zstd-<hex>}, {@code gzip-<hex>} or {@code none-<hex>}. */
  static String key(Compression compression, Digest diffId) {
    String c = compression.suffix().isEmpty() ? "none" : compression.suffix();
    return c + "-" + diffId.hex();
  }

  Optional<Descriptor> get(String key) throws StoreException {
    Descriptor d = cache.get(key);
    if (d == null && !scanned) {
      synchronized (this) {
        if (!scanned) {
          scan();
          scanned = true;
        }
      }
      d = cache.get(key);
    }
    return Optional.ofNullable(d);
  }

  void put(String key, Descriptor target) {
    cache.put(key, target);
  }

  private void scan() throws StoreException {
    int before = cache.size();
    for (String name : store.listTagNames()) {
      if (RegistryStore.internalTag(name)) {
        continue;
      }
      Optional<Tag> tag = store.describeTag(name);
      if (tag.isPresent()) {
        visit(tag.get().target().digest(), 0);
      }
    }
    LOG.debug("found {} aliases in the snapshots of {}", cache.size() - before, store.location());
  }

  private void visit(Digest digest, int depth) throws StoreException {
    if (depth > MAX_DEPTH || !visited.add(digest)) {
      return;
    }
    RegistryStore.Manifest m;
    JsonNode n;
    try {
      m = store.fetchManifest(digest);
      n = m.json();
    } catch (StoreException e) {
      if (e.kind() == StoreException.Kind.NOT_FOUND || e.kind() == StoreException.Kind.CORRUPT) {
        LOG.debug("skipping manifest {} while looking for aliases: {}", digest, e.getMessage());
        return;
      }
      throw e;
    } catch (IOException e) {
      LOG.debug("skipping manifest {} (not JSON) while looking for aliases", digest);
      return;
    }
    if (n.has("manifests")) {
      for (JsonNode child : n.path("manifests")) {
        String d = child.path("digest").asText();
        if (Digest.isValid(d)) {
          visit(Digest.parse(d), depth + 1);
        }
      }
      return;
    }
    JsonNode layers = n.path("layers");
    JsonNode config = n.path("config");
    String configType = config.path("mediaType").asText("");
    if ((configType.equals(MediaTypes.OCI_CONFIG) || configType.equals(MediaTypes.DOCKER_CONFIG))
        && Digest.isValid(config.path("digest").asText())) {
      JsonNode diffIds = readDiffIds(Digest.parse(config.path("digest").asText()), config.path("size").asLong(-1));
      if (diffIds != null) {
        for (int i = 0; i < layers.size() && i < diffIds.size(); i++) {
          add(layers.get(i), diffIds.get(i).asText());
        }
      }
    }
    for (JsonNode layer : layers) {
      JsonNode diff = layer.path("annotations").path(DIFFID);
      if (diff.isTextual()) {
        add(layer, diff.asText());
      }
    }
  }

  private JsonNode readDiffIds(Digest config, long size) throws StoreException {
    if (size > CONFIG_LIMIT) {
      return null;
    }
    try (InputStream in = store.openBlob(config, size, "image config " + config)) {
      byte[] bytes = in.readNBytes(CONFIG_LIMIT + 1);
      if (bytes.length > CONFIG_LIMIT) {
        return null;
      }
      return RegistryStore.JSON.readTree(bytes).path("rootfs").path("diff_ids");
    } catch (StoreException e) {
      if (e.kind() == StoreException.Kind.NOT_FOUND) {
        return null;
      }
      throw e;
    } catch (IOException e) {
      // A corrupt or unreadable config only costs a missed alias.
      LOG.debug("cannot read image config {} while looking for aliases: {}", config, e.getMessage());
      return null;
    }
  }

  private void add(JsonNode layer, String diffIdText) {
    String d = diffIdText.startsWith("sha256:") ? diffIdText : "sha256:" + diffIdText;
    if (!Digest.isValid(d)) {
      return;
    }
    Digest diffId = Digest.parse(d);
    Descriptor descriptor;
    Compression compression;
    try {
      descriptor = RegistryStore.JSON.treeToValue(layer, Descriptor.class);
      compression = Compression.ofMediaType(descriptor.mediaType());
    } catch (IOException | IllegalArgumentException e) {
      return;
    }
    cache.putIfAbsent(key(compression, diffId), descriptor.withAnnotation(DIFFID, diffId.toString()));
  }
}
