package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.archive.Compression;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestMismatchException;
import io.jmigrate.blob.DigestingInputStream;
import io.jmigrate.blob.DigestingOutputStream;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.testing.RegistryServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Tests for {@link RegistryStore}: the {@link StoreContract} and what is particular to a registry. */
class RegistryStoreIT extends StoreContract {
  private static RegistryServer server;
  private static int repoCounter;
  private String contractRepo;

  @Override
  protected Store openStore() throws Exception {
    contractRepo = newRepo();
    return open(contractRepo);
  }

  @Override
  protected Store reopen() throws Exception {
    return open(contractRepo);
  }

  @Override
  protected void corrupt(Digest digest) throws Exception {
    server.corrupt(digest);
  }

  @Override
  protected List<String> stagingLeftovers() throws Exception {
    return uploadsInProgress(contractRepo);
  }

  @Override
  protected boolean canListBlobs() {
    return false;
  }

  @BeforeAll
  static void startRegistry() throws IOException {
    server = RegistryServer.start();
  }

  @AfterAll
  static void stopRegistry() {
    if (server != null) {
      server.close();
    }
  }

  /** Fast retries, no credentials, and a fresh repository per call. */
  static RegistryStore.Settings testSettings(Path configDir) {
    RegistryStore.Settings s = RegistryStore.Settings.defaults();
    s.retry = new RegistryClient.Retry(3, Duration.ofMillis(100), Duration.ofMillis(400));
    s.credentials = new RegistryCredentials(configDir, Map.of("PATH", System.getenv("PATH")));
    return s;
  }

  private static synchronized String newRepo() {
    return "jm/test" + (++repoCounter);
  }

  private RegistryStore open(String repo) throws StoreException {
    return open(server, repo, testSettings(server.dir().resolve("no-docker-config")));
  }

  static RegistryStore open(RegistryServer srv, String repo, RegistryStore.Settings settings) throws StoreException {
    return RegistryStore.open(srv.url(repo), StoreOptions.defaults(), settings);
  }

  private static long count(RegistryStore store, String method) {
    return store.requestCounts().getOrDefault(method, 0L);
  }

  static byte[] readAll(InputStream in) throws IOException {
    try (in) {
      return in.readAllBytes();
    }
  }

  /** Writes {@code size} pseudo-random bytes of seed {@code seed}, so that the content can be recomputed. */
  static void writeRandom(OutputStream out, long size, long seed) throws IOException {
    Random r = new Random(seed);
    byte[] buf = new byte[64 * 1024];
    long left = size;
    while (left > 0) {
      r.nextBytes(buf);
      int n = (int) Math.min(buf.length, left);
      out.write(buf, 0, n);
      left -= n;
    }
  }

  static Descriptor upload(Store store, String mediaType, long size, long seed) throws Exception {
    try (BlobUpload up = store.startUpload()) {
      DigestingOutputStream d = new DigestingOutputStream(up.stream());
      writeRandom(d, size, seed);
      return up.commit(mediaType, d.digest(), d.count());
    }
  }

  static byte[] json(Object tree) throws IOException {
    return RegistryStore.JSON.writeValueAsBytes(tree);
  }

  @Test
  void exists_repositoryNothingWasPushedTo_isFalse() throws Exception {
    try (RegistryStore never = open(newRepo())) {
      assertThat(never.exists()).isFalse();
    }
  }

  @Test
  void putBlob_thenOpenBlob_returnsSameBytes() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      byte[] content = "hello registry".getBytes(StandardCharsets.UTF_8);
      Descriptor d = store.putBlob(MediaTypes.OCI_CONFIG, content);

