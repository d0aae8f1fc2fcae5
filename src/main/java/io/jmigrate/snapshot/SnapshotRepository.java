package io.jmigrate.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.Json;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import io.jmigrate.store.Tag;
import io.jmigrate.store.TagListing;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots in a {@link Store}: how they are written as OCI objects and published by a tag, listed, found by id
 * prefix, tag or container name, and read back. The layout is described in docs/repository-format.md.
 */
public final class SnapshotRepository {
  private static final Logger LOG = LoggerFactory.getLogger(SnapshotRepository.class);
  /** Annotation on index entries: which manifest is which. */
  public static final String ROLE = "io.jmigrate.role";
  public static final String VOLUME_NAME = "io.jmigrate.volume.name";
  public static final String VOLUME_DESTINATION = "io.jmigrate.volume.destination";
  private static final String REF_NAME = "org.opencontainers.image.ref.name";
  /** Same-named snapshots frozen in the same second get -2, -3, …: far more than any fleet makes. */
  private static final int MAX_TAG_SUFFIX = 1000;
  /** The image-spec empty descriptor's content: "{}". */
  private static final byte[] EMPTY_JSON = "{}".getBytes(StandardCharsets.UTF_8);
  private static final DateTimeFormatter TAG_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final Pattern HEX_PREFIX = Pattern.compile("(sha256:)?[0-9a-f]{4,64}");

  private final Store store;

  public SnapshotRepository(Store store) {
    this.store = store;
  }

  public Store store() {
    return store;
  }

  /**
   * Every snapshot in the repository, oldest first; a tag that cannot be read is skipped with a warning.
   * {@link #listing()} reports those to callers that must fail on them.
   */
  public List<SnapshotSummary> list() throws StoreException {
    Listing l = listing();
    for (TagListing.Unreadable u : l.unreadable()) {
      LOG.warn("ignoring tag {} in {}: {}; run jmigrate verify", u.name(), store.location(), u.problem());
    }
    return l.snapshots();
  }

  /** The snapshots, oldest first, and the tags that exist but could not be read as snapshots. */
  public record Listing(List<SnapshotSummary> snapshots, List<TagListing.Unreadable> unreadable) {
    /** Only {@code container}'s snapshots (a leading "/" ignored); the unreadable tags stay, whoever's they were. */
    public Listing of(String container) {
      String name = stripSlash(container);
      return new Listing(snapshots.stream().filter(s -> s.container().equals(name)).collect(Collectors.toList()),
          unreadable);
    }
  }

  /**
   * Every snapshot, and every tag that could not be read as one: its content is not a descriptor, or it carries
   * jmigrate's container annotation but not a readable creation time or size. (A tag without jmigrate's
   * annotations is some other image a registry repository may hold, not a damaged snapshot.)
   */
  public Listing listing() throws StoreException {
    return listing(store.tagListing());
  }

  private static Listing listing(TagListing tags) {
    List<SnapshotSummary> out = new ArrayList<>();
    List<TagListing.Unreadable> bad = new ArrayList<>(tags.unreadable());
    for (Tag t : tags.tags()) {
      Optional<SnapshotSummary> s = SnapshotSummary.fromTag(t);
      if (s.isPresent()) {
        out.add(s.get());
      } else if (t.target().annotation(SnapshotSummary.CONTAINER) != null) {
        bad.add(new TagListing.Unreadable(t.name(), "its index annotations lack a readable "
            + SnapshotSummary.CREATED + " or " + SnapshotSummary.SIZE));
      }
    }
    out.sort(Comparator.comparing(SnapshotSummary::created).thenComparing(SnapshotSummary::tag));
    bad.sort(Comparator.comparing(TagListing.Unreadable::name));
    return new Listing(out, bad);
  }

  /**
   * The snapshots of one container, oldest first. Only the tags named after it are read ({@link #tagBase}): in a
   * repository a fleet shares, a backup's look at its container's last snapshot must not read every other
   * container's tags.
   */
  public List<SnapshotSummary> list(String container) throws StoreException {
    String name = stripSlash(container);
    Listing l = listing(store.tagListing(tagBase(name) + "-"));
    for (TagListing.Unreadable u : l.unreadable()) {
      LOG.warn("ignoring tag {} in {}: {}; run jmigrate verify", u.name(), store.location(), u.problem());
    }
    return l.snapshots().stream().filter(s -> s.container().equals(name)).collect(Collectors.toList());
  }

