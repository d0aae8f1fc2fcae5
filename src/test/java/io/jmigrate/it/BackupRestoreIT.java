package io.jmigrate.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.cli.ExitCode;
import io.jmigrate.testing.Cli;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.Fidelity;
import io.jmigrate.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Tests for {@link io.jmigrate.backup.BackupRunner} and {@link io.jmigrate.restore.RestoreRunner} end to end: a
 * container with the fidelity set is backed up on host A and restored on host B, both real private daemons.
 */
@ExtendWith(DockerHosts.class)
class BackupRestoreIT {
  private static final String IMAGE = "jmigrate-test/fidelity:1";

  @TempDir
  Path tmp;

  private DockerDaemon a;
  private DockerDaemon b;
  private String repo;

  @BeforeEach
  void setUp(DockerDaemon a, @DockerHosts.B DockerDaemon b) {
    this.a = a;
    this.b = b;
    this.repo = tmp.resolve("repo").toString();
    TestImages.derived(a, IMAGE, "echo from-image > /etc/motd-from-image; mkdir -p /data; echo seed > /data/seed");
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(b);
  }

  @ParameterizedTest(name = "reader {0}, writer {1}")
  @CsvSource({"auto,auto", "archive,archive"})
  void backupThenRestore_fidelitySet_matchesOnSecondHost(String reader, String writer) throws Exception {
    a.docker("volume", "create", "--label", "owner=fidelity", "fid-data");
    a.docker("network", "create", "--label", "net=fidelity", "fidnet");
    List<String> run = new ArrayList<>(Fidelity.runArgs("fid", IMAGE, "fid-data", "fidnet", Fidelity.freePort()));
    a.docker(run.toArray(String[]::new));
    awaitHealthy(a, "fid");
    // /etc/hostname, hosts, resolv.conf and mtab are written by each engine when it creates a container.
    String[] roots = {"data", "anon", "tmp", "etc/added-in-writable-layer", "etc/passwd", "etc/group"};
    String expectedFiles = Fidelity.listing(a, "fid", roots);
    List<String> expectedConfig = config(a, "fid");

    Cli.Run backup = Cli.run("backup", "-H", a.host(), "--repo", repo, "--volume-reader", reader, "fid");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    assertThat(backup.out()).startsWith("fid ");
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "fid").strip()).isEqualTo("running");
    assertThat(a.docker("images", "-q", "jmigrate-tmp").strip()).as("temporary image removed").isEmpty();

    // Free the published host port: both daemons share this machine's network namespace.
    a.docker("stop", "fid");
    Cli.Run restore = Cli.run("restore", "-H", b.host(), "--repo", repo, "--volume-writer", writer, "fid");
    assertThat(restore.exitCode()).as(restore.toString()).isZero();
    assertThat(restore.out()).contains("healthy");

    assertThat(Fidelity.listing(b, "fid", roots)).isEqualTo(expectedFiles);
    assertThat(b.run(null, "exec", "fid", "test", "-e", "/etc/motd-from-image").exitCode)
        .as("a file deleted in the writable layer stays deleted").isNotZero();
    assertThat(b.docker("exec", "fid", "cat", "/etc/added-in-writable-layer").strip()).isEqualTo("layer");
    assertThat(b.docker("exec", "fid", "sh", "-c", "[ /data/link -ef /data/dir/file.txt ] && "
        + "[ /data/hardlink -ef /data/dir/file.txt ] && echo same").strip()).isEqualTo("same");
    assertThat(config(b, "fid")).isEqualTo(expectedConfig);
    assertThat(b.docker("volume", "inspect", "--format", "{{json .Labels}}", "fid-data").strip())
        .isEqualTo("{\"owner\":\"fidelity\"}");
    assertThat(b.docker("network", "inspect", "--format", "{{json .Labels}}", "fidnet").strip())
        .isEqualTo("{\"net\":\"fidelity\"}");
    assertThat(b.docker("inspect", "--format", "{{json .NetworkSettings.Networks.fidnet.Aliases}}", "fid"))
        .contains("fid-alias");
    String anonB = b.docker("inspect", "--format",
        "{{range .Mounts}}{{if eq .Destination \"/anon\"}}{{.Name}}{{end}}{{end}}", "fid").strip();
    String anonA = a.docker("inspect", "--format",
        "{{range .Mounts}}{{if eq .Destination \"/anon\"}}{{.Name}}{{end}}{{end}}", "fid").strip();
    assertThat(anonB).as("anonymous volume gets a fresh volume").hasSize(64).isNotEqualTo(anonA);
  }

  @ParameterizedTest(name = "writer {0}")
  @CsvSource({"auto", "archive"})
  void restore_volumeEmptiedAtSource_staysEmptyDespiteImageContent(String writer) throws Exception {
    // The image holds /data/seed: the engine seeds the new volume with it, then the container deletes it.
    a.docker("run", "-d", "--name", "emptied", "--network", "none", "-v", "emptied-data:/data", IMAGE,
        "sleep", "1000000");
    a.docker("exec", "emptied", "rm", "/data/seed");
    assertThat(a.docker("exec", "emptied", "ls", "-A", "/data").strip()).isEmpty();

    Cli.Run backup = Cli.run("backup", "-H", a.host(), "--repo", repo, "emptied");
    assertThat(backup.exitCode()).as(backup.toString()).isZero();
    Cli.Run restore = Cli.run("restore", "-H", b.host(), "--repo", repo, "--volume-writer", writer, "emptied");
    assertThat(restore.exitCode()).as(restore.toString()).isZero();

    assertThat(b.docker("exec", "emptied", "ls", "-A", "/data").strip())
        .as("the engine's copy-up must not bring back the image's files into an emptied volume").isEmpty();
    assertThat(b.docker("exec", "emptied", "ls", "-A", "/").strip()).contains("data");
  }

  @Test
  void backup_twiceUnchanged_writesNoNewContentBlobs() throws Exception {
    a.docker("run", "-d", "--name", "twice", "--network", "none", "-v", "twice-data:/data", IMAGE, "sh", "-c",
        "head -c 3000000 /dev/urandom > /data/r; exec sleep 100000");
    awaitFile(a, "twice", "/data/r");
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo, "twice").exitCode()).isZero();
    List<Path> before = blobs();
    Cli.Run second = Cli.run("backup", "-H", a.host(), "--repo", repo, "twice");
    assertThat(second.exitCode()).as(second.toString()).isZero();
    assertThat(second.err()).contains("0 B written");
    List<Path> added = blobs();
    added.removeAll(before);
    // New: image config and manifest of the new commit, document, snapshot manifest, index. No layer, no volume.
    assertThat(added).hasSizeLessThanOrEqualTo(5);
    for (Path p : added) {
      assertThat(Files.size(p)).as("only small metadata blobs are new: " + p).isLessThan(64 * 1024);
    }
    Cli.Run list = Cli.run("snapshots", "--repo", repo, "--json", "twice");
    assertThat(list.out()).contains("\"container\" : \"twice\"");
    assertThat(Cli.run("verify", "--repo", repo).exitCode()).isZero();
  }

  @Test
  void backup_unknownContainer_exitsNotFoundWithAHint() {
    Cli.Run r = Cli.run("backup", "-H", a.host(), "--repo", repo, "no-such-container");
    assertThat(r.exitCode()).isEqualTo(ExitCode.NOT_FOUND);
    assertThat(r.err()).contains("no container 'no-such-container'").contains(a.host()).contains("docker ps -a");
  }

  @Test
  void restore_nameTakenOnTarget_isRefusedBeforeAnyChange() throws Exception {
    a.docker("run", "-d", "--name", "taken", "--network", "none", IMAGE, "sleep", "100000");
    assertThat(Cli.run("backup", "-H", a.host(), "--repo", repo, "taken").exitCode()).isZero();
    b.docker("run", "-d", "--name", "taken", "--network", "none", TestImages.BASE, "sleep", "100000");
    String imagesBefore = b.docker("images", "-q");
    Cli.Run r = Cli.run("restore", "-H", b.host(), "--repo", repo, "taken");
    assertThat(r.exitCode()).isEqualTo(ExitCode.REFUSED);
    assertThat(r.err()).contains("a container named taken already exists").contains("--replace");
    assertThat(b.docker("images", "-q")).isEqualTo(imagesBefore);
  }

  private List<Path> blobs() throws Exception {
    try (Stream<Path> s = Files.list(Path.of(repo, "blobs", "sha256"))) {
      return new ArrayList<>(s.toList());
    }
  }

  static List<String> config(DockerDaemon d, String container) {
    List<String> out = new ArrayList<>();
    for (String f : Fidelity.CONFIG_FIELDS) {
      out.add(f + " = " + d.docker("inspect", "--format", f, container).strip());
    }
    return out;
  }

  static void awaitHealthy(DockerDaemon d, String container) throws InterruptedException {
    for (int i = 0; i < 120; i++) {
      String s = d.docker("inspect", "--format", "{{.State.Health.Status}}", container).strip();
      if ("healthy".equals(s)) {
        return;
      }
      Thread.sleep(250);
    }
    throw new AssertionError(container + " did not become healthy");
  }

  static void awaitFile(DockerDaemon d, String container, String path) throws InterruptedException {
    for (int i = 0; i < 120; i++) {
      if (d.run(null, "exec", container, "test", "-f", path).exitCode == 0) {
        return;
      }
      Thread.sleep(250);
    }
    throw new AssertionError(path + " did not appear in " + container);
  }
}
