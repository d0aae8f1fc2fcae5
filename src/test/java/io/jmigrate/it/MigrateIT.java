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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Tests for {@link io.jmigrate.migrate.MigrationRunner} end to end through {@code jmigrate migrate}: containers
 * move from host A to host B, two real private daemons.
 */
@ExtendWith(DockerHosts.class)
class MigrateIT {
  private static final String IMAGE = "jmigrate-test/migrate:1";
  private static final Pattern LAYER_SENT = Pattern.compile("layer (\\d+)/(\\d+) \\S+ sent: .* \\((\\d+) bytes\\)");

  @TempDir
  Path tmp;

  private DockerDaemon a;
  private DockerDaemon b;

  @BeforeEach
  void setUp(DockerDaemon a, @DockerHosts.B DockerDaemon b) {
    this.a = a;
    this.b = b;
    TestImages.derived(a, IMAGE, "echo from-image > /etc/motd-from-image; mkdir -p /data; echo seed > /data/seed");
  }

  @AfterEach
  void tearDown() {
    DockerHosts.cleanAll(a);
    DockerHosts.cleanAll(b);
  }

  @ParameterizedTest(name = "reader {0}, writer {1}")
  @CsvSource({"auto,auto", "archive,archive"})
  void migrate_fidelitySet_movesAndMatches(String reader, String writer) throws Exception {
    a.docker("volume", "create", "--label", "owner=fidelity", "fid-data");
    a.docker("network", "create", "--label", "net=fidelity", "fidnet");
    int port = Fidelity.freePort();
    a.docker(Fidelity.runArgs("fid", IMAGE, "fid-data", "fidnet", port).toArray(String[]::new));
    BackupRestoreIT.awaitHealthy(a, "fid");
    String[] roots = {"data", "anon", "tmp", "etc/added-in-writable-layer", "etc/passwd", "etc/group"};
    String expectedFiles = Fidelity.listing(a, "fid", roots);
    List<String> expectedConfig = BackupRestoreIT.config(a, "fid");
    String anonA = anonymousVolume(a, "fid");

    Cli.Run r = Cli.run("migrate", a.host(), b.host(), "--volume-reader", reader, "--volume-writer", writer, "fid");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).startsWith("fid ").contains("healthy");
    assertThat(r.err()).contains("downtime").contains("to roll back: docker -H " + b.host() + " rm -f fid")
        .contains("docker -H " + a.host() + " start fid");
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "fid").strip())
        .as("the source is left stopped, not removed").isEqualTo("exited");
    assertThat(a.docker("images", "-q", "jmigrate-tmp").strip()).as("temporary images removed").isEmpty();

    assertThat(Fidelity.listing(b, "fid", roots)).isEqualTo(expectedFiles);
    assertThat(b.run(null, "exec", "fid", "test", "-e", "/etc/motd-from-image").exitCode)
        .as("a file deleted in the writable layer stays deleted").isNotZero();
    assertThat(b.docker("exec", "fid", "cat", "/etc/added-in-writable-layer").strip()).isEqualTo("layer");
    assertThat(b.docker("exec", "fid", "sh", "-c", "[ /data/link -ef /data/dir/file.txt ] && "
        + "[ /data/hardlink -ef /data/dir/file.txt ] && echo same").strip()).isEqualTo("same");
    assertThat(BackupRestoreIT.config(b, "fid")).isEqualTo(expectedConfig);
    assertThat(b.docker("volume", "inspect", "--format", "{{json .Labels}}", "fid-data").strip())
        .isEqualTo("{\"owner\":\"fidelity\"}");
    assertThat(b.docker("network", "inspect", "--format", "{{json .Labels}}", "fidnet").strip())
        .isEqualTo("{\"net\":\"fidelity\"}");
    assertThat(b.docker("inspect", "--format", "{{json .NetworkSettings.Networks.fidnet.Aliases}}", "fid"))
        .contains("fid-alias");
    assertThat(anonymousVolume(b, "fid")).as("anonymous volume gets a fresh volume").hasSize(64)
        .isNotEqualTo(anonA);
    assertThat(r.err()).contains("fid: volume fid-data sent: ").contains("fid: anonymous volume at /anon sent: ");
  }

  @Test
  void migrate_targetHasTheBaseImage_sendsOnlyTheTopLayer() throws Exception {
    for (String name : List.of("first", "second")) {
      a.docker("run", "-d", "--name", name, "--network", "none", IMAGE, "sh", "-c",
          "head -c 1048576 /dev/urandom > /payload; touch /ready; exec sleep 100000");
      BackupRestoreIT.awaitFile(a, name, "/ready");
    }
    Cli.Run first = Cli.run("migrate", a.host(), b.host(), "first");
    assertThat(first.exitCode()).as(first.toString()).isZero();
    // The image of "second" shares base and derived layers with "first", which B now has.
    Cli.Run second = Cli.run("migrate", a.host(), b.host(), "second");
    assertThat(second.exitCode()).as(second.toString()).isZero();

    List<long[]> sent = layersSent(second.err());
    assertThat(sent).as(second.err()).hasSize(1);
    assertThat(sent.get(0)[0]).as("only the top layer (3 of 3) is sent").isEqualTo(3);
    assertThat(sent.get(0)[1]).isEqualTo(3);
    // The top layer holds the 1 MiB payload and a few small files, in tar form.
    assertThat(sent.get(0)[2]).isBetween(1_048_576L, 1_048_576L + 64 * 1024);
    assertThat(second.err()).contains("second: image ").contains("1 of 3 layers to send, 2 already on");
    // B holds the base test image from the start: the first migration sends the derived layer and the top one.
    assertThat(layersSent(first.err())).as(first.err()).hasSize(2);
    assertThat(first.err()).contains("first: image ").contains("2 of 3 layers to send, 1 already on");
    assertThat(b.docker("inspect", "--format", "{{.State.Status}}", "second").strip()).isEqualTo("running");
  }

  @Test
  void migrate_nameTakenOnTarget_isRefusedBeforeTheSourceIsTouched() throws Exception {
    a.docker("run", "-d", "--name", "taken", "--network", "none", IMAGE, "sleep", "100000");
    String startedAt = startedAt(a, "taken");
    b.docker("run", "-d", "--name", "taken", "--network", "none", TestImages.BASE, "sleep", "100000");
    String imagesBefore = b.docker("images", "-q");
    String volumesBefore = b.docker("volume", "ls", "-q");

    Cli.Run r = Cli.run("migrate", a.host(), b.host(), "taken");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.REFUSED);
    assertThat(r.err()).contains("a container named taken already exists on " + b.host())
        .contains("remove or rename it, or use --replace");
    assertThat(startedAt(a, "taken")).as("the source was not stopped or restarted").isEqualTo(startedAt);
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "taken").strip()).isEqualTo("running");
    assertThat(b.docker("images", "-q")).isEqualTo(imagesBefore);
    assertThat(b.docker("volume", "ls", "-q")).isEqualTo(volumesBefore);
    assertThat(a.docker("images", "-q", "jmigrate-tmp").strip()).as("nothing committed on the source").isEmpty();
  }

  @Test
  void migrate_portTakenOnTarget_isRefusedBeforeTheSourceIsTouched() throws Exception {
    a.docker("network", "create", "portnet");
    b.docker("network", "create", "portnet-b");
    int port = Fidelity.freePort();
    a.docker("run", "-d", "--name", "web", "--network", "portnet", "-p", "127.0.0.1:" + port + ":80", IMAGE,
        "sleep", "100000");
    String startedAt = startedAt(a, "web");
    // Both daemons share this machine's network namespace: the holder on B listens on another loopback address.
    b.docker("run", "-d", "--name", "holder", "--network", "portnet-b", "-p", "127.0.0.2:" + port + ":80",
        TestImages.BASE, "sleep", "100000");

    Cli.Run r = Cli.run("migrate", a.host(), b.host(), "web");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.REFUSED);
    assertThat(r.err()).contains("host port " + port + "/tcp is already published by container holder on "
        + b.host());
    assertThat(startedAt(a, "web")).isEqualTo(startedAt);
    assertThat(b.run(null, "network", "inspect", "portnet").exitCode).as("no network created on B").isNotZero();
    assertThat(b.docker("ps", "-aq", "--filter", "name=web").strip()).isEmpty();
  }

  @Test
  void migrate_composeProject_movesTogetherAndTheServicesFindEachOther() throws Exception {
    a.docker("network", "create", "--label", "com.docker.compose.project=shop", "shop_default");
    a.docker("run", "-d", "--name", "shop-db-1", "--network", "shop_default", "--network-alias", "db",
        "--label", "com.docker.compose.project=shop", "--label", "com.docker.compose.service=db",
        "-v", "shop-db:/var/db", IMAGE, "sh", "-c", "echo rows > /var/db/table; exec sleep 100000");
    a.docker("run", "-d", "--name", "shop-web-1", "--network", "shop_default", "--network-alias", "web",
        "--label", "com.docker.compose.project=shop", "--label", "com.docker.compose.service=web",
        "--label", "com.docker.compose.depends_on=db:service_started:false", IMAGE, "sleep", "100000");
    BackupRestoreIT.awaitFile(a, "shop-db-1", "/var/db/table");

    Cli.Run r = Cli.run("migrate", a.host(), b.host(), "--project", "shop");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).contains("shop-db-1 ").contains("shop-web-1 ");
    for (String c : List.of("shop-db-1", "shop-web-1")) {
      assertThat(b.docker("inspect", "--format", "{{.State.Status}}", c).strip()).isEqualTo("running");
      assertThat(a.docker("inspect", "--format", "{{.State.Status}}", c).strip()).isEqualTo("exited");
    }
    assertThat(b.docker("exec", "shop-web-1", "ping", "-c", "1", "-W", "5", "db")).contains("1 packets received");
    assertThat(b.docker("exec", "shop-db-1", "ping", "-c", "1", "-W", "5", "web")).contains("1 packets received");
    assertThat(b.docker("exec", "shop-db-1", "cat", "/var/db/table").strip()).isEqualTo("rows");
    assertThat(b.docker("network", "inspect", "--format", "{{json .Labels}}", "shop_default"))
        .contains("com.docker.compose.project");
    String dbStarted = startedAt(b, "shop-db-1");
    String webStarted = startedAt(b, "shop-web-1");
    assertThat(dbStarted).as("db starts before web, which depends on it").isLessThan(webStarted);
    assertThat(r.err().indexOf("stopped shop-web-1, shop-db-1")).as(r.err()).isGreaterThan(0);
  }

  @Test
  void migrate_keepRunning_clonesAndResumesTheSource() throws Exception {
    a.docker("run", "-d", "--name", "clone", "--network", "none", "-v", "clone-data:/data", IMAGE, "sh", "-c",
        "echo v1 > /data/v; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "clone", "/data/v");
    String startedAt = startedAt(a, "clone");

    Cli.Run r = Cli.run("migrate", a.host(), b.host(), "--keep-running", "clone");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.err()).contains("paused clone").contains("resumed clone").contains("cloned clone");
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "clone").strip()).isEqualTo("running");
    assertThat(startedAt(a, "clone")).as("paused and resumed, not restarted").isEqualTo(startedAt);
    assertThat(b.docker("exec", "clone", "cat", "/data/v").strip()).isEqualTo("v1");
  }

  @Test
  void migrate_volumeEmptiedAtSource_staysEmptyDespiteImageContent() throws Exception {
    // The image holds /data/seed: the engine seeds the new volume with it, then the container deletes it.
    a.docker("run", "-d", "--name", "emptied", "--network", "none", "-v", "emptied-data:/data", IMAGE,
        "sleep", "1000000");
    a.docker("exec", "emptied", "rm", "/data/seed");

    Cli.Run r = Cli.run("migrate", a.host(), b.host(), "emptied");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(b.docker("exec", "emptied", "ls", "-A", "/data").strip())
        .as("the engine's copy-up must not bring back the image's files into an emptied volume").isEmpty();
  }

  @Test
  void migrate_writtenWhileStopping_theLastWritesArrive() throws Exception {
    // The container writes its volume and its writable layer as it stops: after the pre-copy, always.
    a.docker("run", "-d", "--name", "busy", "--network", "none", "--stop-timeout", "5", "-v", "busy-data:/data",
        IMAGE, "sh", "-c", "trap 'echo stopped > /data/last; echo stopped > /last; exit 0' TERM; "
            + "echo running > /data/started; while :; do sleep 0.1; done");
    BackupRestoreIT.awaitFile(a, "busy", "/data/started");

    Cli.Run r = Cli.run("migrate", a.host(), b.host(), "busy");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.err()).contains("busy: volume busy-data changed since the pre-copy, sending it again")
        .contains("busy: writable layer changed since the pre-copy, sending the new top layer");
    assertThat(b.docker("exec", "busy", "cat", "/data/last", "/last").strip()).isEqualTo("stopped\nstopped");
    assertThat(b.docker("images", "-aq", "--no-trunc").lines().distinct().count())
        .as("the base test image and the final image; the superseded pre-copy image is removed").isEqualTo(2);
  }

  @Test
  void migrate_removeSourceAndVia_snapshotsThenRemoves() throws Exception {
    a.docker("run", "-d", "--name", "gone", "--network", "none", "-v", "gone-data:/data", IMAGE, "sh", "-c",
        "echo kept > /data/f; exec sleep 100000");
    BackupRestoreIT.awaitFile(a, "gone", "/data/f");
    String repo = tmp.resolve("repo").toString();

    Cli.Run r = Cli.run("migrate", a.host(), b.host(), "--via", repo, "--remove-source", "--remove-volumes",
        "gone");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.err()).contains("snapshot ").contains(" of gone written to " + repo + " (stopped)")
        .contains("removed gone from " + a.host()).contains("removed volume gone-data from " + a.host());
    assertThat(a.run(null, "inspect", "gone").exitCode).isNotZero();
    assertThat(a.run(null, "volume", "inspect", "gone-data").exitCode).isNotZero();
    assertThat(b.docker("exec", "gone", "cat", "/data/f").strip()).isEqualTo("kept");
    Cli.Run list = Cli.run("snapshots", "--repo", repo, "--json", "gone");
    assertThat(list.out()).contains("\"container\" : \"gone\"").contains("\"consistency\" : \"stopped\"");
    assertThat(Files.isDirectory(Path.of(repo))).isTrue();
  }

  @Test
  void migrate_unknownContainer_exitsNotFound() {
    Cli.Run r = Cli.run("migrate", a.host(), b.host(), "no-such-container");
    assertThat(r.exitCode()).isEqualTo(ExitCode.NOT_FOUND);
    assertThat(r.err()).contains("no container 'no-such-container' on " + a.host()).contains("docker ps -a");
  }

  @Test
  void migrate_pausedSource_isRefusedWithWhatToDo() throws Exception {
    a.docker("run", "-d", "--name", "frozen", "--network", "none", IMAGE, "sleep", "100000");
    a.docker("pause", "frozen");
    Cli.Run r = Cli.run("migrate", a.host(), b.host(), "frozen");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.REFUSED);
    assertThat(r.err()).contains("container frozen on " + a.host() + " is paused: unpause it first");
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "frozen").strip()).isEqualTo("paused");
    a.docker("unpause", "frozen");
  }

  @Test
  void migrate_sameHostTwice_isRefused() throws Exception {
    a.docker("run", "-d", "--name", "self", "--network", "none", IMAGE, "sleep", "100000");
    Cli.Run r = Cli.run("migrate", a.host(), a.host(), "--replace", "self");
    assertThat(r.exitCode()).isEqualTo(ExitCode.REFUSED);
    assertThat(r.err()).contains("the source and the target are the same engine");
    assertThat(a.docker("inspect", "--format", "{{.State.Status}}", "self").strip()).isEqualTo("running");
  }

  @Test
  void shortForm_hostHostContainer_migrates() throws Exception {
    a.docker("run", "-d", "--name", "short", "--network", "none", IMAGE, "sleep", "100000");
    int code = io.jmigrate.cli.Main.run(a.host(), b.host(), "short");
    assertThat(code).isZero();
    assertThat(b.docker("inspect", "--format", "{{.State.Status}}", "short").strip()).isEqualTo("running");
  }

  /** [index, total, bytes] of each "layer i/n ... sent" line. */
  static List<long[]> layersSent(String err) {
    List<long[]> out = new ArrayList<>();
    Matcher m = LAYER_SENT.matcher(err);
    while (m.find()) {
      out.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))});
    }
    return out;
  }

  static String startedAt(DockerDaemon d, String container) {
    return d.docker("inspect", "--format", "{{.State.StartedAt}}", container).strip();
  }

  private static String anonymousVolume(DockerDaemon d, String container) {
    return d.docker("inspect", "--format",
        "{{range .Mounts}}{{if eq .Destination \"/anon\"}}{{.Name}}{{end}}{{end}}", container).strip();
  }
}
