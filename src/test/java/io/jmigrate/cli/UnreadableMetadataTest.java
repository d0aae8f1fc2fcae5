package io.jmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.snapshot.SnapshotFixtures;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.store.LocalStore;
import io.jmigrate.store.StoreOptions;
import io.jmigrate.store.Stores;
import io.jmigrate.testing.Cli;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for {@link VerifyCommand} and {@link SnapshotsCommand} on a local repository whose metadata cannot be read:
 * a tag file overwritten with junk, a snapshot document overwritten or gone. Each is corrupt (exit 6), named, and
 * never hides the rest.
 */
class UnreadableMetadataTest {
  private static final Instant T0 = Instant.parse("2026-11-20T03:00:00Z");

  @TempDir
  Path dir;

  private Path repo;
  private SnapshotSummary web;
  private SnapshotSummary db;

  @BeforeEach
  void twoSnapshots() throws Exception {
    repo = dir.resolve("repo");
    try (LocalStore store = (LocalStore) Stores.open(repo.toString(), StoreOptions.defaults())) {
      SnapshotRepository r = new SnapshotRepository(store);
      web = SnapshotFixtures.publish(r, "web", T0);
      db = SnapshotFixtures.publish(r, "db", T0.plusSeconds(60));
    }
  }

  private void junkTag(SnapshotSummary s) throws Exception {
    Files.writeString(repo.resolve("tags").resolve(s.tag()), "junk, not a descriptor", StandardCharsets.UTF_8);
  }

  private Path document(SnapshotSummary s) throws Exception {
    try (LocalStore store = (LocalStore) Stores.open(repo.toString(), StoreOptions.defaults())) {
      return repo.resolve("blobs/sha256")
          .resolve(new SnapshotRepository(store).load(s).documentBlob().digest().hex());
    }
  }

  @Test
  void verify_junkTagFile_exitsCorruptNamingTheTagAndVerifiesTheRest() throws Exception {
    junkTag(web);

    Cli.Run r = Cli.run("verify", "--repo", repo.toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.CORRUPT);
    assertThat(r.out()).contains("CORRUPT").contains(web.tag() + ": cannot read tag " + web.tag())
        .contains("not a valid descriptor");
    assertThat(r.out()).contains("ok       " + db.shortId());
    assertThat(r.err()).contains("1 of 2 snapshots");
  }

  @Test
  void verify_junkTagNamedExplicitly_exitsCorrupt() throws Exception {
    junkTag(web);

    Cli.Run r = Cli.run("verify", "--repo", repo.toString(), web.tag());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.CORRUPT);
    assertThat(r.out()).contains("cannot read tag " + web.tag());
  }

  @Test
  void snapshots_junkTagFile_listsTheRestSaysHowManyAndExitsNonZero() throws Exception {
    junkTag(web);

    Cli.Run text = Cli.run("snapshots", "--repo", repo.toString());
    Cli.Run json = Cli.run("snapshots", "--repo", repo.toString(), "--json");

    assertThat(text.exitCode()).as(text.toString()).isEqualTo(ExitCode.CORRUPT);
    assertThat(text.out()).contains(db.shortId()).doesNotContain(web.shortId());
    assertThat(text.err()).contains("1 tag(s) in").contains(web.tag()).contains("jmigrate verify")
        .doesNotContain("no snapshots");
    assertThat(text.err().strip().lines()).hasSize(1);
    assertThat(json.exitCode()).as(json.toString()).isEqualTo(ExitCode.CORRUPT);
    assertThat(json.out()).contains(db.id().toString());
    assertThat(json.err()).contains(web.tag());
  }

  @Test
  void snapshots_onlyTagUnreadable_doesNotSayNoSnapshots() throws Exception {
    junkTag(web);
    junkTag(db);

    Cli.Run r = Cli.run("snapshots", "--repo", repo.toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.CORRUPT);
    assertThat(r.err()).contains("2 tag(s) in").doesNotContain("no snapshots");
  }

  @Test
  void snapshotsOfContainer_itsOnlyTagUnreadable_exitsCorruptNotUnknownContainer() throws Exception {
    junkTag(web);

    Cli.Run r = Cli.run("snapshots", "--repo", repo.toString(), "web");

    // The unreadable tag may be web's snapshot: "no snapshots of 'web'" (exit 3) would be a wrong answer.
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.CORRUPT);
    assertThat(r.err()).contains("1 tag(s) in").contains(web.tag()).doesNotContain("no snapshots");
    assertThat(r.out()).doesNotContain(db.shortId());
  }

  @Test
  void verify_junkSnapshotDocument_exitsCorruptNamingTheSnapshot() throws Exception {
    Files.writeString(document(web), "junk", StandardCharsets.UTF_8);

    Cli.Run r = Cli.run("verify", "--repo", repo.toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.CORRUPT);
    assertThat(r.out()).contains("CORRUPT  " + web.shortId()).contains("document");
    assertThat(r.out()).contains("ok       " + db.shortId());
  }

  @Test
  void verify_missingSnapshotDocument_exitsCorruptAndVerifiesTheRest() throws Exception {
    Files.delete(document(web));

    Cli.Run r = Cli.run("verify", "--repo", repo.toString());

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.CORRUPT);
    assertThat(r.out()).contains("CORRUPT  " + web.shortId()).contains("document");
    assertThat(r.out()).contains("ok       " + db.shortId());
    assertThat(r.err()).contains("1 of 2 snapshots");
  }
}
