package io.jmigrate.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jmigrate.archive.Compression;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestingInputStream;
import io.jmigrate.blob.MediaTypes;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A repository in an OCI registry ({@code oci://host[:port]/repository}), over the OCI distribution-spec v1.1
 * HTTP API with {@code java.net.http} (see {@link RegistryClient} for transport, retries and auth).
 *
 * <ul>
 *   <li>Blobs: HEAD before every write; streamed uploads go up in chunks (POST, PATCH…, PUT ?digest=), see
 *       {@link RegistryBlobUpload}; reads are digest-checked.
 *   <li>Manifests and indexes: PUT and GET under {@code /manifests/}, with the OCI media types in Accept (a
 *       Docker-v2-only Accept gets 404 on OCI manifests from distribution 2.8).
 *   <li>Tags are registry tags. A tag's descriptor is read back from the tagged manifest (one GET: digest,
 *       size, type, and the index's artifactType and annotations), since a registry keeps no descriptor of its
 *       own for a tag.
 *   <li>A registry cannot list blobs nor store small objects: {@link #listBlobs()} fails with INVALID, aliases
 *       are rebuilt from the snapshots reachable from tags ({@link RegistryAliases}), and the lock is a set of
 *       tags ({@link RegistryLock}). See docs/registry.md.
 * </ul>
 * Layers are stored gzip-compressed so that any engine can {@code docker pull} the image; volumes zstd.
 */
public final class RegistryStore implements Store {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryStore.class);
  static final ObjectMapper JSON = new ObjectMapper();
  /**
   * Tags that jmigrate uses internally (locks, aliases) start with this; they are never listed. A snapshot tag
   * starts with a container name, which cannot start with '_', so the two never collide.
   */
  static final String INTERNAL_TAG_PREFIX = "_jmigrate-";
  static final String LOCK_TAG_PREFIX = INTERNAL_TAG_PREFIX + "lock-";
  static final String ALIAS_TAG_PREFIX = INTERNAL_TAG_PREFIX + "alias-";
  /** Registries refuse manifests over 4 MiB (distribution's default limit); nothing we write comes close. */
  static final int MANIFEST_LIMIT = 4 << 20;
  private static final int CACHED_MANIFEST_LIMIT = 64 << 10;
  private static final int CACHED_MANIFESTS = 256;
  private static final int LIST_PARALLELISM = 4;
  static final String MANIFEST_ACCEPT = String.join(", ", MediaTypes.OCI_INDEX, MediaTypes.OCI_MANIFEST,
      MediaTypes.DOCKER_MANIFEST_LIST, MediaTypes.DOCKER_MANIFEST);

  /** Sizes and timings; tests shrink them. */
  static final class Settings {
    int chunkSize = 8 << 20;
    int tagPageSize = 1000;
    RegistryClient.Retry retry = RegistryClient.Retry.defaults();
    Duration lockStaleAfter = Duration.ofMinutes(30);
    Duration lockRefreshEvery = Duration.ofMinutes(5);
    Duration lockPollEvery = Duration.ofSeconds(2);
    /** Null means the docker CLI's own lookup. */
    RegistryCredentials credentials;

    static Settings defaults() {
      return new Settings();
    }
  }

  /** What a GET of a manifest brought back. */
  static final class Manifest {
    final byte[] bytes;
    final String mediaType;
    final Digest digest;

    Manifest(byte[] bytes, String mediaType, Digest digest) {
      this.bytes = bytes;
      this.mediaType = mediaType;
      this.digest = digest;
    }

    JsonNode json() throws IOException {
      return JSON.readTree(bytes);
    }
  }

  private final RegistryLocation location;
  private final RegistryClient client;
  private final Settings settings;
  private final RegistryAliases aliases;
  private final Map<Digest, byte[]> manifestCache = new LinkedHashMap<>(16, 0.75f, true) {
    private static final long serialVersionUID = 1L;

    @Override
    protected boolean removeEldestEntry(Map.Entry<Digest, byte[]> eldest) {
      return size() > CACHED_MANIFESTS;
    }
  };

  private RegistryStore(RegistryLocation location, StoreOptions options, Settings settings) {
    this.location = location;
    this.settings = settings;
    RegistryCredentials creds = settings.credentials != null ? settings.credentials
        : RegistryCredentials.fromEnvironment(options);
    this.client = new RegistryClient(location, creds, settings.retry);
    this.aliases = new RegistryAliases(this);
  }

  /**
   * Opens {@code oci://host[:port]/repository}. Fails with INVALID on a malformed URL; contacts the registry only
   * on first use.
   */
  public static RegistryStore open(String url, StoreOptions options) throws StoreException {
    return open(url, options, Settings.defaults());
  }

  static RegistryStore open(String url, StoreOptions options, Settings settings) throws StoreException {
    StoreOptions opts = options == null ? StoreOptions.defaults() : options;
    return new RegistryStore(RegistryLocation.parse(url, opts.insecureRegistry()), opts, settings);
  }

  @Override
  public String location() {
    return location.url();
  }

  /** The registry, as {@code host[:port]}. */
  public String registry() {
    return location.authority();
  }

  /** The repository inside the registry, e.g. {@code backups/web}. */
  public String repository() {
    return location.repository();
  }

  /** True when {@code other} lives on the same registry, so that blobs can be mounted instead of copied. */
  public boolean sameRegistry(RegistryStore other) {
    return other.location.authority().equals(location.authority());
  }

  /**
   * HTTP requests sent so far, per method ("HEAD", "GET", "POST", "PATCH", "PUT", "DELETE", and "token" for the
   * token service), retries included: proof for tests and benchmarks that nothing was uploaded twice.
   */
  public Map<String, Long> requestCounts() {
    return client.counts();
  }

  RegistryClient client() {
    return client;
  }

  Settings settings() {
    return settings;
  }

  @Override
  public boolean exists() throws StoreException {
    // A registry creates a repository on its first push and answers NAME_UNKNOWN (404) to a tag listing before.
    try (RegistryClient.Response r = client.send(RegistryClient.Request.of("GET", client.repoUri("tags/list?n=1"),
        RegistryAuth.Access.PULL, "list the tags of " + location()))) {
      if (r.status() == 404) {
        return false;
      }
      if (r.status() != 200) {
        throw client.error(r, "list the tags");
      }
      return true;
    }
  }

  @Override
  public Compression compression(ContentKind kind) {
    // Docker 20.10 refuses zstd layers on pull: an image that any engine can pull needs gzip layers.
    return kind == ContentKind.LAYER ? Compression.GZIP : Compression.ZSTD;
  }

  // ---- blobs ----

  URI blobUri(Digest digest) throws StoreException {
    return client.repoUri("blobs/" + digest);
  }

  @Override
  public boolean hasBlob(Digest digest) throws StoreException {
    String what = "check blob " + digest;
    try (RegistryClient.Response r = client.send(
        RegistryClient.Request.of("HEAD", blobUri(digest), RegistryAuth.Access.PULL, what + " in " + location()))) {
      if (r.status() == 200) {
        return true;
      }
      if (r.status() == 404) {
        return false;
      }
      throw client.error(r, what);
    }
  }

  @Override
  public BlobUpload startUpload() throws StoreException {
    // Refused once a stop began; a stop aborts it (see Staging).
    Staging.Token staged = Staging.upload("upload a blob to " + location());
    RegistryBlobUpload up = new RegistryBlobUpload(this, settings.chunkSize, staged);
    staged.onStop(up::abort);
    return up;
  }

  @Override
  public Descriptor putBlob(String mediaType, byte[] content) throws StoreException {
    Digest digest = Digest.of(content);
    Descriptor d = Descriptor.of(mediaType, digest, content.length);
    if (hasBlob(digest)) {
      LOG.debug("blob {} already stored, skipped ({})", digest, location());
      return d;
    }
    URI session = startSession("write blob " + digest);
    URI put = withQuery(session, "digest=" + encode(digest.toString()));
    String what = "write blob " + digest;
    try (RegistryClient.Response r = client.send(RegistryClient.Request
        .withBody("PUT", put, content, 0, content.length, RegistryAuth.Access.PUSH, what + " to " + location())
        .header("Content-Type", "application/octet-stream").idempotent(false))) {
      if (r.status() != 201) {
        StoreException e = client.error(r, what);
        cancelSession(session);
        throw e;
      }
    }
    return d;
  }

  /** POST /blobs/uploads/: opens an upload session and returns its Location. */
  URI startSession(String what) throws StoreException {
    try (RegistryClient.Response r = client.send(RegistryClient.Request
        .of("POST", client.repoUri("blobs/uploads/"), RegistryAuth.Access.PUSH, what + " to " + location())
        .idempotent(false))) {
      if (r.status() != 202) {
        throw client.error(r, what);
      }
      return uploadLocation(r, what);
    }
  }

  URI uploadLocation(RegistryClient.Response r, String what) throws StoreException {
    String loc = r.header("Location").orElseThrow(() -> new StoreException(StoreException.Kind.OTHER,
        "cannot " + what + " in " + location() + ": the registry answered " + r.status() + " without a Location"));
    return RegistryClient.resolve(r.uri(), loc);
  }

  /** DELETE of an upload session; failures are logged, since the registry purges stale uploads itself. */
  void cancelSession(URI session) {
    try (RegistryClient.Response r = client.send(RegistryClient.Request
        .of("DELETE", session, RegistryAuth.Access.PUSH, "cancel an upload to " + location()))) {
      if (r.status() != 204 && r.status() != 404 && r.status() != 200 && r.status() != 202) {
        LOG.warn("could not cancel an upload session in {}: registry answered {}; the registry purges stale "
            + "uploads itself", location(), r.status());
      }
    } catch (StoreException e) {
      LOG.warn("could not cancel an upload session in {}: {}; the registry purges stale uploads itself",
          location(), e.getMessage());
    }
  }

  /** Appends {@code param} to the query of an upload Location, which usually already has {@code ?_state=}. */
  static URI withQuery(URI uri, String param) {
    String s = uri.toString();
    return URI.create(s + (uri.getRawQuery() == null || uri.getRawQuery().isEmpty() ? "?" : "&") + param);
  }

  static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /**
   * Makes {@code digest}, stored in {@code fromRepository} of the same registry, available here without sending
   * its bytes (distribution-spec "Mounting a blob from another repository"). Returns false when the registry
   * declined (it then opened an upload session, which is cancelled); the caller copies the bytes instead.
   */
  public boolean mountFrom(String fromRepository, Digest digest) throws StoreException {
    RegistryLocation.parse(location.url(fromRepository), false);
    if (hasBlob(digest)) {
      LOG.debug("blob {} already in {}: no mount needed", digest, location());
      return true;
    }
    String what = "mount blob " + digest + " from " + location.url(fromRepository);
    URI uri = client.repoUri("blobs/uploads/?mount=" + encode(digest.toString()) + "&from=" + encode(fromRepository));
    try (RegistryClient.Response r = client.send(RegistryClient.Request
        .of("POST", uri, RegistryAuth.Access.PUSH, what + " into " + location()).idempotent(false)
        .scope("repository:" + fromRepository + ":pull"))) {
      if (r.status() == 201) {
        LOG.debug("mounted blob {} from {}", digest, fromRepository);
        return true;
      }
      if (r.status() == 202) {
        URI session = uploadLocation(r, what);
        cancelSession(session);
        return false;
      }
      throw client.error(r, what);
    }
  }

  @Override
  public InputStream openBlob(Digest digest, long size, String context) throws StoreException {
    String what = "read blob " + digest + (context == null ? "" : " (" + context + ")");
    RegistryClient.Response r = client.send(
        RegistryClient.Request.of("GET", blobUri(digest), RegistryAuth.Access.PULL, what + " from " + location()));
    if (r.status() != 200) {
      try (r) {
        if (r.status() == 404) {
          throw new StoreException(StoreException.Kind.NOT_FOUND, "blob " + digest
              + (context == null ? "" : " (" + context + ")") + " is missing from " + location());
        }
        throw client.error(r, what);
      }
    }
    String name = (context == null ? "blob " + digest : context + " (blob " + digest + ")") + " in " + location();
    return new DigestingInputStream(r.body(), digest, size, name);
  }

  /**
   * Deletes the blob and, when {@code digest} names a manifest or index of this repository, that manifest too: a
   * registry keeps manifests apart from blobs, and its garbage collection frees nothing that a manifest still
   * references (see docs/registry.md, "Freeing space").
   */
  @Override
  public void deleteBlob(Digest digest) throws StoreException {
    if (!deleteManifestIfAllowed(digest, "delete manifest " + digest)) {
      throw new StoreException(StoreException.Kind.OTHER, "cannot delete manifest " + digest + " in " + location()
          + ": the registry does not allow deletes (405); enable them in its configuration "
          + "(distribution: storage.delete.enabled: true, or REGISTRY_STORAGE_DELETE_ENABLED=true)");
    }
    String what = "delete blob " + digest;
    try (RegistryClient.Response r = client.send(RegistryClient.Request
        .of("DELETE", blobUri(digest), RegistryAuth.Access.DELETE, what + " in " + location()))) {
      if (r.status() == 202 || r.status() == 200 || r.status() == 204 || r.status() == 404) {
        return;
      }
      if (r.status() == 405) {
        throw deletesDisabled(r, what);
      }
      throw client.error(r, what);
    }
  }

  private StoreException deletesDisabled(RegistryClient.Response r, String what) {
    return new StoreException(StoreException.Kind.OTHER, "cannot " + what + " in " + location()
        + ": the registry does not allow deletes (405 " + r.errorText() + "); enable them in its configuration "
        + "(distribution: storage.delete.enabled: true, or REGISTRY_STORAGE_DELETE_ENABLED=true)");
  }

  @Override
  public List<BlobInfo> listBlobs() throws StoreException {
    throw new StoreException(StoreException.Kind.INVALID, "a registry cannot list blobs (" + location()
        + "); prune removes snapshot tags, run the registry's own garbage collection to free space");
  }

  // ---- manifests ----

  private URI manifestUri(String reference) throws StoreException {
    return client.repoUri("manifests/" + reference);
  }

  /** True when the manifest is stored. */
  boolean hasManifest(Digest digest) throws StoreException {
    String what = "check manifest " + digest;
    try (RegistryClient.Response r = client.send(RegistryClient.Request
        .of("HEAD", manifestUri(digest.toString()), RegistryAuth.Access.PULL, what + " in " + location())
        .header("Accept", MANIFEST_ACCEPT))) {
      if (r.status() == 200) {
        return true;
      }
      if (r.status() == 404) {
        return false;
      }
      throw client.error(r, what);
    }
  }

  @Override
  public void putManifest(Descriptor descriptor, byte[] content) throws StoreException {
    Digest digest = Digest.of(content);
    if (!digest.equals(descriptor.digest())) {
      throw new IllegalArgumentException("manifest content has digest " + digest + ", not " + descriptor.digest());
    }
    if (hasManifest(digest)) {
      LOG.debug("manifest {} already stored, skipped ({})", digest, location());
      return;
    }
    putManifest(digest.toString(), descriptor.mediaType(), content, digest, "store manifest " + digest);
  }

  /** PUT of {@code content} under a tag or digest {@code reference}, for internal objects (lock tags). */
  void putManifestAs(String reference, String mediaType, byte[] content, Digest digest, String what)
      throws StoreException {
    putManifest(reference, mediaType, content, digest, what);
  }

  /** PUT /manifests/REFERENCE and checks the digest the registry computed. */
  private void putManifest(String reference, String mediaType, byte[] content, Digest digest, String what)
      throws StoreException {
    try (RegistryClient.Response r = client.send(RegistryClient.Request
        .withBody("PUT", manifestUri(reference), content, 0, content.length, RegistryAuth.Access.PUSH,
            what + " in " + location())
        .header("Content-Type", mediaType))) {
      if (r.status() != 201 && r.status() != 200) {
        StoreException e = client.error(r, what);
        if (e.getMessage().contains("BLOB_UNKNOWN")) {
          throw new StoreException(e.kind(), e.getMessage() + "; the blobs a manifest names must be stored first");
        }
        throw e;
      }
      Optional<String> echoed = r.header("Docker-Content-Digest");
      if (echoed.isPresent() && !echoed.get().equals(digest.toString())) {
        throw new StoreException(StoreException.Kind.CORRUPT, "cannot " + what + " in " + location()
            + ": the registry stored it as " + echoed.get() + " instead of " + digest);
      }
    }
  }

  private void remember(Digest digest, byte[] content) {
    if (content.length <= CACHED_MANIFEST_LIMIT) {
      synchronized (manifestCache) {
        manifestCache.put(digest, content.clone());
      }
    }
  }

  @Override
  public byte[] getManifest(Digest digest) throws StoreException {
    return fetchManifest(digest).bytes.clone();
  }

  /** The manifest with its media type; digest-checked; served from a small cache when it was seen before. */
  Manifest fetchManifest(Digest digest) throws StoreException {
    byte[] cached;
    synchronized (manifestCache) {
      cached = manifestCache.get(digest);
    }
    if (cached != null) {
      return new Manifest(cached, mediaTypeOf(cached, null), digest);
    }
    Manifest m = fetchManifest(digest.toString(), "manifest " + digest)
        .orElseThrow(() -> new StoreException(StoreException.Kind.NOT_FOUND,
            "manifest " + digest + " is missing from " + location()));
    if (!m.digest.equals(digest)) {
      throw new StoreException(StoreException.Kind.CORRUPT, "manifest " + digest + " in " + location()
          + " is corrupt: its content has digest " + m.digest);
    }
    remember(digest, m.bytes);
    return m;
  }

  /** GET of a manifest by tag or digest, not digest-checked against anything; empty when absent. */
  Optional<Manifest> manifestByReference(String reference) throws StoreException {
    return fetchManifest(reference, "manifest " + reference);
  }

  /** GET /manifests/REFERENCE; empty on 404. The digest is computed from the bytes. */
  private Optional<Manifest> fetchManifest(String reference, String object) throws StoreException {
    String what = "read " + object;
    try (RegistryClient.Response r = client.send(RegistryClient.Request
        .of("GET", manifestUri(reference), RegistryAuth.Access.PULL, what + " from " + location())
        .header("Accept", MANIFEST_ACCEPT))) {
      if (r.status() == 404) {
        return Optional.empty();
      }
      if (r.status() != 200) {
        throw client.error(r, what);
      }
      byte[] bytes;
      try {
        bytes = r.bytes(MANIFEST_LIMIT);
      } catch (IOException e) {
        throw new StoreException(StoreException.Kind.UNAVAILABLE,
            "cannot " + what + " from " + location() + ": " + e.getMessage(), e);
      }
      String contentType = r.header("Content-Type").map(RegistryStore::stripParams).orElse(null);
      Digest digest = Digest.of(bytes);
      String echoed = r.header("Docker-Content-Digest").orElse(null);
      if (echoed != null && Digest.isValid(echoed) && !Digest.parse(echoed).equals(digest)) {
        throw new StoreException(StoreException.Kind.CORRUPT, object + " in " + location() + " is corrupt: the "
            + "registry calls it " + echoed + " but its content has digest " + digest);
      }
      return Optional.of(new Manifest(bytes, mediaTypeOf(bytes, contentType), digest));
    }
  }

  private static String stripParams(String contentType) {
    int semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.substring(0, semi)).trim();
  }

  /** The manifest's own mediaType field, else the Content-Type it was served with, else OCI manifest. */
  static String mediaTypeOf(byte[] manifest, String contentType) {
    try {
      JsonNode n = JSON.readTree(manifest);
      if (n != null && n.hasNonNull("mediaType") && !n.get("mediaType").asText().isBlank()) {
        return n.get("mediaType").asText();
      }
    } catch (IOException e) {
      // fall through: the registry's Content-Type decides
    }
    return contentType != null && !contentType.isBlank() ? contentType : MediaTypes.OCI_MANIFEST;
  }

  // ---- tags ----

  static boolean internalTag(String name) {
    return name.startsWith(INTERNAL_TAG_PREFIX);
  }

  @Override
  public void putTag(Tag tag) throws StoreException {
    if (internalTag(tag.name())) {
      throw new StoreException(StoreException.Kind.INVALID, "tag name '" + tag.name() + "' is reserved for "
          + "jmigrate's own use (prefix " + INTERNAL_TAG_PREFIX + ")");
    }
    putTagInternal(tag.name(), tag.target());
  }

  /** PUT of the target manifest's bytes under the tag name: how a registry publishes a tag. */
  void putTagInternal(String name, Descriptor target) throws StoreException {
    Manifest m = fetchManifest(target.digest());
    putManifest(name, m.mediaType, m.bytes, target.digest(), "publish tag " + name + " -> " + target.digest());
    LOG.debug("tagged {} as {} in {}", target.digest(), name, location());
  }

  @Override
  public List<Tag> listTags() throws StoreException {
    return listTags("");
  }

  @Override
  public TagListing tagListing(String prefix) throws StoreException {
    return new TagListing(listTags(prefix), List.of());
  }

  /** The tags whose names start with {@code prefix}: the names are one listing, then a GET per matching tag. */
  private List<Tag> listTags(String prefix) throws StoreException {
    List<String> names = new ArrayList<>();
    for (String name : listTagNames()) {
      if (!internalTag(name) && name.startsWith(prefix)) {
        names.add(name);
      }
    }
    // By name, as every store lists them (the registry's own order is its storage's, not the names').
    names.sort(null);
    List<Tag> tags = new ArrayList<>();
    if (names.size() <= 2) {
      for (String name : names) {
        describeTag(name).ifPresent(tags::add);
      }
      return tags;
    }
    // One GET per tag: a few in flight at once, so that a repository with many snapshots lists quickly.
    ExecutorService pool =
        Executors.newFixedThreadPool(LIST_PARALLELISM, DaemonThreads.named("jmigrate-registry-list"));
    try {
      List<Future<Optional<Tag>>> futures = new ArrayList<>();
      for (String name : names) {
        futures.add(pool.submit(() -> describeTag(name)));
      }
      for (Future<Optional<Tag>> f : futures) {
        try {
          f.get().ifPresent(tags::add);
        } catch (ExecutionException e) {
          if (e.getCause() instanceof StoreException) {
            throw (StoreException) e.getCause();
          }
          throw new StoreException(StoreException.Kind.OTHER,
              "cannot list the tags of " + location() + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new StoreException(StoreException.Kind.UNAVAILABLE, "interrupted while listing " + location());
        }
      }
      return tags;
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * The registry checks a tagged manifest's digest itself, so every tag it lists can be read; a manifest that is
   * not JSON is a tag without annotations (not a snapshot: a registry repository may hold other images).
   */
  @Override
  public TagListing tagListing() throws StoreException {
    return new TagListing(listTags(), List.of());
  }

  @Override
  public Optional<Tag> getTag(String name) throws StoreException {
    Tag.checkName(name);
    if (internalTag(name)) {
      return Optional.empty();
    }
    return describeTag(name);
  }

  /** Every tag name, internal ones included, following the n/last pagination through Link headers. */
  List<String> listTagNames() throws StoreException {
    List<String> names = new ArrayList<>();
    URI uri = client.repoUri("tags/list?n=" + settings.tagPageSize);
    String what = "list the tags";
    while (uri != null) {
      try (RegistryClient.Response r = client.send(
          RegistryClient.Request.of("GET", uri, RegistryAuth.Access.PULL, what + " of " + location()))) {
        if (r.status() == 404) {
          // NAME_UNKNOWN: nothing was ever pushed to this repository.
          return names;
        }
        if (r.status() != 200) {
          throw client.error(r, what);
        }
        JsonNode body;
        try {
          body = JSON.readTree(r.bytes(64 << 20));
        } catch (IOException e) {
          throw new StoreException(StoreException.Kind.UNAVAILABLE,
              "cannot " + what + " of " + location() + ": " + e.getMessage(), e);
        }
        for (JsonNode t : body.path("tags")) {
          names.add(t.asText());
        }
        uri = nextPage(r);
      }
    }
    return names;
  }

  /** The rel="next" target of a Link header (RFC 5988, as distribution-spec "Listing tags" uses it), or null. */
  static URI nextPage(RegistryClient.Response r) {
    Optional<String> link = r.header("Link");
    if (link.isEmpty()) {
      return null;
    }
    return parseNextLink(r.uri(), link.get());
  }

  static URI parseNextLink(URI against, String link) {
    for (String part : link.split(",(?=\\s*<)")) {
      int lt = part.indexOf('<');
      int gt = part.indexOf('>');
      if (lt < 0 || gt < lt) {
        continue;
      }
      String params = part.substring(gt + 1);
      if (params.matches("(?s).*rel\\s*=\\s*\"?next\"?.*")) {
        return against.resolve(part.substring(lt + 1, gt).trim());
      }
    }
    return null;
  }

  /**
   * One GET of the tag's manifest gives everything: digest (computed from the bytes, and checked against the
   * registry's Docker-Content-Digest), size, media type, and the index's artifactType and annotations, which a
   * listing needs (see docs/repository-format.md). A HEAD would save bytes but not requests: the annotations are
   * only in the body.
   */
  Optional<Tag> describeTag(String name) throws StoreException {
    Optional<Manifest> found = fetchManifest(name, "tag " + name);
    if (found.isEmpty()) {
      return Optional.empty();
    }
    Manifest m = found.get();
    remember(m.digest, m.bytes);
    String artifactType = null;
    Map<String, String> annotations = new TreeMap<>();
    try {
      JsonNode n = m.json();
      if (n.hasNonNull("artifactType")) {
        artifactType = n.get("artifactType").asText();
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = n.path("annotations").fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        annotations.put(e.getKey(), e.getValue().asText());
      }
    } catch (IOException e) {
      LOG.debug("tag {} in {} points at a manifest that is not JSON", name, location());
    }
    return Optional.of(Tag.of(name, Descriptor.of(m.mediaType, artifactType, m.digest, m.bytes.length, annotations)));
  }

  @Override
  public void deleteTag(String name) throws StoreException {
    Tag.checkName(name);
    deleteTagInternal(name);
  }

  /**
   * Removes the tag and keeps the tagged content, as every store does (prune decides what is unreferenced).
   * distribution 2.8 has no tag deletion (the OCI spec makes it optional, and its DELETE by tag answers 400): DELETE
   * by digest removes the manifest with every tag that points at it, so the manifest is then put back by digest,
   * untagged. jmigrate gives each snapshot index its own tag, so no other tag is lost. Returns false when the tag
   * was absent.
   */
  boolean deleteTagInternal(String name) throws StoreException {
    String what = "read tag " + name;
    Digest digest;
    try (RegistryClient.Response r = client.send(RegistryClient.Request
        .of("HEAD", manifestUri(name), RegistryAuth.Access.PULL, what + " of " + location())
        .header("Accept", MANIFEST_ACCEPT))) {
      if (r.status() == 404) {
        return false;
      }
      if (r.status() != 200) {
        throw client.error(r, what);
      }
      String echoed = r.header("Docker-Content-Digest").orElse(null);
      digest = echoed != null && Digest.isValid(echoed) ? Digest.parse(echoed) : null;
    }
    Manifest m;
    if (digest == null) {
      Optional<Manifest> byTag = fetchManifest(name, "tag " + name);
      if (byTag.isEmpty()) {
        return false;
      }
      m = byTag.get();
    } else {
      m = fetchManifest(digest);
    }
    deleteManifest(m.digest, "delete tag " + name);
    putManifest(m.digest.toString(), m.mediaType, m.bytes, m.digest, "keep manifest " + m.digest
        + " after deleting its tag " + name);
    LOG.debug("deleted tag {} of {}; manifest {} kept", name, location(), m.digest);
    return true;
  }

  /** DELETE /manifests/DIGEST; absent is fine; 405 explains how to enable deletes. */
  void deleteManifest(Digest digest, String what) throws StoreException {
    if (!deleteManifestIfAllowed(digest, what)) {
      throw new StoreException(StoreException.Kind.OTHER, "cannot " + what + " in " + location()
          + ": the registry does not allow deletes (405); enable them in its configuration "
          + "(distribution: storage.delete.enabled: true, or REGISTRY_STORAGE_DELETE_ENABLED=true)");
    }
  }

  /** DELETE /manifests/DIGEST; absent is fine; false when the registry forbids deletes (405). */
  boolean deleteManifestIfAllowed(Digest digest, String what) throws StoreException {
    try (RegistryClient.Response r = client.send(RegistryClient.Request
        .of("DELETE", manifestUri(digest.toString()), RegistryAuth.Access.DELETE, what + " in " + location()))) {
      if (r.status() == 202 || r.status() == 200 || r.status() == 204 || r.status() == 404) {
        synchronized (manifestCache) {
          manifestCache.remove(digest);
        }
        return true;
      }
      if (r.status() == 405) {
        return false;
      }
      throw client.error(r, what);
    }
  }

  // ---- aliases ----

  @Override
  public Optional<Descriptor> getAlias(String key) throws StoreException {
    return aliases.get(key);
  }

  @Override
  public void putAlias(String key, Descriptor target) throws StoreException {
    aliases.put(key, target);
  }

  // ---- lock ----

  @Override
  public StoreLock lock(LockMode mode, String purpose, Duration wait) throws StoreException {
    return RegistryLock.acquire(this, mode, purpose, wait);
  }

  @Override
  public void close() {
    // java.net.http.HttpClient holds no resources that need closing on Java 17; locks are closed by holders.
  }

  @Override
  public String toString() {
    return location();
  }
}
