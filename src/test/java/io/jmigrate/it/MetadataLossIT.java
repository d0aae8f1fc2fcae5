package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.cli.ExitCode;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.LossyFs;
import io.jmigrate.testing.TestImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Tests for the metadata check after a volume is filled ({@link io.jmigrate.archive.MetadataCheck},
 * {@link io.jmigrate.restore.TargetBuilder#checkMetadata}): restores and a migration onto a real daemon whose
 * volumes directory is a filesystem that drops owners, modes, xattrs, ACLs and sub-second mtimes ({@link LossyFs}),
 * and onto an ordinary one.
 */
@ExtendWith(DockerHosts.class)
class MetadataLossIT {
  private static LossyFs lossyFs;
  private static DockerDaemon lossy;

  @TempDir
  Path tmp;

  private DockerDaemon a;
  private String repo;

  @BeforeAll
  static void startLossyDaemon() {
    lossyFs = LossyFs.create();
    lossy = DockerHosts.startExtra("lossy");
    lossy.kill();
    lossyFs.attach(lossy.dataRoot().resolve("volumes"));
    lossy.restart();
  }

  @AfterAll
  static void stopLossyDaemon() {
    try {
      if (lossy != null) {
        lossy.stop();
      }
    } finally {
      if (lossyFs != null) {
        lossyFs.close();
      }
    }
  }

  @BeforeEach
  void setUp(DockerDaemon a) throws Exception {
    this.a = a;
    this.repo = tmp.resolve("repo").toString();
    a.docker("volume", "create", "meta-data");
    String dir = a.docker("volume", "inspect", "--format", "{{.Mountpoint}}", "meta-data").strip();
    // Written from the host, as root: busybox has no setfattr or setfacl.
    sh("cd '" + dir + "' && mkdir dir && printf owned > owned && printf s > setuid && printf t > tagged"
        + " && printf a > acl && chown 1000:1000 owned && chmod 640 owned && chmod 4755 setuid"
        + " && chown 999:999 dir && chmod 750 dir && setfattr -n user.note -v hello tagged"
        + " && setfacl -m u:1000:rw acl"
        + " && touch -h -d '2021-02-03 04:05:06.123456789' owned setuid tagged acl dir .");
    a.docker("run", "-d", "--name", "meta", "--network", "none", "-v", "meta-data:/data", TestImages.BASE,
        "sleep", "100000");
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(lossy);
  }

  @ParameterizedTest(name = "writer {0}")
  @CsvSource({"auto", "archive"})
  void restore_ontoFilesystemThatDropsMetadata_warnsOneLineByDefaultAndFailsWhenStrict(String writer)
      throws Exception {
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo, "meta").exitCode()).isZero();

    Cli.Run r = Cli.process("-Xmx256m", "restore", "-H", lossy.host(), "--repo", repo, "--volume-writer", writer,
        "meta");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    String line = line(r.err(), "volume meta-data on " + lossy.host() + ":");
    assertThat(line).contains("the target filesystem dropped owners on 2").contains("of the 6 entries checked")
        .contains(" is 0:0 there");
    if (writer.equals("auto")) {
      // Every entry read back with lstat and lgetxattr; chmod was ignored, xattrs refused, ns cut to seconds.
      // (bindfs 1.14 ignores an mtime set with the atime left as it is, UTIME_OMIT: "mtimes on 6"; a filesystem
      // that keeps whole seconds only would give "ns mtimes on 6".)
      assertThat(line).contains("modes on ").contains("xattrs on 1").contains("ACLs on 1")
          .contains("mtimes on 6").contains("./tagged: xattr user.note: Operation not supported");
    } else {
      // The archive API shows owners, modes and whole seconds only: the rest is named as not checked.
      assertThat(line).contains("xattrs on 1, ACLs on 1 and ns mtimes on 6 entries could not be checked");
    }
    assertThat(lossy.docker("inspect", "--format", "{{.State.Status}}", "meta").strip()).isEqualTo("running");

    DockerHosts.cleanAll(lossy);
    String imagesBefore = lossy.docker("images", "-q");
    Cli.Run strict = Cli.process("-Xmx256m", "restore", "-H", lossy.host(), "--repo", repo, "--volume-writer",
        writer, "--strict-metadata", "meta");

    assertThat(strict.exitCode()).as(strict.toString()).isEqualTo(ExitCode.METADATA_LOST);
    assertThat(strict.err()).contains("the target filesystem dropped owners on").contains("--strict-metadata refuses")
        .contains("everything the restore created was removed");
    assertThat(lossy.docker("ps", "-aq")).as("no container left").isEmpty();
    assertThat(lossy.docker("volume", "ls", "-q")).as("no volume left").isEmpty();
    assertThat(lossy.docker("images", "-q")).as("no image left").isEqualTo(imagesBefore);
  }

  @Test
  void restore_ontoOrdinaryFilesystemWithStrictMetadata_readsEverythingBackAndSucceeds(@DockerHosts.B DockerDaemon b)
      throws Exception {
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo, "meta").exitCode()).isZero();
    try {
      Cli.Run r = Cli.process("-Xmx256m", "restore", "-H", b.host(), "--repo", repo, "--strict-metadata", "meta");

      assertThat(r.exitCode()).as(r.toString()).isZero();
      assertThat(r.err()).doesNotContain("dropped")
          .contains("volume meta-data: owners, modes, xattrs, ACLs and mtimes of 6 entries read back on "
              + b.host() + ": all kept");
    } finally {
      DockerHosts.cleanAll(b);
    }
  }

  @Test
  void migrate_ontoFilesystemThatDropsMetadataWithStrictMetadata_rollsBack() throws Exception {
    Cli.Run r = Cli.process("-Xmx256m", "migrate", a.host(), lossy.host(), "--strict-metadata", "meta");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.METADATA_LOST);
    assertThat(r.err()).contains("meta: volume meta-data on " + lossy.host() + ": the target filesystem dropped")
        .contains("--strict-metadata refuses").contains("rolled back: the source kept running");
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "meta").strip()).isEqualTo("running");
    assertThat(lossy.docker("ps", "-aq")).as("no container left").isEmpty();
    assertThat(lossy.docker("volume", "ls", "-q")).as("no volume left").isEmpty();
  }

  /** The one stderr line that contains {@code marker}. */
  private static String line(String err, String marker) {
    String found = null;
    for (String l : err.split("\n")) {
      if (l.contains(marker)) {
        assertThat(found).as("one line for the volume, got a second: " + l).isNull();
        found = l;
      }
    }
    assertThat(found).as("a line with '" + marker + "' in:\n" + err).isNotNull();
    return found;
  }

  private static void sh(String script) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(script + " failed: " + out);
    }
  }
}