  /**
   * Finds one snapshot by a unique id prefix (at least 4 hex characters, with or without "sha256:"), by tag, or by
   * container name (its latest snapshot). Ambiguous prefixes and unknown names fail with messages that say what
   * exists.
   */
  public SnapshotSummary resolve(String query) throws StoreException, SnapshotException {
    return resolve(list(), query, store.location());
  }

  /**
   * Resolution over a listing, in docker's order: an exact tag or full id, then a container name (its latest
   * snapshot), then a unique id prefix of at least 4 hex characters. Names come before prefixes so that a
   * container called "cafe" is never mistaken for an id.
   */
  static SnapshotSummary resolve(List<SnapshotSummary> all, String query, String location) throws SnapshotException {
    if (query == null || query.isBlank()) {
      throw new SnapshotException(SnapshotException.Kind.INVALID, "no snapshot given");
    }
    String hex = query.startsWith("sha256:") ? query.substring(7) : query;
    for (SnapshotSummary s : all) {
      if (s.tag().equals(query) || s.id().hex().equals(hex)) {
        return s;
      }
    }
    String name = stripSlash(query);
    List<SnapshotSummary> ofContainer = all.stream().filter(s -> s.container().equals(name))
        .collect(Collectors.toList());
    if (!ofContainer.isEmpty()) {
      return ofContainer.get(ofContainer.size() - 1);
    }
    if (HEX_PREFIX.matcher(query).matches()) {
      List<SnapshotSummary> hits = all.stream().filter(s -> s.id().hex().startsWith(hex))
          .collect(Collectors.toList());
      if (hits.size() == 1) {
        return hits.get(0);
      }
      if (hits.size() > 1) {
        throw new SnapshotException(SnapshotException.Kind.AMBIGUOUS, "snapshot id '" + query + "' is ambiguous in "
            + location + ": it matches " + hits.stream().map(s -> s.shortId() + " (" + s.container() + ")")
                .collect(Collectors.joining(", ")) + "; give more characters");
      }
    }
    throw new SnapshotException(SnapshotException.Kind.NOT_FOUND, "no snapshot '" + query + "' in "
        + location + (all.isEmpty() ? " (the repository has no snapshots)"
            : "; run `jmigrate snapshots` to list the " + all.size() + " there"));
  }

