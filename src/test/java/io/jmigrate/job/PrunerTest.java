package io.jmigrate.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.snapshot.RetentionPolicy;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.snapshot.Verifier;
import io.jmigrate.store.LocalStore;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import io.jmigrate.store.StoreLock;
import io.jmigrate.store.StoreOptions;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link Pruner}: retention (forget) and garbage collection on a real local store, no engine. */
class PrunerTest {
  private static final Instant NOW = Instant.parse("2026-11-20T12:00:00Z");
  private static final Instant LONG_AGO = NOW.minus(Duration.ofHours(5));

  @TempDir
  Path dir;

  private Path root;
  private LocalStore store;
  private SnapshotRepository repo;

  @BeforeEach
  void setUp() throws Exception {
    root = dir.resolve("repo");
    store = LocalStore.open(root, StoreOptions.defaults());
    repo = new SnapshotRepository(store);
  }

  @AfterEach
  void tearDown() {
    store.close();
  }

  private static Pruner pruner(boolean dryRun, Duration grace, Instant now) {
    return new Pruner(new Pruner.Options(dryRun, grace, Duration.ZERO, Clock.fixed(now, ZoneOffset.UTC)));
  }

  private static Pruner.Scope keepLast(int n) throws Exception {
    return new Pruner.Scope("test", RetentionPolicy.builder().keepLast(n).build(), ZoneOffset.UTC, c -> true);
  }

  private SnapshotSummary snap(String container, int hour, String data) throws Exception {
    return JobFixtures.publish(repo, container, Instant.parse("2026-11-1" + hour + "T03:00:00Z"), data, Map.of());
  }

  private void assertAllVerify() throws Exception {
    Verifier v = new Verifier(repo);
    for (SnapshotSummary s : repo.list()) {
      assertThat(v.verify(s).problems()).as("snapshot " + s).isEmpty();
    }
  }

  @Test
  void prune_keepLast1_forgetsOlderSnapshotsAndDeletesOnlyTheirBlobs() throws Exception {
    snap("web", 1, "web one");
    snap("web", 2, "web two");
    SnapshotSummary newest = snap("web", 3, "web three");
    SnapshotSummary db = snap("db", 1, "db one");
    JobFixtures.ageBlobs(root, LONG_AGO);
    List<String> before = JobFixtures.blobs(root);

    Pruner.Report r = pruner(false, Duration.ofHours(1), NOW).prune(store, List.of(keepLast(1)));

    assertThat(r.forgotten()).extracting(f -> f.snapshot().container()).containsExactly("web", "web");
    assertThat(repo.list()).containsExactlyInAnyOrder(newest, db);
    List<String> after = JobFixtures.blobs(root);
    // Per forgotten snapshot: its volume, document, snapshot manifest and index (the image is shared).
    assertThat(before.size() - after.size()).isEqualTo(8).isEqualTo(r.blobsDeleted());
    assertThat(r.bytesFreed()).isPositive();
    assertThat(r.youngKept()).isZero();
    assertAllVerify();
  }

  @Test
  void prune_unreferencedBlobsYoungerThanTheGrace_areKeptUntilTheyAge() throws Exception {
    snap("web", 1, "web one");
    snap("web", 2, "web two");
    // Written "now": as far as prune can tell they may belong to a backup that has not published yet.
    Pruner.Report first = pruner(false, Duration.ofHours(1), Instant.now()).prune(store, List.of(keepLast(1)));
    assertThat(first.forgotten()).hasSize(1);
    assertThat(first.blobsDeleted()).isZero();
    assertThat(first.youngKept()).isEqualTo(4);

    Pruner.Report later = pruner(false, Duration.ofHours(1), Instant.now().plus(Duration.ofHours(2)))
        .prune(store, List.of());
    assertThat(later.blobsDeleted()).isEqualTo(4);
    assertThat(later.youngKept()).isZero();
    assertAllVerify();
  }

  @Test
  void prune_blobOfABackupThatHasNotPublished_survivesAndThePublishedSnapshotVerifies() throws Exception {
    snap("web", 1, "web one");
    JobFixtures.ageBlobs(root, LONG_AGO);
    // A backup in flight: its blobs are stored, its tag not written yet. Prune runs without the lock here, to show
    // the grace period alone protects what was just written.
    Pruner p = pruner(false, Duration.ofHours(1), Instant.now());
    io.jmigrate.snapshot.Contents.Stored vol = io.jmigrate.snapshot.Contents.put(store, Store.ContentKind.VOLUME,
        "in-flight volume", null, out -> out.write("fresh volume data".getBytes()));
    Pruner.Report r = p.pruneLocked(store, List.of());
    assertThat(r.blobsDeleted()).isZero();
    assertThat(store.hasBlob(vol.blob().digest())).isTrue();
    SnapshotSummary published = snap("web", 2, "fresh volume data");
    assertThat(new Verifier(repo).verify(published).problems()).isEmpty();
  }

