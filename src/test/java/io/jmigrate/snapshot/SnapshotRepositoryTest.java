package io.jmigrate.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Json;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreOptions;
import io.jmigrate.store.Stores;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link SnapshotRepository}. */
class SnapshotRepositoryTest {
  private static final Instant T0 = Instant.parse("2026-11-20T03:00:00Z");

  @TempDir
  Path dir;

  private Store store;
  private SnapshotRepository repo;

  @BeforeEach
  void open() throws Exception {
    store = Stores.open(dir.resolve("repo").toString(), StoreOptions.defaults());
    repo = new SnapshotRepository(store);
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void prepare_withoutPublish_isInvisible() throws Exception {
    SnapshotFixtures.prepare(repo, "web", T0, "x");
    assertThat(repo.list()).isEmpty();
  }

  @Test
  void publish_thenListAndLoad_roundTripsTheDocument() throws Exception {
    SnapshotSummary s = SnapshotFixtures.publish(repo, "web", T0);
    assertThat(s.tag()).isEqualTo("web-20261120T030000Z");
    assertThat(s.container()).isEqualTo("web");
    assertThat(s.created()).isEqualTo(T0);
    assertThat(s.consistency()).isEqualTo("pause");
    assertThat(s.host()).isEqualTo("unix:///test.sock");
    assertThat(s.size()).isPositive();
    assertThat(repo.list()).containsExactly(s);
    Snapshot loaded = repo.load(s);
    assertThat(loaded.document().container().name()).isEqualTo("web");
    assertThat(loaded.document().volumes()).hasSize(1);
    assertThat(loaded.document().volumes().get(0).labels()).containsEntry("k", "v");
    assertThat(loaded.parts()).extracting(Snapshot.Part::role)
        .contains("index", "image manifest", "snapshot manifest", "snapshot document", "image config",
            "image layer 0", "volume data");
  }

  @Test
  void publish_localRepository_isAValidOciLayoutWithTheImage() throws Exception {
    SnapshotSummary s = SnapshotFixtures.publish(repo, "web", T0);
    Path root = dir.resolve("repo");
    assertThat(Json.tree(Files.readAllBytes(root.resolve("oci-layout")), "oci-layout").path("imageLayoutVersion")
        .asText()).isEqualTo("1.0.0");
    var index = Json.tree(Files.readAllBytes(root.resolve("index.json")), "index.json");
    assertThat(index.path("manifests").get(0).path("digest").asText()).isEqualTo(s.id().toString());
    Snapshot loaded = repo.load(s);
    for (Snapshot.Part p : loaded.parts()) {
      assertThat(root.resolve("blobs/sha256/" + p.descriptor().digest().hex())).exists();
    }
  }

  @Test
  void publish_sameSecondTwice_getsDistinctTags() throws Exception {
    SnapshotSummary a = SnapshotFixtures.publish(repo, "web", T0);
    SnapshotSummary b = repo.publish(SnapshotFixtures.prepare(repo, "web", T0, "other data"));
    assertThat(b.tag()).isEqualTo("web-20261120T030000Z-2");
    assertThat(a.id()).isNotEqualTo(b.id());
  }

  @Test
  void publish_nameTakenAfterPrepare_takesTheNextFreeNameAndKeepsTheOther() throws Exception {
    // Two hosts froze a container "web" in the same second: both prepared "web-…Z"; the other published first.
    SnapshotRepository.Pending mine = SnapshotFixtures.prepare(repo, "web", T0, "mine");
    SnapshotSummary theirs = SnapshotFixtures.publish(repo, "web", T0);
    assertThat(theirs.tag()).isEqualTo(mine.tag());

    SnapshotSummary published = repo.publish(mine);

    assertThat(published.tag()).isEqualTo("web-20261120T030000Z-2");
    assertThat(published.id()).isEqualTo(mine.index().digest());
    assertThat(repo.list()).extracting(SnapshotSummary::tag, SnapshotSummary::id).containsExactly(
        org.assertj.core.groups.Tuple.tuple("web-20261120T030000Z", theirs.id()),
        org.assertj.core.groups.Tuple.tuple("web-20261120T030000Z-2", mine.index().digest()));
  }

  @Test
  void list_container_onlyThatContainersSnapshotsNotThoseOfANameItPrefixes() throws Exception {
    SnapshotSummary web = SnapshotFixtures.publish(repo, "web", T0);
    SnapshotFixtures.publish(repo, "web-2", T0);
    SnapshotFixtures.publish(repo, "db", T0);

    assertThat(repo.list("web")).containsExactly(web);
    assertThat(repo.list("/web")).containsExactly(web);
    assertThat(repo.list("cache")).isEmpty();
  }

  @Test
  void load_documentOfTheWrongShape_failsCorruptInOnePlainLine() throws Exception {
    // A document whose bytes match its digest but not the schema: written by hand, or by a broken tool.
    SnapshotSummary good = SnapshotFixtures.publish(repo, "web", T0);
    com.fasterxml.jackson.databind.node.ObjectNode index = Json.object(store.getManifest(good.id()), "index");
    com.fasterxml.jackson.databind.node.ObjectNode entry = null;
    for (com.fasterxml.jackson.databind.JsonNode m : index.path("manifests")) {
      if ("snapshot".equals(m.path("annotations").path("io.jmigrate.role").asText())) {
        entry = (com.fasterxml.jackson.databind.node.ObjectNode) m;
      }
    }
    io.jmigrate.blob.Descriptor oldManifest = Json.MAPPER.treeToValue(entry, io.jmigrate.blob.Descriptor.class);
    com.fasterxml.jackson.databind.node.ObjectNode sm = Json.object(store.getManifest(oldManifest.digest()), "sm");
    io.jmigrate.blob.Descriptor bad = store.putBlob(io.jmigrate.blob.MediaTypes.SNAPSHOT_DOCUMENT,
        "{\"schemaVersion\": 1, \"container\": 5}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    sm.set("config", Json.MAPPER.valueToTree(bad));
    byte[] smBytes = Json.bytes(sm);
    io.jmigrate.blob.Descriptor newManifest = io.jmigrate.blob.Descriptor.of(oldManifest.mediaType(),
        oldManifest.artifactType(), io.jmigrate.blob.Digest.of(smBytes), smBytes.length, oldManifest.annotations());
    store.putManifest(newManifest, smBytes);
    entry.put("digest", newManifest.digest().toString()).put("size", smBytes.length);
    byte[] indexBytes = Json.bytes(index);
    io.jmigrate.blob.Descriptor newIndex = io.jmigrate.blob.Descriptor.of(good.index().mediaType(),
        good.index().artifactType(), io.jmigrate.blob.Digest.of(indexBytes), indexBytes.length,
        good.index().annotations());
    store.putManifest(newIndex, indexBytes);
    store.putTag(io.jmigrate.store.Tag.of("web-broken", newIndex));
    SnapshotSummary broken = repo.resolve("web-broken");

    assertThatThrownBy(() -> repo.load(broken))
        .isInstanceOf(SnapshotException.class)
        .satisfies(e -> assertThat(((SnapshotException) e).kind()).isEqualTo(SnapshotException.Kind.CORRUPT))
        .hasMessageContaining("snapshot " + broken.shortId() + " document " + bad.digest().shortHex(12)
            + " is malformed: at container")
        .hasMessageContaining(store.location())
        .hasMessageContaining("run `jmigrate verify " + broken.shortId() + "`")
        .hasMessageNotContaining("io.jmigrate")
        .hasMessageNotContaining("Cannot construct")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void resolve_prefixTagOrContainer_findsTheSnapshot() throws Exception {
    SnapshotSummary old = SnapshotFixtures.publish(repo, "web", T0);
    SnapshotSummary latest = SnapshotFixtures.publish(repo, "web", T0.plusSeconds(3600));
    SnapshotFixtures.publish(repo, "db", T0);
    assertThat(repo.resolve(old.shortId())).isEqualTo(old);
    assertThat(repo.resolve(old.id().toString())).isEqualTo(old);
    assertThat(repo.resolve(old.id().hex().substring(0, 20))).isEqualTo(old);
    assertThat(repo.resolve(old.tag())).isEqualTo(old);
    assertThat(repo.resolve("web")).isEqualTo(latest);
    assertThat(repo.resolve("/web")).isEqualTo(latest);
  }

  @Test
  void resolve_unknown_saysWhatExists() throws Exception {
    SnapshotFixtures.publish(repo, "web", T0);
    assertThatThrownBy(() -> repo.resolve("nosuch")).isInstanceOf(SnapshotException.class)
        .hasMessageContaining("no snapshot 'nosuch'").hasMessageContaining("jmigrate snapshots")
        .extracting(e -> ((SnapshotException) e).kind()).isEqualTo(SnapshotException.Kind.NOT_FOUND);
  }

  @Test
  void resolve_ambiguousPrefix_listsTheCandidates() throws Exception {
    List<SnapshotSummary> all = List.of(summary("abcd" + "1".repeat(60), "web"), summary("abcd" + "2".repeat(60), "db"));
    assertThatThrownBy(() -> SnapshotRepository.resolve(all, "abcd", "file:/r")).isInstanceOf(SnapshotException.class)
        .hasMessageContaining("ambiguous").hasMessageContaining("abcd11111111 (web)")
        .hasMessageContaining("abcd22222222 (db)").hasMessageContaining("give more characters");
    assertThat(SnapshotRepository.resolve(all, "abcd2", "file:/r").container()).isEqualTo("db");
  }

  @Test
  void resolve_containerNamedLikeAnId_prefersTheName() throws Exception {
    List<SnapshotSummary> all = List.of(summary("cafe" + "1".repeat(60), "web"), summary("0".repeat(64), "cafe"));
    assertThat(SnapshotRepository.resolve(all, "cafe", "file:/r").container()).isEqualTo("cafe");
  }

  @Test
  void resolve_shortPrefix_isNotTakenAsAnId() {
    List<SnapshotSummary> all = List.of(summary("abcd" + "1".repeat(60), "web"));
    assertThatThrownBy(() -> SnapshotRepository.resolve(all, "abc", "file:/r"))
        .hasMessageContaining("no snapshot 'abc'");
  }

  private static SnapshotSummary summary(String hex, String container) {
    io.jmigrate.blob.Descriptor d = io.jmigrate.blob.Descriptor.of(io.jmigrate.blob.MediaTypes.OCI_INDEX, null,
        io.jmigrate.blob.Digest.ofHex(hex), 100, java.util.Map.of(SnapshotSummary.CONTAINER, container,
            SnapshotSummary.CREATED, T0.toString()));
    return SnapshotSummary.fromTag(io.jmigrate.store.Tag.of(container + "-" + hex.substring(0, 4), d)).orElseThrow();
  }

  @Test
  void load_corruptDocument_isReportedAsCorrupt() throws Exception {
    SnapshotSummary s = SnapshotFixtures.publish(repo, "web", T0);
    Snapshot snap = repo.load(s);
    Path doc = dir.resolve("repo/blobs/sha256/" + snap.documentBlob().digest().hex());
    byte[] b = Files.readAllBytes(doc);
    b[b.length / 2] ^= 1;
    Files.write(doc, b);
    assertThatThrownBy(() -> repo.load(s)).isInstanceOf(SnapshotException.class)
        .hasMessageContaining("snapshot " + s.shortId())
        .extracting(e -> ((SnapshotException) e).kind()).isEqualTo(SnapshotException.Kind.CORRUPT);
  }

  @Test
  void verify_flippedVolumeByte_reportsThatVolume() throws Exception {
    SnapshotSummary s = SnapshotFixtures.publish(repo, "web", T0);
    Snapshot snap = repo.load(s);
    Verifier.Report ok = new Verifier(repo).verify(s);
    assertThat(ok.ok()).isTrue();
    Path vol = dir.resolve("repo/blobs/sha256/" + snap.document().volumes().get(0).content().digest().hex());
    byte[] b = Files.readAllBytes(vol);
    b[b.length - 5] ^= 1;
    Files.write(vol, b);
    Verifier.Report bad = new Verifier(repo).verify(s);
    assertThat(bad.problems()).singleElement().asString().contains("volume data of snapshot " + s.shortId())
        .contains("corrupt");
  }

  @Test
  void publish_twoSnapshotsOfSameContent_shareTheirBlobs() throws Exception {
    SnapshotFixtures.publish(repo, "web", T0);
    long before = count(dir.resolve("repo/blobs/sha256"));
    repo.publish(SnapshotFixtures.prepare(repo, "web", T0.plusSeconds(60), "data of web at " + T0));
    // Only the new document, snapshot manifest and index are new; layer, volume, config, image manifest are shared.
    assertThat(count(dir.resolve("repo/blobs/sha256"))).isEqualTo(before + 3);
  }

  private static long count(Path p) throws Exception {
    try (Stream<Path> s = Files.list(p)) {
      return s.count();
    }
  }
}