  /** Reads a snapshot's index, manifests and document, each digest-checked. */
  public Snapshot load(SnapshotSummary summary) throws StoreException, SnapshotException {
    String what = "snapshot " + summary.shortId();
    try {
      ObjectNode index = Json.object(store.getManifest(summary.id()), what + " index");
      Descriptor imageManifest = null;
      Descriptor snapshotManifest = null;
      for (JsonNode m : index.path("manifests")) {
        Descriptor d = Json.MAPPER.treeToValue(m, Descriptor.class);
        if ("image".equals(d.annotation(ROLE))) {
          imageManifest = d;
        } else if ("snapshot".equals(d.annotation(ROLE))) {
          snapshotManifest = d;
        }
      }
      if (imageManifest == null || snapshotManifest == null) {
        throw new SnapshotException(SnapshotException.Kind.CORRUPT,
            what + " index lacks its image or snapshot manifest: the repository is damaged");
      }
      ObjectNode sm = Json.object(store.getManifest(snapshotManifest.digest()), what + " manifest");
      Descriptor docBlob = Json.MAPPER.treeToValue(sm.path("config"), Descriptor.class);
      byte[] docBytes;
      try (InputStream in = store.openBlob(docBlob.digest(), docBlob.size(), what + " document")) {
        docBytes = in.readAllBytes();
      }
      SnapshotDocument doc;
      try {
        doc = SnapshotDocument.parse(docBytes,
            what + " document " + docBlob.digest().shortHex(SnapshotSummary.SHORT_ID));
      } catch (SnapshotException e) {
        throw new SnapshotException(e.kind(), e.getMessage() + " in " + store.location() + "; run `jmigrate verify "
            + summary.shortId() + "` and restore from another snapshot or copy", e);
      }
      List<Snapshot.Part> parts = new ArrayList<>();
      parts.add(Snapshot.Part.of(summary.index(), true, "index"));
      parts.add(Snapshot.Part.of(imageManifest, true, "image manifest"));
      parts.add(Snapshot.Part.of(snapshotManifest, true, "snapshot manifest"));
      parts.add(Snapshot.Part.of(docBlob, false, "snapshot document"));
      parts.add(Snapshot.Part.of(doc.image().config(), false, "image config"));
      int i = 0;
      for (SnapshotDocument.Layer l : doc.image().layers()) {
        parts.add(new Snapshot.Part(l.blob(), false, "image layer " + (i++), l.diffId(), l.uncompressedSize()));
      }
      for (JsonNode l : sm.path("layers")) {
        Descriptor d = Json.MAPPER.treeToValue(l, Descriptor.class);
        if (d.annotation(VOLUME_NAME) == null) {
          parts.add(Snapshot.Part.of(d, false, "empty"));
        } else {
          parts.add(new Snapshot.Part(d, false, "volume " + d.annotation(VOLUME_NAME),
              Digest.parse(d.annotation(Contents.DIFFID)), Long.parseLong(d.annotation(Contents.UNCOMPRESSED_SIZE))));
        }
      }
      return new Snapshot(summary, doc, imageManifest, snapshotManifest, docBlob, parts);
    } catch (IOException e) {
      if (e instanceof io.jmigrate.blob.DigestMismatchException) {
        throw new SnapshotException(SnapshotException.Kind.CORRUPT, e.getMessage()
            + "; run `jmigrate verify " + summary.shortId() + "` and restore from another copy", e);
      }
      throw new SnapshotException(SnapshotException.Kind.CORRUPT, "cannot read " + what + " from "
          + store.location() + ": " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new SnapshotException(SnapshotException.Kind.CORRUPT, what + " has a malformed descriptor: "
          + e.getMessage(), e);
    }
  }

  /**
   * The descriptor of a snapshot's image manifest, read from its index alone (one digest-checked read): the
   * standard image that {@code docker pull REGISTRY/REPO@DIGEST} or an OCI tool takes.
   */
  public Descriptor imageManifestOf(SnapshotSummary summary) throws StoreException, SnapshotException {
    String what = "snapshot " + summary.shortId();
    try {
      ObjectNode index = Json.object(store.getManifest(summary.id()), what + " index");
      for (JsonNode m : index.path("manifests")) {
        Descriptor d = Json.MAPPER.treeToValue(m, Descriptor.class);
        if ("image".equals(d.annotation(ROLE))) {
          return d;
        }
      }
      throw new SnapshotException(SnapshotException.Kind.CORRUPT,
          what + " index lacks its image manifest: the repository is damaged");
    } catch (IOException | IllegalArgumentException e) {
      throw new SnapshotException(SnapshotException.Kind.CORRUPT, "cannot read " + what + " index from "
          + store.location() + ": " + e.getMessage() + "; run `jmigrate verify " + summary.shortId() + "`", e);
    }
  }

  /** A snapshot whose objects are all stored but whose tag is not written yet: {@link #publish} makes it visible. */
  public record Pending(String tag, Descriptor index) {}

  /**
   * Writes everything of a snapshot except its tag: the image config, the image manifest, the document, the
   * snapshot manifest and the index. The layers and volumes must be stored already (their descriptors are in
   * {@code doc}). Returns what {@link #publish} needs.
   */
  public Pending prepare(SnapshotDocument doc, byte[] imageConfig) throws StoreException {
    SnapshotDocument.Image image = doc.image();
    // 1. The image as a standard OCI image manifest, so registries serve it to `docker pull`.
    store.putBlob(MediaTypes.OCI_CONFIG, imageConfig);
    byte[] imBytes = imageManifestBytes(image.config(), image.layers());
    Descriptor imageManifest = Descriptor.of(MediaTypes.OCI_MANIFEST, Digest.of(imBytes), imBytes.length);
    if (!imageManifest.equals(image.manifest())) {
      throw new IllegalArgumentException("document's image manifest " + image.manifest()
          + " does not match the built one " + imageManifest + "; build it with imageManifest()");
    }
    store.putManifest(imageManifest, imBytes);

    // 2. The snapshot document, as config of an artifact manifest whose layers are the volumes.
    byte[] docBytes = doc.toJson();
    Descriptor docBlob = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, docBytes);
    docBlob = Descriptor.of(MediaTypes.SNAPSHOT_DOCUMENT, docBlob.digest(), docBlob.size());
    ObjectNode sm = Json.newObject();
    sm.put("schemaVersion", 2);
    sm.put("mediaType", MediaTypes.OCI_MANIFEST);
    sm.put("artifactType", MediaTypes.SNAPSHOT_ARTIFACT);
    sm.set("config", Json.MAPPER.valueToTree(docBlob));
    ArrayNode vols = sm.putArray("layers");
    for (SnapshotDocument.Volume v : doc.volumes()) {
      if (v.content() == null) {
        continue;
      }
      Map<String, String> ann = new LinkedHashMap<>();
      // Bind mounts have no volume name; their host path stands in for it.
      ann.put(VOLUME_NAME, v.name() != null ? v.name() : v.source());
      ann.put(VOLUME_DESTINATION, v.destination());
      ann.put(Contents.DIFFID, v.diffId().toString());
      ann.put(Contents.UNCOMPRESSED_SIZE, Long.toString(v.uncompressedSize()));
      vols.add(Json.MAPPER.valueToTree(
          Descriptor.of(v.content().mediaType(), null, v.content().digest(), v.content().size(), ann)));
    }
    if (vols.isEmpty()) {
      // image-spec v1.1 manifest.md: layers SHOULD have at least one entry; use the empty descriptor.
      Descriptor empty = store.putBlob(MediaTypes.OCI_EMPTY, EMPTY_JSON);
      vols.add(Json.MAPPER.valueToTree(Descriptor.of(MediaTypes.OCI_EMPTY, empty.digest(), empty.size())));
    }
    byte[] smBytes = Json.bytes(sm);
    Descriptor snapshotManifest = Descriptor.of(MediaTypes.OCI_MANIFEST, MediaTypes.SNAPSHOT_ARTIFACT,
        Digest.of(smBytes), smBytes.length, Map.of(ROLE, "snapshot"));
    store.putManifest(snapshotManifest, smBytes);

    // 3. The index that ties them together, annotated so that listing needs no further reads.
    Map<String, String> summary = summaryAnnotations(doc);
    ObjectNode index = Json.newObject();
    index.put("schemaVersion", 2);
    index.put("mediaType", MediaTypes.OCI_INDEX);
    index.put("artifactType", MediaTypes.SNAPSHOT_ARTIFACT);
    ArrayNode manifests = index.putArray("manifests");
    ObjectNode imEntry = Json.MAPPER.valueToTree(imageManifest.withAnnotation(ROLE, "image"));
    ObjectNode platform = imEntry.putObject("platform");
    platform.put("architecture", doc.source().architecture());
    platform.put("os", doc.source().os() == null ? "linux" : doc.source().os());
    manifests.add(imEntry);
    manifests.add(Json.MAPPER.valueToTree(snapshotManifest));
    ObjectNode annotations = index.putObject("annotations");
    summary.forEach(annotations::put);
    byte[] indexBytes = Json.bytes(index);
    String tag = freeTag(doc);
    Descriptor indexDesc = Descriptor.of(MediaTypes.OCI_INDEX, MediaTypes.SNAPSHOT_ARTIFACT, Digest.of(indexBytes),
        indexBytes.length, summary).withAnnotation(REF_NAME, tag);
    store.putManifest(indexDesc, indexBytes);
    return new Pending(tag, indexDesc);
  }

