package io.jmigrate.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * Aliases for a registry, which cannot store small objects of its own. An alias maps
 * {@code <compression>-<hex of the uncompressed sha256>} to a stored blob; it is kept
 * <ol>
 *   <li>in memory, per store instance;
 *   <li>as an internal tag {@code _jmigrate-alias-<key>} on a tiny artifact manifest (see {@link #put});
 *   <li>and, for repositories written without alias tags (e.g. by an older copy), it is rebuilt from the
 *       snapshots that tags reach, once per store instance, on the first lookup that finds nothing else:
 * </ol>
 * <ul>
 *   <li>the snapshot document (the config of a snapshot manifest) lists every image layer and volume with its
 *       stored descriptor, diffID and uncompressed size: the best source, since the uncompressed size is needed
 *       to write load archives;
 *   <li>a layer annotated with {@code io.jmigrate.diffid} (volumes in snapshot manifests) says it itself;
 *   <li>an image manifest's layers pair by position with its config's {@code rootfs.diff_ids} (no size known).
 * </ul>
 * Aliases are hints: a reader checks that the blob exists before trusting one.
 */
final class RegistryAliases {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryAliases.class);
  static final String DIFFID = "io.jmigrate.diffid";
  static final String UNCOMPRESSED_SIZE = "io.jmigrate.uncompressed-size";
  static final String ARTIFACT_TYPE = "application/vnd.jmigrate.alias.v1";
  static final String KEY = "io.jmigrate.alias.key";
  static final String TARGET = "io.jmigrate.alias.target";
  private static final byte[] EMPTY = "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
  private static final int CONFIG_LIMIT = 16 << 20;
  private static final int MAX_DEPTH = 4;

  private final RegistryStore store;
  private final Map<String, Descriptor> cache = new ConcurrentHashMap<>();
  private final Set<Digest> visited = ConcurrentHashMap.newKeySet();
  private volatile boolean scanned;

  RegistryAliases(RegistryStore store) {
    this.store = store;
  }

  /**
   * The alias key of a blob: {@code zstd-<hex>}, {@code gzip-<hex>} or {@code tar-<hex>}, the keys the snapshot
   * code asks for (Contents.aliasKey).
   */
  static String key(Compression compression, Digest diffId) {
    String c = compression == Compression.NONE ? "tar" : compression.suffix();
    return c + "-" + diffId.hex();
  }

  /** The internal tag that stores an alias, or null when the key cannot be part of a tag name. */
  static String tagFor(String key) {
    String tag = RegistryStore.ALIAS_TAG_PREFIX + key;
    try {
      return Tag.checkName(tag);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** The memory cache, then the alias tag, then (once per store instance) the snapshots that tags reach. */
  Optional<Descriptor> get(String key) throws StoreException {
    Descriptor d = cache.get(key);
    if (d != null) {
      return Optional.of(d);
    }
    d = stored(key);
    if (d != null) {
      cache.put(key, d);
      return Optional.of(d);
    }
    if (!scanned) {
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

  private Descriptor stored(String key) throws StoreException {
    String tag = tagFor(key);
    if (tag == null) {
      return null;
    }
    Optional<RegistryStore.Manifest> m;
    try {
      m = store.manifestByReference(tag);
    } catch (StoreException e) {
      if (e.kind() == StoreException.Kind.CORRUPT) {
        LOG.warn("ignoring alias {} in {}: {}", key, store.location(), e.getMessage());
        return null;
      }
      throw e;
    }
    if (m.isEmpty()) {
      return null;
    }
    try {
      String target = m.get().json().path("annotations").path(TARGET).asText(null);
      return target == null ? null : RegistryStore.JSON.readValue(target, Descriptor.class);
    } catch (IOException | IllegalArgumentException e) {
      LOG.warn("ignoring alias {} in {}: its manifest holds no readable target", key, store.location());
      return null;
    }
  }

  /**
   * Records an alias in memory and as the internal tag {@code _jmigrate-alias-<key>} on a tiny artifact manifest
   * whose annotation holds the target descriptor. The manifest references only the empty blob, so an alias never
   * keeps its target alive through the registry's garbage collection.
   */
  void put(String key, Descriptor target) throws StoreException {
    cache.put(key, target);
    String tag = tagFor(key);
    if (tag == null) {
      LOG.debug("alias key {} cannot be a tag name; kept in memory only", key);
      return;
    }
    Descriptor empty = store.putBlob(MediaTypes.OCI_EMPTY, EMPTY);
    ObjectNode manifest = RegistryStore.JSON.createObjectNode();
    manifest.put("schemaVersion", 2);
    manifest.put("mediaType", MediaTypes.OCI_MANIFEST);
    manifest.put("artifactType", ARTIFACT_TYPE);
    manifest.set("config", RegistryStore.JSON.valueToTree(empty));
    manifest.putArray("layers").add(RegistryStore.JSON.valueToTree(empty));
    ObjectNode annotations = manifest.putObject("annotations");
    annotations.put(KEY, key);
    byte[] bytes;
    try {
      annotations.put(TARGET, RegistryStore.JSON.writeValueAsString(target));
      bytes = RegistryStore.JSON.writeValueAsBytes(manifest);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    store.putManifestAs(tag, MediaTypes.OCI_MANIFEST, bytes, Digest.of(bytes), "write alias " + key);
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
    if (configType.equals(MediaTypes.SNAPSHOT_DOCUMENT) && Digest.isValid(config.path("digest").asText())) {
      JsonNode doc = readJson(Digest.parse(config.path("digest").asText()), config.path("size").asLong(-1),
          "snapshot document");
      if (doc != null) {
        for (JsonNode layer : doc.path("image").path("layers")) {
          add(layer.path("blob"), layer.path("diffId").asText(""), layer.path("uncompressedSize").asLong(-1));
        }
        for (JsonNode volume : doc.path("volumes")) {
          add(volume.path("content"), volume.path("diffId").asText(""), volume.path("uncompressedSize").asLong(-1));
        }
      }
    }
    if ((configType.equals(MediaTypes.OCI_CONFIG) || configType.equals(MediaTypes.DOCKER_CONFIG))
        && Digest.isValid(config.path("digest").asText())) {
      JsonNode image = readJson(Digest.parse(config.path("digest").asText()), config.path("size").asLong(-1),
          "image config");
      JsonNode diffIds = image == null ? null : image.path("rootfs").path("diff_ids");
      if (diffIds != null) {
        for (int i = 0; i < layers.size() && i < diffIds.size(); i++) {
          add(layers.get(i), diffIds.get(i).asText(), -1);
        }
      }
    }
    for (JsonNode layer : layers) {
      JsonNode diff = layer.path("annotations").path(DIFFID);
      if (diff.isTextual()) {
        add(layer, diff.asText(), layer.path("annotations").path(UNCOMPRESSED_SIZE).asLong(-1));
      }
    }
  }

  /** A small JSON blob (a config or a snapshot document), or null when it is missing, too large or unreadable. */
  private JsonNode readJson(Digest config, long size, String what) throws StoreException {
    if (size > CONFIG_LIMIT) {
      return null;
    }
    try (InputStream in = store.openBlob(config, size, what + " " + config)) {
      byte[] bytes = in.readNBytes(CONFIG_LIMIT + 1);
      if (bytes.length > CONFIG_LIMIT) {
        return null;
      }
      return RegistryStore.JSON.readTree(bytes);
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

  /**
   * Records the stored blob {@code layer} (a descriptor) for its diffID. An entry that knows the uncompressed size
   * replaces one that does not.
   */
  private void add(JsonNode layer, String diffIdText, long uncompressedSize) {
    if (layer == null || !layer.isObject()) {
      return;
    }
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
    Descriptor alias = descriptor.withAnnotation(DIFFID, diffId.toString());
    if (uncompressedSize >= 0) {
      alias = alias.withAnnotation(UNCOMPRESSED_SIZE, Long.toString(uncompressedSize));
    }
    Descriptor fresh = alias;
    cache.merge(key(compression, diffId), fresh,
        (old, now) -> old.annotation(UNCOMPRESSED_SIZE) == null && now.annotation(UNCOMPRESSED_SIZE) != null
            ? now : old);
  }
}
