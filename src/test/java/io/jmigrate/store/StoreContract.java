package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestMismatchException;
import io.jmigrate.blob.DigestingInputStream;
import io.jmigrate.blob.DigestingOutputStream;
import io.jmigrate.blob.MediaTypes;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The behaviour every {@link Store} must have, run by each store's test ({@code LocalStoreTest},
 * {@code S3StoreIT}, the registry store's test): round trips, deduplication, atomic publish, listing, digest
 * checks on read, deletes, concurrent writers of one blob, tags, aliases and locks.
 *
 * <p>Stores must log {@code "blob sha256:<hex> already stored, skipped"} (at DEBUG or INFO, on a logger under
 * {@code io.jmigrate.store}) when they skip a write; the write-twice tests look for that line.
 */
public abstract class StoreContract {
  protected static final ObjectMapper JSON = new ObjectMapper();
  protected static final int MIB = 1 << 20;

  /** The store under test: a fresh, empty repository per test, opened by {@link #openStore()}. */
  protected Store store;
  private ListAppender<ILoggingEvent> logs;
  private Logger storeLogger;
  private Level previousLevel;
  private final List<Store> opened = new ArrayList<>();

  /** A new, empty repository for each test. The contract closes it. */
  protected abstract Store openStore() throws Exception;

  /** Another handle on the same repository, as a second jmigrate process would open it. The contract closes it. */
  protected abstract Store reopen() throws Exception;

  /** Changes stored bytes of {@code digest} where the store keeps them (disk, server storage), keeping the size. */
  protected abstract void corrupt(Digest digest) throws Exception;

  /** Staged data left in the repository: temp files, temp objects, unfinished multipart uploads. */
  protected abstract List<String> stagingLeftovers() throws Exception;

  /** False for a store that cannot list blobs (a registry): its listBlobs must then fail with INVALID. */
  protected boolean canListBlobs() {
    return true;
  }

  @BeforeEach
  void openStoreUnderTest() throws Exception {
    storeLogger = (Logger) LoggerFactory.getLogger("io.jmigrate.store");
    previousLevel = storeLogger.getLevel();
    logs = new ListAppender<>();
    logs.start();
    storeLogger.addAppender(logs);
    storeLogger.setLevel(Level.DEBUG);
    // Captured, not printed (the test output stays at the WARN of logback-test.xml), unless asked for with
    // -Djmigrate.test.storeLogs=true.
    storeLogger.setAdditive(Boolean.getBoolean("jmigrate.test.storeLogs"));
    store = openStore();
  }

  @AfterEach
  void closeStoreUnderTest() {
    for (Store s : opened) {
      s.close();
    }
    if (store != null) {
      store.close();
    }
    storeLogger.detachAppender(logs);
    storeLogger.setLevel(previousLevel);
    storeLogger.setAdditive(true);
  }

  /** {@link #reopen()}, closed after the test. */
  protected Store second() throws Exception {
    Store s = reopen();
    opened.add(s);
    return s;
  }