  /**
   * Writes the tag: the single step that makes a prepared snapshot visible. The tag is created only where no tag of
   * its name exists ({@link Store#putTagIfAbsent}): a host that froze a container of the same name in the same
   * second took the name first, and this snapshot takes the next free one ({@code -2}, {@code -3}, …).
   */
  public SnapshotSummary publish(Pending pending) throws StoreException {
    String base = pending.tag();
    Tag tag = Tag.of(base, pending.index().withAnnotation(REF_NAME, base));
    for (int n = 2; !store.putTagIfAbsent(tag); n++) {
      if (n > MAX_TAG_SUFFIX) {
        throw new StoreException(StoreException.Kind.INVALID, "cannot publish snapshot "
            + pending.index().digest().shortHex(SnapshotSummary.SHORT_ID) + " in " + store.location() + ": tags "
            + base + " to " + base + "-" + MAX_TAG_SUFFIX + " are all taken; run jmigrate snapshots to see why");
      }
      String name = base + "-" + n;
      tag = Tag.of(name, pending.index().withAnnotation(REF_NAME, name));
    }
    LOG.info("published snapshot {} as {}", pending.index().digest().shortHex(SnapshotSummary.SHORT_ID), tag.name());
    return SnapshotSummary.fromTag(tag).orElseThrow();
  }