      assertThat(d.digest()).isEqualTo(Digest.of(content));
      assertThat(d.size()).isEqualTo(content.length);
      assertThat(store.hasBlob(d.digest())).isTrue();
      assertThat(readAll(store.openBlob(d.digest(), d.size(), "test blob"))).isEqualTo(content);
    }
  }

  @Test
  void putBlob_twice_secondIsSkippedWithoutUpload() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      byte[] content = "written twice".getBytes(StandardCharsets.UTF_8);
      store.putBlob(MediaTypes.OCI_CONFIG, content);
      long posts = count(store, "POST");
      long puts = count(store, "PUT");

      Descriptor again = store.putBlob(MediaTypes.OCI_CONFIG, content);

      assertThat(again.digest()).isEqualTo(Digest.of(content));
      assertThat(count(store, "POST")).isEqualTo(posts);
      assertThat(count(store, "PUT")).isEqualTo(puts);
    }
  }

  @Test
  void startUpload_64MiBStream_goesUpInChunksAndReadsBackDigestChecked() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      long size = 64L << 20;
      Descriptor d = upload(store, MediaTypes.VOLUME_TAR_ZSTD, size, 42);

      // 8 MiB chunks: seven PATCHes as they fill, the eighth at commit, then the closing PUT.
      assertThat(count(store, "POST")).isEqualTo(1);
      assertThat(count(store, "PATCH")).isEqualTo(8);
      assertThat(count(store, "PUT")).isEqualTo(1);
      assertThat(d.size()).isEqualTo(size);
      try (DigestingInputStream in = new DigestingInputStream(store.openBlob(d.digest(), size, "big blob"))) {
        in.drain();
        assertThat(in.count()).isEqualTo(size);
        assertThat(in.digest()).isEqualTo(d.digest());
      }
    }
  }

  @Test
  void startUpload_contentAlreadyStored_commitSkipsAndCancelsSession() throws Exception {
    RegistryStore.Settings s = testSettings(server.dir().resolve("none"));
    s.chunkSize = 256 * 1024;
    try (RegistryStore store = open(server, newRepo(), s)) {
      Descriptor first = upload(store, MediaTypes.OCI_LAYER_GZIP, 1_000_000, 7);
      long puts = count(store, "PUT");

      Descriptor second = upload(store, MediaTypes.OCI_LAYER_GZIP, 1_000_000, 7);

      assertThat(second.digest()).isEqualTo(first.digest());
      assertThat(count(store, "PUT")).isEqualTo(puts);
      assertThat(count(store, "DELETE")).isEqualTo(1);
      assertThat(uploadsInProgress(store.repository())).isEmpty();
    }
  }

  @Test
  void startUpload_smallContentAlreadyStored_opensNoSession() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      upload(store, MediaTypes.OCI_LAYER_GZIP, 5000, 8);
      long posts = count(store, "POST");

      upload(store, MediaTypes.OCI_LAYER_GZIP, 5000, 8);

      assertThat(count(store, "POST")).isEqualTo(posts);
    }
  }

  /**
   * The live upload sessions distribution keeps under the repository's _uploads directory (a cancelled one
   * loses its data and startedat files; only an empty hashstates directory stays).
   */
  static List<String> uploadsInProgress(String repo) throws IOException {
    return uploadsInProgress(server, repo);
  }

  static List<String> uploadsInProgress(RegistryServer server, String repo) throws IOException {
    Path uploads = server.storageRoot().resolve("docker/registry/v2/repositories").resolve(repo).resolve("_uploads");
    if (!Files.isDirectory(uploads)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(uploads)) {
      return s.filter(p -> Files.exists(p.resolve("startedat")) || Files.exists(p.resolve("data")))
          .map(p -> p.getFileName().toString()).collect(Collectors.toList());
    }
  }

  @Test
  void abort_afterChunksWereSent_deletesUploadSession() throws Exception {
    RegistryStore.Settings s = testSettings(server.dir().resolve("none"));
    s.chunkSize = 256 * 1024;
    try (RegistryStore store = open(server, newRepo(), s)) {
      BlobUpload up = store.startUpload();
      writeRandom(up.stream(), 600_000, 3);
      assertThat(uploadsInProgress(store.repository())).hasSize(1);

      up.abort();
      up.abort();

      assertThat(uploadsInProgress(store.repository())).isEmpty();
      assertThat(count(store, "DELETE")).isEqualTo(1);
      assertThatThrownBy(() -> up.stream().write(1)).isInstanceOf(IOException.class).hasMessageContaining("aborted");
      assertThatThrownBy(() -> up.commit(MediaTypes.OCI_LAYER_GZIP, Digest.of(new byte[0]), 600_000))
          .isInstanceOf(StoreException.class).hasMessageContaining("aborted");
    }
  }

  @Test
  void abort_fromAnotherThread_stopsTheWriter() throws Exception {
    RegistryStore.Settings s = testSettings(server.dir().resolve("none"));
    s.chunkSize = 128 * 1024;
    try (RegistryStore store = open(server, newRepo(), s)) {
      BlobUpload up = store.startUpload();
      writeRandom(up.stream(), 300_000, 4);

      Thread t = new Thread(up::abort);
      t.start();
      t.join();

      assertThatThrownBy(() -> writeRandom(up.stream(), 300_000, 5)).isInstanceOf(IOException.class);
      assertThat(uploadsInProgress(store.repository())).isEmpty();
    }
  }

  @Test
  void close_withoutCommit_abortsAndPublishesNothing() throws Exception {
    RegistryStore.Settings s = testSettings(server.dir().resolve("none"));
    s.chunkSize = 128 * 1024;
    try (RegistryStore store = open(server, newRepo(), s)) {
      Digest digest;
      try (BlobUpload up = store.startUpload()) {
        DigestingOutputStream d = new DigestingOutputStream(up.stream());
        writeRandom(d, 400_000, 6);
        digest = d.digest();
      }

      assertThat(store.hasBlob(digest)).isFalse();
      assertThat(uploadsInProgress(store.repository())).isEmpty();
    }
  }

  @Test
  void commit_withWrongDigest_failsCorruptAndLeavesNothing() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      BlobUpload up = store.startUpload();
      up.stream().write("some bytes".getBytes(StandardCharsets.UTF_8));
      Digest wrong = Digest.of("other bytes".getBytes(StandardCharsets.UTF_8));

      assertThatThrownBy(() -> up.commit(MediaTypes.OCI_LAYER_GZIP, wrong, 10))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("DIGEST_INVALID")
          .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.CORRUPT);
      assertThat(store.hasBlob(wrong)).isFalse();
      assertThat(uploadsInProgress(store.repository())).isEmpty();
    }
  }

  @Test
  void openBlob_corruptedOnServer_failsWithDigestMismatchNamingContext() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      Descriptor d = upload(store, MediaTypes.VOLUME_TAR_ZSTD, 100_000, 9);
      server.corrupt(d.digest());

      assertThatThrownBy(() -> readAll(store.openBlob(d.digest(), d.size(), "volume data of snapshot 3f2a9c1b0d4e")))
          .isInstanceOf(DigestMismatchException.class)
          .hasMessageContaining("volume data of snapshot 3f2a9c1b0d4e")
          .hasMessageContaining(d.digest().toString())
          .hasMessageContaining("corrupt");
    }
  }

  @Test
  void openBlob_missing_failsNotFound() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      Digest missing = Digest.of("never stored".getBytes(StandardCharsets.UTF_8));

      assertThatThrownBy(() -> store.openBlob(missing, -1, "layer 1 of snapshot abc"))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining(missing.toString())
          .hasMessageContaining("layer 1 of snapshot abc")
          .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.NOT_FOUND);
    }
  }

  @Test
  void deleteBlob_storedBlob_isGoneAndSecondDeleteIsFine() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      Descriptor d = store.putBlob(MediaTypes.OCI_CONFIG, "to delete".getBytes(StandardCharsets.UTF_8));

      store.deleteBlob(d.digest());
      store.deleteBlob(d.digest());

      assertThat(store.hasBlob(d.digest())).isFalse();
    }
  }

  @Test
  void listBlobs_always_failsInvalidWithAdvice() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      assertThatThrownBy(store::listBlobs)
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("a registry cannot list blobs")
          .hasMessageContaining("garbage collection")
          .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.INVALID);
    }
  }

  /** A small OCI artifact manifest over the given blobs, stored. */
  static Descriptor putArtifactManifest(RegistryStore store, Descriptor config, List<Descriptor> layers,
      String artifactType) throws Exception {
    ObjectNode m = RegistryStore.JSON.createObjectNode();
    m.put("schemaVersion", 2);
    m.put("mediaType", MediaTypes.OCI_MANIFEST);
    if (artifactType != null) {
      m.put("artifactType", artifactType);
    }
    m.set("config", RegistryStore.JSON.valueToTree(config));
    var arr = m.putArray("layers");
    for (Descriptor l : layers) {
      arr.add(RegistryStore.JSON.valueToTree(l));
    }
    byte[] bytes = json(m);
    Descriptor d = Descriptor.of(MediaTypes.OCI_MANIFEST, artifactType, Digest.of(bytes), bytes.length, Map.of());
    store.putManifest(d, bytes);
    return d;
  }

  static Descriptor putIndex(RegistryStore store, List<Descriptor> manifests, Map<String, String> annotations)
      throws Exception {
    ObjectNode idx = RegistryStore.JSON.createObjectNode();
    idx.put("schemaVersion", 2);
    idx.put("mediaType", MediaTypes.OCI_INDEX);
    idx.put("artifactType", MediaTypes.SNAPSHOT_ARTIFACT);
    var arr = idx.putArray("manifests");
    for (Descriptor m : manifests) {
      arr.add(RegistryStore.JSON.valueToTree(m));
    }
    idx.set("annotations", RegistryStore.JSON.valueToTree(annotations));
    byte[] bytes = json(idx);
    Descriptor d = Descriptor.of(MediaTypes.OCI_INDEX, MediaTypes.SNAPSHOT_ARTIFACT, Digest.of(bytes),
        bytes.length, annotations);
    store.putManifest(d, bytes);
    return d;
  }

  /** A snapshot-shaped index: a snapshot manifest (document + one volume) under an index with annotations. */
  static Descriptor putSnapshot(RegistryStore store, String container, long seed) throws Exception {
    Descriptor doc = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT,
        ("{\"container\":\"" + container + "\",\"seed\":" + seed + "}").getBytes(StandardCharsets.UTF_8));
    Descriptor volume = upload(store, MediaTypes.VOLUME_TAR_ZSTD, 10_000, seed)
        .withAnnotation("io.jmigrate.volume.name", "data")
        .withAnnotation(RegistryAliases.DIFFID, Digest.of(("diff" + seed).getBytes(StandardCharsets.UTF_8)).toString());
    Descriptor manifest = putArtifactManifest(store, doc, List.of(volume), MediaTypes.SNAPSHOT_ARTIFACT)
        .withAnnotation("io.jmigrate.role", "snapshot");
    return putIndex(store, List.of(manifest), Map.of(
        "io.jmigrate.snapshot.container", container,
        "io.jmigrate.snapshot.created", Instant.parse("2026-11-24T01:02:03Z").plusSeconds(seed).toString(),
        "io.jmigrate.snapshot.size", "12345"));
  }

  @Test
  void putManifest_thenGetManifest_returnsSameBytesAndSkipsSecondPut() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      Descriptor config = store.putBlob("application/vnd.example.config+json", "{}".getBytes(StandardCharsets.UTF_8));
      Descriptor layer = store.putBlob(MediaTypes.OCI_LAYER_GZIP, "layer".getBytes(StandardCharsets.UTF_8));
      Descriptor m = putArtifactManifest(store, config, List.of(layer), "application/vnd.example");
      long puts = count(store, "PUT");
      byte[] expected = store.getManifest(m.digest());

      store.putManifest(m, expected);

      assertThat(count(store, "PUT")).isEqualTo(puts);
      try (RegistryStore fresh = open(store.repository())) {
        assertThat(fresh.getManifest(m.digest())).isEqualTo(expected);
        assertThat(Digest.of(fresh.getManifest(m.digest()))).isEqualTo(m.digest());
      }
    }
  }

  @Test
  void putManifest_namingMissingBlob_failsSayingBlobsComeFirst() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      Descriptor config = store.putBlob("application/vnd.example.config+json", "{}".getBytes(StandardCharsets.UTF_8));
      Descriptor missing = Descriptor.of(MediaTypes.OCI_LAYER_GZIP, Digest.of(new byte[] {1, 2, 3}), 3);

      assertThatThrownBy(() -> putArtifactManifest(store, config, List.of(missing), "application/vnd.example"))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("BLOB_UNKNOWN")
          .hasMessageContaining("stored first");
    }
  }

  @Test
  void putTag_snapshotIndex_isListedWithIndexAnnotations() throws Exception {
    String repo = newRepo();
    try (RegistryStore store = open(repo)) {
      Descriptor index = putSnapshot(store, "web", 1);
      assertThat(store.listTags()).isEmpty();

      store.putTag(Tag.of("web-20261124T010204Z", index));

      try (RegistryStore fresh = open(repo)) {
        List<Tag> tags = fresh.listTags();
        assertThat(tags).hasSize(1);
        Tag t = tags.get(0);
        assertThat(t.name()).isEqualTo("web-20261124T010204Z");
        assertThat(t.target().digest()).isEqualTo(index.digest());
        assertThat(t.target().size()).isEqualTo(index.size());
        assertThat(t.target().mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
        assertThat(t.target().artifactType()).isEqualTo(MediaTypes.SNAPSHOT_ARTIFACT);
        assertThat(t.target().annotations()).containsEntry("io.jmigrate.snapshot.container", "web")
            .containsEntry("io.jmigrate.snapshot.size", "12345");
        assertThat(fresh.getTag("web-20261124T010204Z")).contains(t);
        assertThat(fresh.getTag("web-missing")).isEmpty();
      }
    }
  }

  @Test
  void putTag_existingName_movesTag() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      Descriptor first = putSnapshot(store, "db", 2);
      Descriptor second = putSnapshot(store, "db", 3);
      store.putTag(Tag.of("db-latest", first));

      store.putTag(Tag.of("db-latest", second));

      assertThat(store.getTag("db-latest")).map(t -> t.target().digest()).contains(second.digest());
    }
  }

  @Test
  void putTag_reservedLockPrefix_failsInvalid() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      Descriptor index = putSnapshot(store, "x", 4);

      assertThatThrownBy(() -> store.putTag(Tag.of("_jmigrate-lock-mine", index)))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("reserved");
    }
  }

  @Test
  void listTags_morePagesThanPageSize_listsEveryTag() throws Exception {
    RegistryStore.Settings s = testSettings(server.dir().resolve("none"));
    s.tagPageSize = 2;
    try (RegistryStore store = open(server, newRepo(), s)) {
      Descriptor index = putSnapshot(store, "paged", 5);
      for (int i = 0; i < 5; i++) {
        store.putTag(Tag.of("paged-" + i, index));
      }

      List<String> names = store.listTags().stream().map(Tag::name).collect(Collectors.toList());

      assertThat(names).containsExactlyInAnyOrder("paged-0", "paged-1", "paged-2", "paged-3", "paged-4");
      assertThat(count(store, "GET")).isGreaterThanOrEqualTo(3);
    }
  }

  @Test
  void listTags_emptyRepository_isEmpty() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      assertThat(store.listTags()).isEmpty();
    }
  }

  @Test
  void deleteTag_taggedIndex_removesTagAndAbsentIsFine() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      Descriptor index = putSnapshot(store, "gone", 6);
      store.putTag(Tag.of("gone-1", index));

      store.deleteTag("gone-1");
      store.deleteTag("gone-1");

      assertThat(store.getTag("gone-1")).isEmpty();
      assertThat(store.listTags()).isEmpty();
    }
  }

  @Test
  void deleteTag_registryWithoutDeletes_explainsHowToEnableThem() throws Exception {
    try (RegistryServer noDelete = RegistryServer.start(RegistryServer.Auth.NONE, false);
        RegistryStore store = open(noDelete, "jm/nodelete", testSettings(noDelete.dir().resolve("none")))) {
      Descriptor index = putSnapshot(store, "kept", 7);
      store.putTag(Tag.of("kept-1", index));

      assertThatThrownBy(() -> store.deleteTag("kept-1"))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("does not allow deletes")
          .hasMessageContaining("storage.delete.enabled");
    }
  }

  @Test
  void getAlias_noAliasTags_rebuiltFromTaggedSnapshotsWithSizes() throws Exception {
    String repo = newRepo();
    Digest diff0 = Digest.of("layer0 tar".getBytes(StandardCharsets.UTF_8));
    Digest diff1 = Digest.of("layer1 tar".getBytes(StandardCharsets.UTF_8));
    Digest volumeDiff = Digest.of("volume tar".getBytes(StandardCharsets.UTF_8));
    Digest otherVolumeDiff = Digest.of("other volume tar".getBytes(StandardCharsets.UTF_8));
    Descriptor layer0;
    Descriptor layer1;
    Descriptor volume;
    Descriptor otherVolume;
    try (RegistryStore store = open(repo)) {
      layer0 = store.putBlob(MediaTypes.OCI_LAYER_GZIP, "gz0".getBytes(StandardCharsets.UTF_8));
      layer1 = store.putBlob(MediaTypes.OCI_LAYER_GZIP, "gz1".getBytes(StandardCharsets.UTF_8));
      ObjectNode cfg = RegistryStore.JSON.createObjectNode();
      cfg.putObject("rootfs").put("type", "layers").putArray("diff_ids").add(diff0.toString()).add(diff1.toString());
      Descriptor config = store.putBlob(MediaTypes.OCI_CONFIG, json(cfg));
      Descriptor image = putArtifactManifest(store, config, List.of(layer0, layer1), null)
          .withAnnotation("io.jmigrate.role", "image");
      volume = store.putBlob(MediaTypes.VOLUME_TAR_ZSTD, "zst".getBytes(StandardCharsets.UTF_8));
      otherVolume = store.putBlob(MediaTypes.VOLUME_TAR_ZSTD, "zst2".getBytes(StandardCharsets.UTF_8))
          .withAnnotation(RegistryAliases.DIFFID, otherVolumeDiff.toString());
      // The snapshot document names layer 0 and the volume with their sizes (docs/repository-format.md).
      ObjectNode doc = RegistryStore.JSON.createObjectNode();
      doc.putObject("image").putArray("layers").addObject()
          .<ObjectNode>set("blob", RegistryStore.JSON.valueToTree(layer0))
          .put("diffId", diff0.toString()).put("uncompressedSize", 1000);
      doc.putArray("volumes").addObject()
          .<ObjectNode>set("content", RegistryStore.JSON.valueToTree(volume))
          .put("diffId", volumeDiff.toString()).put("uncompressedSize", 2000);
      Descriptor docBlob = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, json(doc));
      Descriptor snap = putArtifactManifest(store, docBlob, List.of(volume, otherVolume), MediaTypes.SNAPSHOT_ARTIFACT)
          .withAnnotation("io.jmigrate.role", "snapshot");
      Descriptor index = putIndex(store, List.of(image, snap), Map.of("io.jmigrate.snapshot.container", "app"));
      store.putTag(Tag.of("app-20261124T000000Z", index));
    }

    try (RegistryStore fresh = open(repo)) {
      Optional<Descriptor> l1 = fresh.getAlias("gzip-" + diff1.hex());
      Optional<Descriptor> v = fresh.getAlias("zstd-" + volumeDiff.hex());
      Optional<Descriptor> ov = fresh.getAlias("zstd-" + otherVolumeDiff.hex());
      long gets = count(fresh, "GET");
      Optional<Descriptor> l0 = fresh.getAlias("gzip-" + diff0.hex());
      Optional<Descriptor> none = fresh.getAlias("zstd-" + diff0.hex());

      assertThat(l1).map(Descriptor::digest).contains(layer1.digest());
      assertThat(l1.get().annotation(RegistryAliases.DIFFID)).isEqualTo(diff1.toString());
      assertThat(l0).map(Descriptor::digest).contains(layer0.digest());
      assertThat(l0.get().annotation(RegistryAliases.UNCOMPRESSED_SIZE)).isEqualTo("1000");
      assertThat(v).map(Descriptor::digest).contains(volume.digest());
      assertThat(v.get().annotation(RegistryAliases.UNCOMPRESSED_SIZE)).isEqualTo("2000");
      assertThat(ov).map(Descriptor::digest).contains(otherVolume.digest());
      assertThat(none).isEmpty();
      assertThat(count(fresh, "GET")).as("no second scan: one alias-tag probe for the miss").isEqualTo(gets + 1);
    }
  }

  @Test
  void putAlias_freshStore_findsItByItsTagWhichIsNotListed() throws Exception {
    String repo = newRepo();
    Descriptor blob;
    String key = "zstd-" + Digest.of("raw volume".getBytes(StandardCharsets.UTF_8)).hex();
    try (RegistryStore store = open(repo)) {
      blob = store.putBlob(MediaTypes.VOLUME_TAR_ZSTD, "v".getBytes(StandardCharsets.UTF_8))
          .withAnnotation(RegistryAliases.UNCOMPRESSED_SIZE, "77");
      store.putAlias(key, blob);
    }

    try (RegistryStore fresh = open(repo)) {
      assertThat(fresh.hasBlob(blob.digest())).isTrue();
      long gets = count(fresh, "GET");
      assertThat(fresh.getAlias(key)).contains(blob);
      assertThat(count(fresh, "GET")).as("one manifest GET, no scan").isEqualTo(gets + 1);
      assertThat(fresh.listTags()).isEmpty();
      assertThat(fresh.listTagNames()).containsExactly("_jmigrate-alias-" + key);
    }
  }

  @Test
  void putAlias_thenGetAlias_returnsItFromMemory() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      Descriptor blob = store.putBlob(MediaTypes.VOLUME_TAR_ZSTD, "v".getBytes(StandardCharsets.UTF_8));
      String key = "zstd-" + Digest.of("raw".getBytes(StandardCharsets.UTF_8)).hex();

      store.putAlias(key, blob);

      assertThat(store.getAlias(key)).contains(blob);
    }
  }

  @Test
  void lock_twoSharedHolders_bothHoldAndTagsStayHidden() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      try (StoreLock a = store.lock(Store.LockMode.SHARED, "backup", Duration.ZERO);
          StoreLock b = store.lock(Store.LockMode.SHARED, "backup", Duration.ZERO)) {
        assertThat(a.holder()).contains("jmigrate backup").contains("pid " + ProcessHandle.current().pid());
        assertThat(b.holder()).contains("jmigrate backup");
        assertThat(store.listTags()).isEmpty();
        assertThat(store.listTagNames()).hasSize(2).allMatch(n -> n.startsWith("_jmigrate-lock-shared-"));
      }
      assertThat(store.listTagNames()).isEmpty();
    }
  }

  @Test
  void lock_exclusiveWhileSharedHeld_failsLockedNamingHolder() throws Exception {
    RegistryStore.Settings s = testSettings(server.dir().resolve("none"));
    s.lockPollEvery = Duration.ofMillis(100);
    String repo = newRepo();
    try (RegistryStore store = open(server, repo, s); RegistryStore other = open(server, repo, s)) {
      try (StoreLock shared = store.lock(Store.LockMode.SHARED, "backup", Duration.ZERO)) {
        assertThatThrownBy(() -> other.lock(Store.LockMode.EXCLUSIVE, "prune", Duration.ofMillis(300)))
            .isInstanceOf(StoreException.class)
            .hasMessageContaining("is locked by jmigrate backup (shared), pid " + ProcessHandle.current().pid())
            .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.LOCKED);
        assertThat(other.listTagNames()).hasSize(1);
      }
      try (StoreLock exclusive = other.lock(Store.LockMode.EXCLUSIVE, "prune", Duration.ZERO)) {
        assertThatThrownBy(() -> store.lock(Store.LockMode.SHARED, "backup", Duration.ZERO))
            .isInstanceOf(StoreException.class)
            .hasMessageContaining("jmigrate prune (exclusive)");
      }
    }
  }

  @Test
  void lock_heldByAnotherWhoLeavesWithinWait_isTaken() throws Exception {
    RegistryStore.Settings s = testSettings(server.dir().resolve("none"));
    s.lockPollEvery = Duration.ofMillis(100);
    String repo = newRepo();
    try (RegistryStore store = open(server, repo, s); RegistryStore other = open(server, repo, s)) {
      StoreLock first = store.lock(Store.LockMode.EXCLUSIVE, "run", Duration.ZERO);
      Thread releaser = new Thread(() -> {
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        first.close();
      });
      releaser.start();

      try (StoreLock second = other.lock(Store.LockMode.EXCLUSIVE, "prune", Duration.ofSeconds(20))) {
        assertThat(second.holder()).contains("jmigrate prune");
      }
      releaser.join();
    }
  }

  @Test
  void lock_staleHolder_isIgnoredAndRemoved() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      Instant old = Instant.now().minus(Duration.ofHours(2));
      RegistryLock.Holder ghost = new RegistryLock.Holder("ghost", Store.LockMode.EXCLUSIVE, "run", "gone-host", 1,
          old, old, false);
      RegistryLock.write(store, "_jmigrate-lock-exclusive-ghost", ghost);

      try (StoreLock lock = store.lock(Store.LockMode.EXCLUSIVE, "prune", Duration.ZERO)) {
        assertThat(store.listTagNames()).hasSize(1).noneMatch(n -> n.endsWith("ghost"));
      }
    }
  }

  @Test
  void lock_registryWithoutDeletes_releaseMarksTagReleased() throws Exception {
    try (RegistryServer noDelete = RegistryServer.start(RegistryServer.Auth.NONE, false);
        RegistryStore store = open(noDelete, "jm/locks", testSettings(noDelete.dir().resolve("none")))) {
      store.lock(Store.LockMode.EXCLUSIVE, "prune", Duration.ZERO).close();

      try (StoreLock again = store.lock(Store.LockMode.EXCLUSIVE, "prune", Duration.ZERO)) {
        assertThat(again.holder()).contains("jmigrate prune");
      }
    }
  }

  @Test
  void lock_refresh_rewritesHolderTag() throws Exception {
    RegistryStore.Settings s = testSettings(server.dir().resolve("none"));
    s.lockRefreshEvery = Duration.ofMillis(200);
    try (RegistryStore store = open(server, newRepo(), s)) {
      try (StoreLock lock = store.lock(Store.LockMode.SHARED, "backup", Duration.ZERO)) {
        String tag = ((RegistryLock) lock).tag();
        Digest before = store.manifestByReference(tag).orElseThrow().digest;
        Thread.sleep(1000);
        Digest after = store.manifestByReference(tag).orElseThrow().digest;
        assertThat(after).isNotEqualTo(before);
      }
      assertThat(store.listTagNames()).isEmpty();
    }
  }

  @Test
  void mountFrom_blobInOtherRepository_mountsWithoutSendingBytes() throws Exception {
    String source = newRepo();
    try (RegistryStore from = open(source); RegistryStore to = open(newRepo())) {
      Descriptor d = upload(from, MediaTypes.OCI_LAYER_GZIP, 300_000, 11);

      boolean mounted = to.mountFrom(source, d.digest());

      assertThat(mounted).isTrue();
      assertThat(count(to, "PATCH") + count(to, "PUT")).isZero();
      assertThat(to.hasBlob(d.digest())).isTrue();
      assertThat(readAll(to.openBlob(d.digest(), d.size(), "mounted"))).hasSize(300_000);
      assertThat(to.mountFrom(source, Digest.of(new byte[] {9}))).isFalse();
    }
  }

  @Test
  void compression_layersGzipVolumesZstd() throws Exception {
    try (RegistryStore store = open(newRepo())) {
      assertThat(store.compression(Store.ContentKind.LAYER)).isEqualTo(Compression.GZIP);
      assertThat(store.compression(Store.ContentKind.VOLUME)).isEqualTo(Compression.ZSTD);
      assertThat(store.location()).isEqualTo("oci://" + server.hostPort() + "/" + store.repository());
    }
  }
}
