package io.jmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.Json;
import io.jmigrate.snapshot.SnapshotFixtures;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreOptions;
import io.jmigrate.store.Stores;
import io.jmigrate.testing.Cli;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link SnapshotsCommand}, on a local repository with real snapshots (no engine). */
class SnapshotsCommandTest {
  private static final Instant T0 = Instant.parse("2026-11-20T03:00:00Z");

  @TempDir
  Path tmp;

  private Path repo;
  private SnapshotSummary web;
  private String imageDigest;

  @BeforeEach
  void fill() throws Exception {
    repo = tmp.resolve("repo");
    try (Store store = Stores.open(repo.toString(), StoreOptions.defaults())) {
      SnapshotRepository snapshots = new SnapshotRepository(store);
      web = SnapshotFixtures.publish(snapshots, "web", T0);
      SnapshotFixtures.publish(snapshots, "db", T0.plusSeconds(60));
      imageDigest = snapshots.load(web).imageManifest().digest().toString();
    }
  }

  @Test
  void snapshots_containerWithoutSnapshots_exitsNotFoundNamingThoseThatHave() {
    Cli.Run r = Cli.run("snapshots", "--repo", repo.toString(), "nosuch");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.NOT_FOUND);
    assertThat(r.err()).isEqualTo("jmigrate: no snapshots of 'nosuch' in file:" + repo
        + "; it has snapshots of db, web" + System.lineSeparator());
    assertThat(r.out()).isEmpty();

    Cli.Run json = Cli.run("snapshots", "--repo", repo.toString(), "--json", "nosuch");
    assertThat(json.exitCode()).as(json.toString()).isEqualTo(ExitCode.NOT_FOUND);
    assertThat(json.out().strip()).isEqualTo("[ ]");
  }

  @Test
  void snapshots_containerWithSnapshots_listsOnlyThem() {
    Cli.Run r = Cli.run("snapshots", "--repo", repo.toString(), "web");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).contains(web.shortId()).doesNotContain(" db ").doesNotContain("IMAGE");
  }

  @Test
  void snapshotsJson_localRepository_givesTheImageDigestAndItsOciLayoutReference() throws Exception {
    Cli.Run r = Cli.run("snapshots", "--repo", repo.toString(), "--json", "web");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    JsonNode s = Json.MAPPER.readTree(r.out()).get(0);
    assertThat(s.path("id").asText()).isEqualTo(web.id().toString());
    assertThat(s.path("imageDigest").asText()).isEqualTo(imageDigest);
    assertThat(s.path("imageReference").asText()).isEqualTo("oci:" + repo + ":" + web.tag());
  }

  @Test
  void snapshotsVerbose_text_addsTheImageReference() {
    ch.qos.logback.classic.Logger log =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("io.jmigrate");
    ch.qos.logback.classic.Level before = log.getLevel();
    try {
      Cli.Run r = Cli.run("snapshots", "-v", "--repo", repo.toString());
      assertThat(r.exitCode()).as(r.toString()).isZero();
      assertThat(r.out().lines().findFirst().orElseThrow()).endsWith("  IMAGE");
      assertThat(r.out()).contains("oci:" + repo + ":" + web.tag());
    } finally {
      log.setLevel(before); // -v sets the level for the whole JVM
    }
  }

  @Test
  void imageReference_eachStoreKind_isWhatItsToolsPull() {
    Digest d = Digest.parse("sha256:" + "ab".repeat(32));
    assertThat(SnapshotsCommand.imageReference("oci://127.0.0.1:5000/backups/web", "web-1", d))
        .isEqualTo("127.0.0.1:5000/backups/web@sha256:" + "ab".repeat(32));
    assertThat(SnapshotsCommand.imageReference("file:/srv/backups", "web-20261120T030000Z", d))
        .isEqualTo("oci:/srv/backups:web-20261120T030000Z");
    assertThat(SnapshotsCommand.imageReference("s3://bucket/prefix", "web-1", d)).isNull();
  }
}