  /** Removes a snapshot's tag. Its blobs stay until prune finds them unreferenced. */
  public void forget(SnapshotSummary s) throws StoreException {
    store.deleteTag(s.tag());
  }

  /** The descriptor of the image manifest that {@link #prepare} will write for these layers and config. */
  public static Descriptor imageManifest(Descriptor config, List<SnapshotDocument.Layer> layers) {
    byte[] b = imageManifestBytes(config, layers);
    return Descriptor.of(MediaTypes.OCI_MANIFEST, Digest.of(b), b.length);
  }

  /** Layer descriptors go in bare (no jmigrate annotations), so the same image always has the same manifest. */
  private static byte[] imageManifestBytes(Descriptor config, List<SnapshotDocument.Layer> layers) {
    ObjectNode im = Json.newObject();
    im.put("schemaVersion", 2);
    im.put("mediaType", MediaTypes.OCI_MANIFEST);
    im.set("config", Json.MAPPER.valueToTree(config));
    ArrayNode arr = im.putArray("layers");
    for (SnapshotDocument.Layer l : layers) {
      arr.add(Json.MAPPER.valueToTree(Descriptor.of(l.blob().mediaType(), l.blob().digest(), l.blob().size())));
    }
    return Json.bytes(im);
  }

  private static Map<String, String> summaryAnnotations(SnapshotDocument doc) {
    Map<String, String> a = new LinkedHashMap<>();
    a.put(SnapshotSummary.CONTAINER, doc.container().name());
    a.put(SnapshotSummary.CREATED, doc.times().frozen().toString());
    if (doc.source().host() != null) {
      a.put(SnapshotSummary.HOST, doc.source().host());
    }
    if (doc.source().hostname() != null) {
      a.put(SnapshotSummary.HOSTNAME, doc.source().hostname());
    }
    a.put(SnapshotSummary.CONSISTENCY, doc.consistency());
    a.put(SnapshotSummary.SIZE, Long.toString(doc.storedSize()));
    return a;
  }

  /** The start of every tag of a container's snapshots: its name made tag-safe, at most 100 characters. */
  static String tagBase(String container) {
    String name = container.replaceAll("[^a-zA-Z0-9_.-]", "_");
    return name.length() > 100 ? name.substring(0, 100) : name;
  }

  private String freeTag(SnapshotDocument doc) throws StoreException {
    String base = tagBase(doc.container().name()) + "-" + TAG_TIME.format(doc.times().frozen());
    String tag = base;
    for (int n = 2; store.getTag(tag).isPresent(); n++) {
      tag = base + "-" + n;
    }
    return tag;
  }

  private static String stripSlash(String name) {
    return name.startsWith("/") ? name.substring(1) : name;
  }

  /** The latest snapshot of {@code container}, if any. */
  public Optional<SnapshotSummary> latest(String container) throws StoreException {
    List<SnapshotSummary> l = list(container);
    return l.isEmpty() ? Optional.empty() : Optional.of(l.get(l.size() - 1));
  }
}