  @Test
  void prune_dryRun_reportsButChangesNothing() throws Exception {
    snap("web", 1, "web one");
    snap("web", 2, "web two");
    JobFixtures.ageBlobs(root, LONG_AGO);
    List<String> before = JobFixtures.blobs(root);
    List<SnapshotSummary> listed = repo.list();

    Pruner.Report r = pruner(true, Duration.ofHours(1), NOW).prune(store, List.of(keepLast(1)));

    assertThat(r.dryRun()).isTrue();
    assertThat(r.forgotten()).hasSize(1);
    assertThat(r.blobsDeleted()).isEqualTo(4);
    assertThat(JobFixtures.blobs(root)).isEqualTo(before);
    assertThat(repo.list()).isEqualTo(listed);
  }

  @Test
  void prune_noScopes_forgetsNothingAndCollectsOrphans() throws Exception {
    SnapshotSummary kept = snap("web", 1, "web one");
    io.jmigrate.snapshot.Contents.put(store, Store.ContentKind.VOLUME, "orphan", null,
        out -> out.write("left by a killed backup".getBytes()));
    JobFixtures.ageBlobs(root, LONG_AGO);

    Pruner.Report r = pruner(false, Duration.ofHours(1), NOW).prune(store, List.of());

    assertThat(r.forgotten()).isEmpty();
    assertThat(r.blobsDeleted()).isEqualTo(1);
    assertThat(repo.list()).containsExactly(kept);
    assertAllVerify();
  }

  @Test
  void prune_twoScopesOverOneContainer_keepsWhatEitherKeeps() throws Exception {
    snap("web", 1, "web one");
    SnapshotSummary second = snap("web", 2, "web two");
    SnapshotSummary third = snap("web", 3, "web three");
    JobFixtures.ageBlobs(root, LONG_AGO);

    pruner(false, Duration.ofHours(1), NOW).prune(store, List.of(keepLast(1), keepLast(2)));

    assertThat(repo.list()).containsExactly(second, third);
  }

  @Test
  void prune_unreadableManifest_deletesNothingAndSaysWhy() throws Exception {
    SnapshotSummary s = snap("web", 1, "web one");
    snap("web", 2, "web two");
    JobFixtures.ageBlobs(root, LONG_AGO);
    Files.delete(root.resolve("blobs/sha256/" + s.id().hex()));
    List<String> before = JobFixtures.blobs(root);

    assertThatThrownBy(() -> pruner(false, Duration.ZERO, NOW).prune(store, List.of()))
        .isInstanceOf(JobException.class)
        .hasMessageContaining("cannot read manifest " + s.id())
        .hasMessageContaining("nothing was deleted");
    assertThat(JobFixtures.blobs(root)).isEqualTo(before);
  }

  @Test
  void prune_junkTagFile_deletesNothingAndNamesTheTag() throws Exception {
    SnapshotSummary s = snap("web", 1, "web one");
    snap("web", 2, "web two");
    JobFixtures.ageBlobs(root, LONG_AGO);
    Files.writeString(root.resolve("tags").resolve(s.tag()), "junk");
    List<String> before = JobFixtures.blobs(root);

    assertThatThrownBy(() -> pruner(false, Duration.ZERO, NOW).prune(store, List.of(keepLast(1))))
        .isInstanceOf(JobException.class)
        .hasMessageContaining("1 tag(s) cannot be read: " + s.tag())
        .hasMessageContaining("nothing was forgotten or deleted");
    assertThat(JobFixtures.blobs(root)).as("the unreadable snapshot's blobs survive").isEqualTo(before);
  }

  @Test
  void prune_whileABackupHoldsTheLock_failsNamingIt() throws Exception {
    snap("web", 1, "web one");
    try (StoreLock held = store.lock(Store.LockMode.SHARED, "backup web", Duration.ZERO)) {
      assertThatThrownBy(() -> pruner(false, Duration.ZERO, NOW).prune(store, List.of(keepLast(1))))
          .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.kind()).isEqualTo(StoreException.Kind.LOCKED))
          .hasMessageContaining("backup web");
    }
  }

  @Test
  void forJob_labelSelection_coversContainersByTheLabelsOfTheirLatestSnapshot() throws Exception {
    JobFixtures.publish(repo, "web", NOW.minusSeconds(60), "w", Map.of("tier", "front"));
    JobFixtures.publish(repo, "db", NOW.minusSeconds(60), "d", Map.of("tier", "back"));
    JobFixtures.publish(repo, "cache", NOW.minusSeconds(60), "c", Map.of("tier", "front", "jmigrate.exclude", "true"));
    Job job = JobConfigLoader.load(new StringReader("jobs:\n  j:\n    labels: {tier: front}\n    repository: /r\n"
        + "    retention: {keep-last: 1}\n"), "t.yaml", null).job("j").orElseThrow();

    Pruner.Scope scope = Pruner.forJob(job, repo);

    assertThat(scope.containers().test("web")).isTrue();
    assertThat(scope.containers().test("db")).isFalse();
    assertThat(scope.containers().test("cache")).as("excluded by label").isFalse();
    assertThat(scope.containers().test("gone")).as("no snapshot: no labels").isFalse();
    assertThat(scope.policy()).isEqualTo(job.retention());
  }
}