  protected static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < n; i += 8) {
      long v = r.nextLong();
      for (int j = 0; j < 8 && i + j < n; j++) {
        b[i + j] = (byte) (v >>> (8 * j));
      }
    }
    return b;
  }

  protected static byte[] readAll(Store s, Descriptor d) throws Exception {
    try (InputStream in = s.openBlob(d.digest(), d.size(), "test blob")) {
      return in.readAllBytes();
    }
  }

  protected boolean loggedSkip(Digest digest) {
    return logs.list.stream().anyMatch(e -> e.getFormattedMessage().contains(digest + " already stored, skipped"));
  }

  /** Writes {@code content} through an upload in 64 KiB writes and commits it. */
  protected static Descriptor upload(Store s, byte[] content) throws Exception {
    try (BlobUpload up = s.startUpload()) {
      OutputStream out = up.stream();
      for (int off = 0; off < content.length; off += 65536) {
        out.write(content, off, Math.min(65536, content.length - off));
      }
      return up.commit(MediaTypes.VOLUME_TAR_ZSTD, Digest.of(content), content.length);
    }
  }

  // -------------------------------------------------------------------------------------------------- blobs

  @Test
  void putBlob_newContent_roundTrips() throws Exception {
    byte[] content = randomBytes(100_000, 1);

    Descriptor d = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, content);

    assertThat(d.digest()).isEqualTo(Digest.of(content));
    assertThat(d.size()).isEqualTo(content.length);
    assertThat(d.mediaType()).isEqualTo(MediaTypes.SNAPSHOT_DOCUMENT);
    assertThat(store.hasBlob(d.digest())).isTrue();
    assertThat(readAll(store, d)).isEqualTo(content);
    assertThat(readAll(second(), d)).isEqualTo(content);
  }

  @Test
  void putBlob_sameContentTwice_storedOnceAndSecondSkipped() throws Exception {
    byte[] content = randomBytes(10_000, 2);
    Descriptor first = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, content);
    assertThat(loggedSkip(first.digest())).isFalse();

    Descriptor again = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, content);

    assertThat(again).isEqualTo(first);
    assertThat(loggedSkip(first.digest())).as("the second write logs its skip").isTrue();
    if (canListBlobs()) {
      assertThat(store.listBlobs()).filteredOn(b -> b.digest().equals(first.digest())).hasSize(1);
    }
    assertThat(readAll(store, first)).isEqualTo(content);
  }

  @Test
  void startUpload_beforeCommit_invisibleThenVisibleAfterCommit() throws Exception {
    byte[] content = randomBytes(300_000, 3);
    Digest digest = Digest.of(content);
    try (BlobUpload up = store.startUpload()) {
      up.stream().write(content);

      assertThat(store.hasBlob(digest)).as("staged bytes are not visible").isFalse();
      if (canListBlobs()) {
        assertThat(store.listBlobs()).noneMatch(b -> b.digest().equals(digest));
      }

      Descriptor d = up.commit(MediaTypes.VOLUME_TAR_ZSTD, digest, content.length);
      assertThat(d).isEqualTo(Descriptor.of(MediaTypes.VOLUME_TAR_ZSTD, digest, content.length));
    }
    assertThat(store.hasBlob(digest)).isTrue();
    assertThat(readAll(store, Descriptor.of(MediaTypes.VOLUME_TAR_ZSTD, digest, content.length))).isEqualTo(content);
    assertThat(stagingLeftovers()).isEmpty();
  }

  @Test
  void startUpload_aborted_leavesNothing() throws Exception {
    byte[] content = randomBytes(200_000, 4);
    BlobUpload up = store.startUpload();
    up.stream().write(content);
    up.abort();
    up.abort();
    // close() without commit aborts too.
    try (BlobUpload other = store.startUpload()) {
      other.stream().write(content);
    }

    assertThat(store.hasBlob(Digest.of(content))).isFalse();
    assertThat(stagingLeftovers()).isEmpty();
    assertThatThrownBy(() -> up.commit(MediaTypes.VOLUME_TAR_ZSTD, Digest.of(content), content.length))
        .isInstanceOf(StoreException.class);
    assertThat(store.hasBlob(Digest.of(content))).isFalse();
  }

  @Test
  void startUpload_contentAlreadyStored_skipsAndLeavesNoStaging() throws Exception {
    byte[] content = randomBytes(150_000, 5);
    Descriptor first = upload(store, content);
    assertThat(loggedSkip(first.digest())).isFalse();

    Descriptor again = upload(second(), content);

    assertThat(again).isEqualTo(first);
    assertThat(loggedSkip(first.digest())).as("the second upload logs its skip").isTrue();
    assertThat(stagingLeftovers()).isEmpty();
    if (canListBlobs()) {
      assertThat(store.listBlobs()).filteredOn(b -> b.digest().equals(first.digest())).hasSize(1);
    }
  }

  @Test
  void commit_wrongDigest_failsAndStoresNothing() throws Exception {
    byte[] content = randomBytes(50_000, 6);
    Digest wrong = Digest.of("something else".getBytes(StandardCharsets.UTF_8));
    try (BlobUpload up = store.startUpload()) {
      up.stream().write(content);

      assertThatThrownBy(() -> up.commit(MediaTypes.VOLUME_TAR_ZSTD, wrong, content.length))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining(wrong.toString());
    }
    assertThat(store.hasBlob(wrong)).isFalse();
    assertThat(store.hasBlob(Digest.of(content))).isFalse();
    assertThat(stagingLeftovers()).isEmpty();
  }

  @Test
  void abort_fromAnotherThreadDuringWrite_writerFailsAndNothingRemains() throws Exception {
    BlobUpload up = store.startUpload();
    AtomicLong written = new AtomicLong();
    AtomicReference<Throwable> writerFailure = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      byte[] chunk = randomBytes(256 * 1024, 7);
      try {
        while (true) {
          up.stream().write(chunk);
          written.addAndGet(chunk.length);
        }
      } catch (Throwable e) {
        writerFailure.set(e);
      }
    }, "contract-writer");
    writer.start();
    // Past several S3 parts, so that a multipart upload with parts in flight is what gets aborted.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (written.get() < 20L * MIB && writer.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(written.get()).as("bytes written before the abort").isGreaterThanOrEqualTo(20L * MIB);

    up.abort();
    writer.join(TimeUnit.SECONDS.toMillis(60));

    assertThat(writer.isAlive()).as("the writer is stopped by the abort").isFalse();
    assertThat(writerFailure.get()).isInstanceOf(IOException.class);
    assertThat(stagingLeftovers()).isEmpty();
    if (canListBlobs()) {
      assertThat(store.listBlobs()).isEmpty();
    }
  }

  @Test
  void openBlob_missing_failsNotFoundNamingTheBlob() throws Exception {
    Digest missing = Digest.of("never stored".getBytes(StandardCharsets.UTF_8));

    assertThat(store.hasBlob(missing)).isFalse();
    assertThatThrownBy(() -> store.openBlob(missing, 12, "volume data of snapshot 3f2a9c1b0d4e").close())
        .isInstanceOf(StoreException.class)
        .hasMessageContaining(missing.toString())
        .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.NOT_FOUND));
  }

  @Test
  void openBlob_corruptedBytes_failsNamingTheContextAndBlob() throws Exception {
    byte[] content = randomBytes(100_000, 8);
    Descriptor d = store.putBlob(MediaTypes.VOLUME_TAR_ZSTD, content);

    corrupt(d.digest());

    assertThatThrownBy(() -> {
      try (InputStream in = store.openBlob(d.digest(), d.size(), "volume data of snapshot 3f2a9c1b0d4e")) {
        in.readAllBytes();
      }
    }).isInstanceOf(DigestMismatchException.class)
        .hasMessageContaining("volume data of snapshot 3f2a9c1b0d4e")
        .hasMessageContaining(d.digest().toString())
        .hasMessageContaining("corrupt");
  }

  @Test
  void deleteBlob_present_removesItAndAbsentIsNoError() throws Exception {
    Descriptor d = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, randomBytes(1000, 9));

    store.deleteBlob(d.digest());
    store.deleteBlob(d.digest());

    assertThat(store.hasBlob(d.digest())).isFalse();
    assertThatThrownBy(() -> store.openBlob(d.digest(), d.size(), "deleted blob").close())
        .isInstanceOf(StoreException.class);
  }

  @Test
  void listBlobs_severalBlobs_listsEachWithSizeAndTime() throws Exception {
    if (!canListBlobs()) {
      assertThatThrownBy(() -> store.listBlobs())
          .isInstanceOf(StoreException.class)
          .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.INVALID));
      return;
    }
    assertThat(store.listBlobs()).isEmpty();
    Descriptor a = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, randomBytes(10, 10));
    Descriptor b = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, randomBytes(2000, 11));
    Descriptor c = upload(store, randomBytes(70_000, 12));

    List<BlobInfo> listed = store.listBlobs();

    assertThat(listed).extracting(BlobInfo::digest).containsExactlyInAnyOrder(a.digest(), b.digest(), c.digest());
    for (BlobInfo info : listed) {
      long expected = info.digest().equals(a.digest()) ? 10 : info.digest().equals(b.digest()) ? 2000 : 70_000;
      assertThat(info.size()).isEqualTo(expected);
      assertThat(info.modified()).isNotNull();
    }
  }

  @Test
  void concurrentWriters_sameBlob_allSucceedWithOneStoredCopy() throws Exception {
    byte[] content = randomBytes(2 * MIB + 17, 13);
    Digest digest = Digest.of(content);
    int writers = 8;
    CyclicBarrier start = new CyclicBarrier(writers);
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    try {
      List<Future<Descriptor>> results = new ArrayList<>();
      for (int i = 0; i < writers; i++) {
        boolean small = i >= 6;
        Store s = i % 2 == 0 ? store : second();
        results.add(pool.submit(() -> {
          start.await(30, TimeUnit.SECONDS);
          return small ? s.putBlob(MediaTypes.VOLUME_TAR_ZSTD, content) : upload(s, content);
        }));
      }
      for (Future<Descriptor> f : results) {
        Descriptor d = f.get(120, TimeUnit.SECONDS);
        assertThat(d.digest()).isEqualTo(digest);
        assertThat(d.size()).isEqualTo(content.length);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(readAll(store, Descriptor.of(MediaTypes.VOLUME_TAR_ZSTD, digest, content.length))).isEqualTo(content);
    if (canListBlobs()) {
      assertThat(store.listBlobs()).extracting(BlobInfo::digest).containsExactly(digest);
    }
    assertThat(stagingLeftovers()).isEmpty();
  }

  @Test
  void largeStreamedBlob_64MiB_roundTripsWithoutBuffering() throws Exception {
    long size = 64L * MIB;
    Descriptor d;
    try (BlobUpload up = store.startUpload()) {
      DigestingOutputStream out = new DigestingOutputStream(up.stream());
      SplittableRandom r = new SplittableRandom(14);
      byte[] chunk = new byte[1 << 16];
      for (long done = 0; done < size; done += chunk.length) {
        for (int i = 0; i < chunk.length; i += 8) {
          long v = r.nextLong();
          for (int j = 0; j < 8; j++) {
            chunk[i + j] = (byte) (v >>> (8 * j));
          }
        }
        out.write(chunk);
      }
      d = up.commit(MediaTypes.VOLUME_TAR_ZSTD, out.digest(), out.count());
    }
    assertThat(d.size()).isEqualTo(size);
    try (DigestingInputStream in = new DigestingInputStream(store.openBlob(d.digest(), d.size(), "large blob"))) {
      in.drain();
      assertThat(in.count()).isEqualTo(size);
      assertThat(in.digest()).isEqualTo(d.digest());
    }
    assertThat(stagingLeftovers()).isEmpty();
  }

  // ---------------------------------------------------------------------------------------------- manifests

  /** A valid snapshot-like index over a manifest whose blobs exist, so that a registry accepts it too. */
  protected Descriptor storeIndex(String container, long seed) throws Exception {
    Descriptor config = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT,
        ("{\"container\":\"" + container + "\",\"seed\":" + seed + "}").getBytes(StandardCharsets.UTF_8));
    Descriptor layer = store.putBlob(MediaTypes.VOLUME_TAR_ZSTD, randomBytes(4096, seed));
    Map<String, Object> manifest = new LinkedHashMap<>();
    manifest.put("schemaVersion", 2);
    manifest.put("mediaType", MediaTypes.OCI_MANIFEST);
    manifest.put("artifactType", MediaTypes.SNAPSHOT_ARTIFACT);
    manifest.put("config", config);
    manifest.put("layers", List.of(layer));
    byte[] mbytes = JSON.writeValueAsBytes(manifest);
    Descriptor md = Descriptor.of(MediaTypes.OCI_MANIFEST, MediaTypes.SNAPSHOT_ARTIFACT, Digest.of(mbytes),
        mbytes.length, Map.of());
    store.putManifest(md, mbytes);

    Map<String, String> annotations = new LinkedHashMap<>();
    annotations.put("io.jmigrate.snapshot.container", container);
    annotations.put("io.jmigrate.snapshot.created", "2024-05-01T03:00:0" + (seed % 10) + "Z");
    annotations.put("io.jmigrate.snapshot.host", "unix:///var/run/docker.sock");
    annotations.put("io.jmigrate.snapshot.consistency", "pause");
    annotations.put("io.jmigrate.snapshot.size", Long.toString(config.size() + layer.size() + mbytes.length));
    Map<String, Object> index = new LinkedHashMap<>();
    index.put("schemaVersion", 2);
    index.put("mediaType", MediaTypes.OCI_INDEX);
    index.put("artifactType", MediaTypes.SNAPSHOT_ARTIFACT);
    index.put("manifests", List.of(md.withAnnotation("io.jmigrate.role", "snapshot")));
    index.put("annotations", annotations);
    byte[] ibytes = JSON.writeValueAsBytes(index);
    Descriptor id = Descriptor.of(MediaTypes.OCI_INDEX, MediaTypes.SNAPSHOT_ARTIFACT, Digest.of(ibytes),
        ibytes.length, annotations);
    store.putManifest(id, ibytes);
    return id;
  }

  @Test
  void exists_afterASnapshotIsTagged_isTrue() throws Exception {
    store.putTag(Tag.of("web-20240501T030000Z", storeIndex("web", 30)));

    assertThat(store.exists()).isTrue();
    assertThat(second().exists()).isTrue();
  }

  @Test
  void putManifest_storedTwice_roundTripsDigestChecked() throws Exception {
    Descriptor index = storeIndex("web", 20);
    byte[] content = store.getManifest(index.digest());

    store.putManifest(index, content);

    assertThat(Digest.of(content)).isEqualTo(index.digest());
    assertThat(second().getManifest(index.digest())).isEqualTo(content);
  }

  @Test
  void putManifest_contentNotMatchingDescriptor_rejected() {
    byte[] content = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);
    Descriptor wrong = Descriptor.of(MediaTypes.OCI_INDEX, Digest.of("x".getBytes(StandardCharsets.UTF_8)),
        content.length);

    assertThatThrownBy(() -> store.putManifest(wrong, content)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(wrong.digest().toString());
  }

  @Test
  void getManifest_missing_failsNotFound() {
    Digest missing = Digest.of("no manifest".getBytes(StandardCharsets.UTF_8));

    assertThatThrownBy(() -> store.getManifest(missing))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining(missing.toString())
        .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.NOT_FOUND));
  }

  @Test
  void getManifest_corrupted_failsCorrupt() throws Exception {
    Descriptor index = storeIndex("db", 21);

    corrupt(index.digest());

    assertThatThrownBy(() -> store.getManifest(index.digest()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining(index.digest().toString())
        .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.CORRUPT));
  }

  // --------------------------------------------------------------------------------------------------- tags

  @Test
  void putTagIfAbsent_nameTaken_returnsFalseAndKeepsTheFirst() throws Exception {
    Descriptor first = storeIndex("web", 30);
    Descriptor second = storeIndex("web", 31);

    assertThat(store.putTagIfAbsent(Tag.of("web-20240501T030000Z", first))).isTrue();
    assertThat(second().putTagIfAbsent(Tag.of("web-20240501T030000Z", second))).isFalse();

    assertThat(store.getTag("web-20240501T030000Z").orElseThrow().target().digest()).isEqualTo(first.digest());
    assertThat(store.listTags()).hasSize(1);
  }

  @Test
  void tagListing_prefix_listsOnlyTheTagsNamedSo() throws Exception {
    store.putTag(Tag.of("web-20240501T030000Z", storeIndex("web", 30)));
    store.putTag(Tag.of("web-2-20240501T030000Z", storeIndex("web-2", 31)));
    store.putTag(Tag.of("db-20240501T030000Z", storeIndex("db", 32)));

    assertThat(second().tagListing("web-").tags()).extracting(Tag::name)
        .containsExactly("web-2-20240501T030000Z", "web-20240501T030000Z");
    assertThat(second().tagListing("db-").tags()).extracting(Tag::name).containsExactly("db-20240501T030000Z");
    assertThat(second().tagListing("cache-").tags()).isEmpty();
  }

  @Test
  void putTag_published_listedWithItsAnnotations() throws Exception {
    assertThat(store.listTags()).isEmpty();
    Descriptor index = storeIndex("web", 30);

    store.putTag(Tag.of("web-20240501T030000Z", index));

    Optional<Tag> got = second().getTag("web-20240501T030000Z");
    assertThat(got).isPresent();
    assertThat(got.get().target().digest()).isEqualTo(index.digest());
    assertThat(got.get().target().annotations()).containsAllEntriesOf(index.annotations());
    List<Tag> listed = store.listTags();
    assertThat(listed).extracting(Tag::name).containsExactly("web-20240501T030000Z");
    assertThat(listed.get(0).target().annotation("io.jmigrate.snapshot.container")).isEqualTo("web");
    assertThat(listed.get(0).target().digest()).isEqualTo(index.digest());
  }

  @Test
  void putTag_existingName_replacedAtomically() throws Exception {
    Descriptor first = storeIndex("web", 31);
    Descriptor second = storeIndex("web", 32);
    store.putTag(Tag.of("web-latest", first));

    store.putTag(Tag.of("web-latest", second));

    assertThat(store.getTag("web-latest").orElseThrow().target().digest()).isEqualTo(second.digest());
    assertThat(store.listTags()).hasSize(1);
  }

  @Test
  void deleteTag_present_removesOnlyThatTag() throws Exception {
    Descriptor a = storeIndex("web", 33);
    Descriptor b = storeIndex("db", 34);
    store.putTag(Tag.of("web-1", a));
    store.putTag(Tag.of("db-1", b));

    store.deleteTag("web-1");
    store.deleteTag("web-1");

    assertThat(store.getTag("web-1")).isEmpty();
    assertThat(store.listTags()).extracting(Tag::name).containsExactly("db-1");
    assertThat(store.getManifest(a.digest())).as("deleting a tag keeps its content").isNotEmpty();
  }

  @Test
  void putTag_targetNotStored_refusedAndNothingListed() throws Exception {
    Descriptor missing = Descriptor.of(MediaTypes.OCI_INDEX, Digest.of("no such index".getBytes(
        StandardCharsets.UTF_8)), 13);

    assertThatThrownBy(() -> store.putTag(Tag.of("web-1", missing)))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining(missing.digest().toString())
        .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.NOT_FOUND));
    assertThat(store.listTags()).isEmpty();
  }

  @Test
  void getTag_missing_empty() throws Exception {
    assertThat(store.getTag("nothing-here")).isEmpty();
  }

  // ------------------------------------------------------------------------------------------------ aliases

  @Test
  void putAlias_roundTripsAndReplaces() throws Exception {
    String key = "zstd-" + Digest.of("uncompressed".getBytes(StandardCharsets.UTF_8)).hex();
    assertThat(store.getAlias(key)).isEmpty();
    Descriptor blob = store.putBlob(MediaTypes.VOLUME_TAR_ZSTD, randomBytes(500, 40))
        .withAnnotation("io.jmigrate.diffid", "sha256:" + "a".repeat(64))
        .withAnnotation("io.jmigrate.uncompressed-size", "123");

    store.putAlias(key, blob);
    assertThat(second().getAlias(key)).contains(blob);

    Descriptor other = store.putBlob(MediaTypes.VOLUME_TAR_ZSTD, randomBytes(600, 41));
    store.putAlias(key, other);
    assertThat(store.getAlias(key)).contains(other);
  }

  // -------------------------------------------------------------------------------------------------- locks

  @Test
  void lock_sharedTwice_bothHeld() throws Exception {
    try (StoreLock a = store.lock(Store.LockMode.SHARED, "backup web", Duration.ZERO);
        StoreLock b = second().lock(Store.LockMode.SHARED, "jmigrate backup db", Duration.ZERO)) {
      assertThat(a.holder()).startsWith("jmigrate backup web (shared), pid " + ProcessHandle.current().pid() + " on ");
      assertThat(b.holder()).startsWith("jmigrate backup db (shared), pid ");
    }
  }

  @Test
  void lock_exclusiveWhileShared_failsNamingTheHolder() throws Exception {
    Store other = second();
    try (StoreLock held = store.lock(Store.LockMode.SHARED, "backup web", Duration.ZERO)) {
      assertThat(held.holder()).contains("backup web").contains("(shared)");
      assertThatThrownBy(() -> other.lock(Store.LockMode.EXCLUSIVE, "prune", Duration.ZERO))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("backup web")
          .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.LOCKED));
    }
    try (StoreLock ex = other.lock(Store.LockMode.EXCLUSIVE, "prune", Duration.ZERO)) {
      assertThat(ex.holder()).contains("prune");
    }
  }

  @Test
  void lock_sharedWhileExclusive_failsAfterWaitingNamingTheHolder() throws Exception {
    Store other = second();
    try (StoreLock held = store.lock(Store.LockMode.EXCLUSIVE, "prune --keep 3", Duration.ZERO)) {
      assertThat(held.holder()).contains("prune --keep 3").contains("(exclusive)");
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> other.lock(Store.LockMode.SHARED, "backup web", Duration.ofMillis(700)))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("prune --keep 3")
          .hasMessageContaining(Long.toString(ProcessHandle.current().pid()))
          .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.LOCKED));
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("it waited").isGreaterThanOrEqualTo(
          Duration.ofMillis(700));
      assertThatThrownBy(() -> store.lock(Store.LockMode.EXCLUSIVE, "run", Duration.ZERO))
          .as("the same handle cannot take it twice either")
          .isInstanceOf(StoreException.class);
    }
  }

  @Test
  void lock_exclusiveReleasedWhileWaiting_acquiredByTheWaiter() throws Exception {
    Store other = second();
    StoreLock held = store.lock(Store.LockMode.EXCLUSIVE, "prune", Duration.ZERO);
    Thread releaser = new Thread(() -> {
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      held.close();
    });
    releaser.start();

    try (StoreLock got = other.lock(Store.LockMode.EXCLUSIVE, "run", Duration.ofSeconds(30))) {
      assertThat(got.holder()).contains("run");
    }
    releaser.join();
    held.close();
    try (StoreLock again = store.lock(Store.LockMode.SHARED, "backup", Duration.ZERO)) {
      assertThat(again.holder()).contains("backup");
    }
  }
}
