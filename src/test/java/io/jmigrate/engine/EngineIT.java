package io.jmigrate.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.archive.ChainIds;
import io.jmigrate.blob.Digest;
import io.jmigrate.engine.EngineException.Kind;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.TestImages;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link Engine}. */
@ExtendWith(DockerHosts.class)
class EngineIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Engine a;
  private static Engine b;
  private static DockerDaemon da;
  private static DockerDaemon db;

  @BeforeAll
  static void connect() throws EngineException {
    da = DockerHosts.hostA();
    db = DockerHosts.hostB();
    a = Engine.connect(HostSpec.resolve(da.host(), Map.of(), null));
    b = Engine.connect(HostSpec.resolve(db.host(), Map.of(), null));
  }

  @AfterAll
  static void close() {
    if (a != null) {
      a.close();
    }
    if (b != null) {
      b.close();
    }
  }

  @AfterEach
  void clean() {
    DockerHosts.cleanAll();
  }

  private static ObjectNode body(String... cmd) {
    ObjectNode c = JSON.createObjectNode().put("Image", TestImages.BASE);
    var arr = c.putArray("Cmd");
    for (String s : cmd) {
      arr.add(s);
    }
    c.putObject("HostConfig").put("NetworkMode", "none");
    return c;
  }

  // ---- connection

  @Test
  void connect_privateDaemon_negotiatesApiAndReadsInfo() {
    assertThat(a.apiVersion()).isEqualTo("1.41"); // Docker 20.10 speaks 1.41, below jmigrate's maximum
    assertThat(a.display()).isEqualTo(da.host());
    assertThat(a.version().path("ApiVersion").asText()).isEqualTo("1.41");
    assertThat(a.info().path("DockerRootDir").asText()).isEqualTo(da.dataRoot().toString());
    assertThat(a.architecture()).isEqualTo(Engine.normaliseArchitecture(System.getProperty("os.arch")));
    assertThat(a.volumeDrivers()).contains("local");
    assertThat(a.isLocal()).isTrue();
    assertThat(a.dataRoot()).contains(da.dataRoot());
    assertThat(a.freeDiskBytes().orElse(0)).isPositive();
    a.info().put("DockerRootDir", "/changed"); // a copy
    assertThat(a.info().path("DockerRootDir").asText()).isEqualTo(da.dataRoot().toString());
  }

  @Test
  void connect_missingSocket_unreachableWithHint() throws EngineException {
    HostSpec spec = HostSpec.resolve("unix:///tmp/jm-engine-none/x.sock", Map.of(), null);
    assertThatThrownBy(() -> Engine.connect(spec))
        .isInstanceOf(EngineException.class)
        .hasMessage(
            "cannot reach the Docker engine at unix:///tmp/jm-engine-none/x.sock: no such socket; is dockerd running? "
                + "(-H/DOCKER_HOST)")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNREACHABLE);
  }

  @Test
  void connect_staleSocket_unreachableConnectionRefused(@TempDir Path dir) throws Exception {
    Path sock = dir.resolve("stale.sock");
    try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.bind(UnixDomainSocketAddress.of(sock));
    } // closed: the file stays, nobody listens
    HostSpec spec = HostSpec.resolve("unix://" + sock, Map.of(), null);
    assertThatThrownBy(() -> Engine.connect(spec))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("cannot reach the Docker engine at unix://" + sock + ": ")
        .hasMessageContaining("Connection refused")
        .hasMessageEndingWith("is dockerd running? (-H/DOCKER_HOST)")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNREACHABLE);
  }

  @Test
  void call_daemonKilled_unreachable() throws Exception {
    try (DockerDaemon x = DockerHosts.startExtra("k");
        Engine e = Engine.connect(HostSpec.resolve(x.host(), Map.of(), null))) {
      assertThat(e.findContainer("nothing")).isEmpty();
      x.kill();
      assertThatThrownBy(() -> e.inspectContainer("nothing"))
          .isInstanceOf(EngineException.class)
          .hasMessageStartingWith("cannot reach the Docker engine at " + x.host())
          .extracting(t -> ((EngineException) t).kind())
          .isEqualTo(Kind.UNREACHABLE);
    }
  }

  @Test
  void close_twice_isHarmlessAndLaterCallsFail() throws Exception {
    Engine e = Engine.connect(HostSpec.resolve(da.host(), Map.of(), null));
    e.close();
    e.close();
    assertThatThrownBy(() -> e.inspectContainer("x")).hasMessageContaining("the connection is closed");
  }

  // ---- containers

  @Test
  void containers_lifecycle_worksAndKeepsUnknownFields() throws Exception {
    ObjectNode body = body("sleep", "600");
    body.putObject("Labels").put("jm.test", "lifecycle");
    body.put("StopSignal", "SIGKILL");
    body.put("SomeFieldTheEngineIgnores", "x");
    String id = a.createContainer("jm-life", body);
    assertThat(id).hasSize(64);

    ObjectNode inspect = a.inspectContainer("jm-life");
    assertThat(inspect.path("Id").asText()).isEqualTo(id);
    assertThat(inspect.path("Config").path("Labels").path("jm.test").asText()).isEqualTo("lifecycle");
    assertThat(a.findContainer("jm-life")).isPresent();
    assertThat(a.findContainer("jm-nothing")).isEmpty();

    assertThat(a.listContainers(false, Map.of("label", List.of("jm.test=lifecycle")))).isEmpty();
    List<ObjectNode> all = a.listContainers(true, Map.of("label", List.of("jm.test=lifecycle")));
    assertThat(all).extracting(n -> n.path("Id").asText()).containsExactly(id);

    a.startContainer("jm-life");
    a.startContainer("jm-life"); // already started (304) is fine
    assertThat(a.inspectContainer(id).path("State").path("Running").asBoolean()).isTrue();
    a.pauseContainer(id);
    assertThat(a.inspectContainer(id).path("State").path("Paused").asBoolean()).isTrue();
    a.unpauseContainer(id);
    assertThat(a.inspectContainer(id).path("State").path("Status").asText()).isEqualTo("running");

    a.renameContainer("jm-life", "jm-life2");
    assertThat(a.inspectContainer(id).path("Name").asText()).isEqualTo("/jm-life2");

    a.stopContainer("jm-life2", Duration.ofSeconds(1));
    a.stopContainer("jm-life2", Duration.ofSeconds(1)); // already stopped (304) is fine
    assertThat(a.inspectContainer(id).path("State").path("Running").asBoolean()).isFalse();

    a.removeContainer(id, false, true);
    assertThat(a.findContainer(id)).isEmpty();
    a.removeContainer(id, true, true); // absent is not an error
  }

  @Test
  void createContainer_nameTaken_conflictNamingTheContainerAndHost() throws Exception {
    a.createContainer("jm-dup", body("true"));
    assertThatThrownBy(() -> a.createContainer("jm-dup", body("true")))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("cannot create container jm-dup on " + da.host() + ": ")
        .hasMessageContaining("is already in use")
        .satisfies(
            t -> {
              assertThat(((EngineException) t).kind()).isEqualTo(Kind.CONFLICT);
              assertThat(((EngineException) t).status()).isEqualTo(409);
            });
  }

  @Test
  void inspectContainer_missing_notFoundWithEngineMessage() {
    assertThatThrownBy(() -> a.inspectContainer("jm-missing"))
        .isInstanceOf(EngineException.class)
        .hasMessage("cannot inspect container jm-missing on " + da.host() + ": No such container: jm-missing")
        .extracting(t -> ((EngineException) t).kind())
        .isEqualTo(Kind.NOT_FOUND);
  }

  @Test
  void pauseContainer_notRunning_conflict() throws Exception {
    a.createContainer("jm-idle", body("true"));
    assertThatThrownBy(() -> a.pauseContainer("jm-idle"))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("cannot pause container jm-idle on " + da.host() + ": ")
        .hasMessageContaining("is not running")
        .extracting(t -> ((EngineException) t).kind())
        .isEqualTo(Kind.CONFLICT);
  }

  @Test
  void killAndWait_runningContainer_returnsExitCode() throws Exception {
    a.createContainer("jm-wait", body("sh", "-c", "exit 7"));
    a.startContainer("jm-wait");
    assertThat(a.waitContainer("jm-wait")).isEqualTo(7);

    a.createContainer("jm-kill", body("sleep", "600"));
    a.startContainer("jm-kill");
    a.killContainer("jm-kill", "SIGKILL");
    assertThat(a.waitContainer("jm-kill")).isEqualTo(137);
  }

  @Test
  void exec_outputAndExitCode_demuxedLineByLine() throws Exception {
    a.createContainer("jm-exec", body("sleep", "600"));
    a.startContainer("jm-exec");
    List<String> lines = Collections.synchronizedList(new ArrayList<>());
    Engine.ExecResult r =
        a.exec(
            "jm-exec",
            List.of("sh", "-c", "echo one; echo two >&2; printf 'three\\nfour'; exit 3"),
            Duration.ofMinutes(1),
            lines::add);
    assertThat(r.timedOut()).isFalse();
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(lines).containsExactlyInAnyOrder("one", "two", "three", "four");
    assertThat(lines.indexOf("three")).isLessThan(lines.indexOf("four"));
  }

  @Test
  void exec_timeout_returnsTimedOut() throws Exception {
    a.createContainer("jm-exec2", body("sleep", "600"));
    a.startContainer("jm-exec2");
    List<String> lines = new ArrayList<>();
    Engine.ExecResult r =
        a.exec("jm-exec2", List.of("sh", "-c", "echo started; sleep 60"), Duration.ofSeconds(2), lines::add);
    assertThat(r.timedOut()).isTrue();
    assertThat(r.exitCode()).isEqualTo(-1);
    assertThat(lines).containsExactly("started");
  }

  @Test
  void exec_stoppedContainer_conflict() throws Exception {
    a.createContainer("jm-exec3", body("true"));
    assertThatThrownBy(() -> a.exec("jm-exec3", List.of("true"), Duration.ofSeconds(10), l -> {}))
        .isInstanceOf(EngineException.class)
        .hasMessageContaining("jm-exec3")
        .extracting(t -> ((EngineException) t).kind())
        .isEqualTo(Kind.CONFLICT);
  }

  // ---- commit, images, save and load

  @Test
  void commit_deletedAndAddedFiles_deletionStaysInTheNewLayer() throws Exception {
    TestImages.derived(da, "jmigrate-test/two:1", "echo base > /etc/marker; mkdir /data; echo keep > /data/keep");
    ObjectNode cc = body("sh", "-c", "rm /etc/marker; echo new > /data/new; sleep 600");
    cc.put("Image", "jmigrate-test/two:1");
    a.createContainer("jm-commit", cc);
    a.startContainer("jm-commit");
    // Wait until the shell did its work: the exec sees the files.
    waitForFile(a, "jm-commit", "/data/new");

    String id = a.commit("jm-commit", "jmigrate-test/committed", "1", true);
    assertThat(id).startsWith("sha256:");
    assertThat(a.inspectContainer("jm-commit").path("State").path("Running").asBoolean()).isTrue();
    ObjectNode img = a.inspectImage(id);
    assertThat(img.path("RootFS").path("Layers")).hasSize(3);
    assertThat(img.path("RepoTags").get(0).asText()).isEqualTo("jmigrate-test/committed:1");

    String out = da.docker("run", "--rm", "--network", "none", "--entrypoint", "sh", "jmigrate-test/committed:1",
        "-c", "ls /etc/marker 2>&1; cat /data/new /data/keep");
    assertThat(out).contains("No such file or directory").contains("new\nkeep");
  }

  @Test
  void images_tagInspectRemove_andNotFound() throws Exception {
    String base = TestImages.base(da);
    a.tagImage(TestImages.BASE, "jmigrate-test/tagged", "x");
    assertThat(a.inspectImage("jmigrate-test/tagged:x").path("Id").asText()).isEqualTo(base);
    assertThat(a.findImage("jmigrate-test/none:1")).isEmpty();
    assertThat(a.listImages(false)).extracting(n -> n.path("Id").asText()).contains(base);
    a.removeImage("jmigrate-test/tagged:x", false);
    assertThat(a.findImage("jmigrate-test/tagged:x")).isEmpty();
    a.removeImage("jmigrate-test/tagged:x", false); // absent is not an error
    assertThatThrownBy(() -> a.inspectImage("jmigrate-test/none:1"))
        .hasMessageStartingWith("cannot inspect image jmigrate-test/none:1 on " + da.host() + ": ")
        .extracting(t -> ((EngineException) t).kind())
        .isEqualTo(Kind.NOT_FOUND);
  }

  @Test
  void removeImage_usedByContainer_conflict() throws Exception {
    String id = TestImages.derived(da, "jmigrate-test/used:1", "touch /used");
    ObjectNode c = body("true");
    c.put("Image", "jmigrate-test/used:1");
    a.createContainer("jm-user2", c);
    assertThatThrownBy(() -> a.removeImage(id, false))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("cannot remove image " + id + " on " + da.host() + ": ")
        .extracting(t -> ((EngineException) t).kind())
        .isEqualTo(Kind.CONFLICT);
  }

  @Test
  void saveThenLoad_fromAToB_streamsTheImageAcross() throws Exception {
    String id = TestImages.derived(da, "jmigrate-test/trip:1", "dd if=/dev/urandom of=/blob bs=1M count=8");
    assertThat(b.findImage("jmigrate-test/trip:1")).isEmpty();
    List<String> loaded;
    // The save stream of A is the request body of the load on B: both transfers are in flight at once.
    try (InputStream tar = a.saveImage("jmigrate-test/trip:1")) {
      loaded = b.loadImage(tar);
    }
    assertThat(loaded).contains("jmigrate-test/trip:1");
    ObjectNode onB = b.inspectImage("jmigrate-test/trip:1");
    assertThat(onB.path("Id").asText()).isEqualTo(id);
    assertThat(onB.path("RootFS").path("Layers")).isEqualTo(a.inspectImage(id).path("RootFS").path("Layers"));
    assertThat(db.docker("run", "--rm", "--network", "none", "jmigrate-test/trip:1", "stat", "-c", "%s", "/blob"))
        .isEqualTo(Integer.toString(8 << 20));
  }

  @Test
  void loadImage_thinTarOntoHostWithTheBase_loads() throws Exception {
    TestImages.derived(da, "jmigrate-test/thin:1", "echo top > /top");
    List<Digest> diffs = diffIds(a.inspectImage("jmigrate-test/thin:1"));
    Digest baseChain = ChainIds.of(diffs).get(0);
    assertThat(b.layerChainIds()).contains(baseChain);
    assertThat(b.layerChainIds()).doesNotContain(ChainIds.of(diffs).get(1));

    // Drop the base layer's layer.tar: B has that chain already (docs/engine-notes.md, "Load skips layers").
    byte[] thin = withoutBaseLayer(a, "jmigrate-test/thin:1");
    assertThat(b.loadImage(new ByteArrayInputStream(thin))).contains("jmigrate-test/thin:1");
    assertThat(db.docker("run", "--rm", "--network", "none", "jmigrate-test/thin:1", "cat", "/top")).isEqualTo("top");
    assertThat(b.layerChainIds()).containsAll(ChainIds.of(diffs));
  }

  @Test
  void loadImage_missingLayerFile_throwsTheEngineError() throws Exception {
    // A manifest naming a layer file that the tar lacks, on a chain nobody has: the engine answers 200 and
    // reports the failure in the body.
    String cfg =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
            + "[\"sha256:" + "ab".repeat(32) + "\"]}}";
    Digest cfgDigest = Digest.of(cfg.getBytes(StandardCharsets.UTF_8));
    String manifest =
        "[{\"Config\":\"" + cfgDigest.hex() + ".json\",\"RepoTags\":[\"jmigrate-test/broken:1\"],"
            + "\"Layers\":[\"nothere/layer.tar\"]}]";
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(bytes)) {
      addFile(t, cfgDigest.hex() + ".json", cfg.getBytes(StandardCharsets.UTF_8));
      addFile(t, "manifest.json", manifest.getBytes(StandardCharsets.UTF_8));
    }
    assertThatThrownBy(() -> b.loadImage(new ByteArrayInputStream(bytes.toByteArray())))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("cannot load the image on " + db.host() + ": ")
        .hasMessageContaining("nothere/layer.tar")
        .extracting(t -> ((EngineException) t).kind())
        .isEqualTo(Kind.FAILED);
    assertThat(b.findImage("jmigrate-test/broken:1")).isEmpty();
  }

  @Test
  void loadImage_leavesTheCallersStreamOpen() throws Exception {
    TestImages.derived(da, "jmigrate-test/open:1", "touch /o");
    ByteArrayOutputStream saved = new ByteArrayOutputStream();
    try (InputStream in = a.saveImage("jmigrate-test/open:1")) {
      in.transferTo(saved);
    }
    boolean[] closed = {false};
    InputStream tar =
        new ByteArrayInputStream(saved.toByteArray()) {
          @Override
          public void close() {
            closed[0] = true;
          }
        };
    b.loadImage(tar);
    assertThat(closed[0]).isFalse();
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES) // a leaked connection would hang the pool, not slow it
  void saveImage_closedEarly_releasesTheConnection() throws Exception {
    TestImages.derived(da, "jmigrate-test/early:1", "dd if=/dev/urandom of=/blob bs=1M count=4");
    for (int i = 0; i < 80; i++) {
      try (InputStream in = a.saveImage("jmigrate-test/early:1")) {
        assertThat(in.readNBytes(512)).hasSize(512);
      }
    }
    assertThat(a.inspectImage("jmigrate-test/early:1")).isNotNull();
  }

  @Test
  void saveImage_missing_notFound() {
    assertThatThrownBy(() -> a.saveImage("jmigrate-test/none:1"))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("cannot save image jmigrate-test/none:1 on " + da.host() + ": ")
        .extracting(t -> ((EngineException) t).kind())
        .isEqualTo(Kind.NOT_FOUND);
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES) // a hang is the failure this test looks for
  void loadImage_daemonKilledMidLoad_unreachableInsteadOfHanging() throws Exception {
    try (DockerDaemon x = DockerHosts.startExtra("ml");
        Engine e = Engine.connect(HostSpec.resolve(x.host(), Map.of(), null))) {
      var in = new java.io.PipedInputStream(1 << 16);
      var out = new java.io.PipedOutputStream(in);
      java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
      ExecutorService ex = Executors.newFixedThreadPool(2);
      try {
        ex.submit(
            () -> {
              try (TarArchiveOutputStream t = new TarArchiveOutputStream(out)) {
                TarArchiveEntry en = new TarArchiveEntry("0123/layer.tar");
                en.setSize(4L << 30);
                t.putArchiveEntry(en);
                byte[] chunk = new byte[1 << 16];
                while (true) {
                  t.write(chunk);
                  written.addAndGet(chunk.length);
                }
              }
            });
        ex.submit(
            () -> {
              while (written.get() < (64L << 20)) {
                Thread.sleep(20);
              }
              x.kill();
              return null;
            });
        assertThatThrownBy(() -> e.loadImage(in))
            .isInstanceOf(EngineException.class)
            .hasMessageStartingWith("cannot load an image on " + x.host() + ": ")
            .extracting(t -> ((EngineException) t).kind())
            .isEqualTo(Kind.UNREACHABLE);
      } finally {
        in.close(); // unblocks the writer
        ex.shutdownNow();
      }
    }
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void saveImage_daemonKilledMidStream_ioExceptionNamingTheImage() throws Exception {
    try (DockerDaemon x = DockerHosts.startExtra("ms");
        Engine e = Engine.connect(HostSpec.resolve(x.host(), Map.of(), null))) {
      TestImages.derived(x, "jmigrate-test/big:1", "dd if=/dev/urandom of=/blob bs=1M count=200");
      try (InputStream in = e.saveImage("jmigrate-test/big:1")) {
        assertThat(in.readNBytes(1 << 20)).hasSize(1 << 20);
        x.kill();
        assertThatThrownBy(() -> in.transferTo(java.io.OutputStream.nullOutputStream()))
            .isInstanceOf(IOException.class)
            .hasMessageStartingWith("cannot save image jmigrate-test/big:1 on " + x.host() + ": the transfer broke (")
            .hasMessageEndingWith("); is dockerd still running?");
      }
    }
  }

  // ---- volumes and networks

  @Test
  void volumes_createFindListRemove() throws Exception {
    ObjectNode v = JSON.createObjectNode().put("Name", "jm-vol").put("Driver", "local");
    v.putObject("Labels").put("jm.test", "vol");
    ObjectNode created = a.createVolume(v);
    assertThat(created.path("Name").asText()).isEqualTo("jm-vol");
    assertThat(a.findVolume("jm-vol").orElseThrow().path("Labels").path("jm.test").asText()).isEqualTo("vol");
    assertThat(a.listVolumes(Map.of("label", List.of("jm.test=vol"))))
        .extracting(n -> n.path("Name").asText())
        .containsExactly("jm-vol");
    assertThat(a.listVolumes(Map.of())).isNotEmpty();
    a.removeVolume("jm-vol", false);
    assertThat(a.findVolume("jm-vol")).isEmpty();
    a.removeVolume("jm-vol", false);
  }

  @Test
  void removeVolume_inUse_conflict() throws Exception {
    a.createVolume(JSON.createObjectNode().put("Name", "jm-busy"));
    ObjectNode c = body("true");
    ((ObjectNode) c.path("HostConfig")).putArray("Binds").add("jm-busy:/data");
    a.createContainer("jm-vol-user", c);
    assertThatThrownBy(() -> a.removeVolume("jm-busy", false))
        .hasMessageStartingWith("cannot remove volume jm-busy on " + da.host() + ": ")
        .extracting(t -> ((EngineException) t).kind())
        .isEqualTo(Kind.CONFLICT);
  }

  @Test
  void networks_createConnectDisconnectRemove() throws Exception {
    ObjectNode n = JSON.createObjectNode().put("Name", "jm-net").put("Driver", "bridge");
    n.putObject("Labels").put("jm.test", "net");
    String id = a.createNetwork(n);
    assertThat(a.findNetwork("jm-net").orElseThrow().path("Id").asText()).isEqualTo(id);
    assertThat(a.listNetworks(Map.of("label", List.of("jm.test=net"))))
        .extracting(x -> x.path("Name").asText())
        .containsExactly("jm-net");

    ObjectNode c = body("sleep", "600");
    ((ObjectNode) c.path("HostConfig")).put("NetworkMode", "jm-net");
    a.createContainer("jm-netc", c);
    a.createNetwork(JSON.createObjectNode().put("Name", "jm-net2"));
    ObjectNode ep = JSON.createObjectNode();
    ep.putArray("Aliases").add("db-alias");
    a.connectNetwork("jm-net2", "jm-netc", ep);
    JsonNode nets = a.inspectContainer("jm-netc").path("NetworkSettings").path("Networks");
    assertThat(nets.has("jm-net2")).isTrue();
    assertThat(nets.path("jm-net2").path("Aliases").toString()).contains("db-alias");

    a.disconnectNetwork("jm-net2", "jm-netc", false);
    assertThat(a.inspectContainer("jm-netc").path("NetworkSettings").path("Networks").has("jm-net2")).isFalse();
    a.removeNetwork("jm-net2");
    assertThat(a.findNetwork("jm-net2")).isEmpty();
    a.removeNetwork("jm-net2");
  }

  // ---- archive

  @Test
  void archive_putThenGetOnCreatedContainer_keepsContentOwnerAndMode() throws Exception {
    a.createVolume(JSON.createObjectNode().put("Name", "jm-arch"));
    ObjectNode c = body("true");
    ((ObjectNode) c.path("HostConfig")).putArray("Binds").add("jm-arch:/data");
    a.createContainer("jm-archive", c); // created, never started

    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(tar)) {
      TarArchiveEntry d = new TarArchiveEntry("sub/");
      d.setIds(1234, 4321);
      d.setMode(040750);
      t.putArchiveEntry(d);
      t.closeArchiveEntry();
      TarArchiveEntry f = new TarArchiveEntry("sub/hello.txt");
      byte[] content = "hello archive\n".getBytes(StandardCharsets.UTF_8);
      f.setSize(content.length);
      f.setIds(1234, 4321);
      f.setMode(0100640);
      t.putArchiveEntry(f);
      t.write(content);
      t.closeArchiveEntry();
    }
    a.putArchive("jm-archive", "/data", new ByteArrayInputStream(tar.toByteArray()));

    Map<String, TarArchiveEntry> entries = new HashMap<>();
    Map<String, String> contents = new HashMap<>();
    try (InputStream in = a.getArchive("jm-archive", "/data");
        TarArchiveInputStream t = new TarArchiveInputStream(in)) {
      TarArchiveEntry e;
      while ((e = t.getNextEntry()) != null) {
        entries.put(e.getName(), e);
        if (e.isFile()) {
          contents.put(e.getName(), new String(t.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
    }
    assertThat(entries).containsKeys("data/", "data/sub/", "data/sub/hello.txt");
    TarArchiveEntry f = entries.get("data/sub/hello.txt");
    assertThat(f.getLongUserId()).isEqualTo(1234);
    assertThat(f.getLongGroupId()).isEqualTo(4321);
    assertThat(f.getMode() & 07777).isEqualTo(0640);
    assertThat(entries.get("data/sub/").getMode() & 07777).isEqualTo(0750);
    assertThat(contents.get("data/sub/hello.txt")).isEqualTo("hello archive\n");
  }

  @Test
  void putArchive_missingPath_notFoundNamingPathAndContainer() throws Exception {
    a.createContainer("jm-archive2", body("true"));
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(tar)) {
      addFile(t, "x", new byte[] {1});
    }
    assertThatThrownBy(() -> a.putArchive("jm-archive2", "/no/such/dir", new ByteArrayInputStream(tar.toByteArray())))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("cannot write /no/such/dir into container jm-archive2 on " + da.host() + ": ")
        .extracting(t -> ((EngineException) t).kind())
        .isEqualTo(Kind.NOT_FOUND);
  }

  @Test
  void putArchive_missingPathWithLargeBody_stillReportsTheEnginesAnswer() throws Exception {
    // The engine answers 404 before reading the body; the caller must see that answer, not a broken pipe.
    a.createContainer("jm-archive3", body("true"));
    long size = 200L << 20;
    var pipeIn = new java.io.PipedInputStream(1 << 16);
    var pipeOut = new java.io.PipedOutputStream(pipeIn);
    ExecutorService ex = Executors.newSingleThreadExecutor();
    try {
      ex.submit(
          () -> {
            try (TarArchiveOutputStream t = new TarArchiveOutputStream(pipeOut)) {
              TarArchiveEntry e = new TarArchiveEntry("big.bin");
              e.setSize(size);
              t.putArchiveEntry(e);
              byte[] chunk = new byte[1 << 16];
              for (long w = 0; w < size; w += chunk.length) {
                t.write(chunk);
              }
              t.closeArchiveEntry();
            }
            return null;
          });
      assertThatThrownBy(() -> a.putArchive("jm-archive3", "/no/such/dir", pipeIn))
          .isInstanceOf(EngineException.class)
          .hasMessageStartingWith("cannot write /no/such/dir into container jm-archive3 on " + da.host() + ": ")
          .extracting(t -> ((EngineException) t).kind())
          .isEqualTo(Kind.NOT_FOUND);
    } finally {
      pipeIn.close();
      ex.shutdownNow();
    }
  }

  @Test
  void putArchive_largeStream_isNotBufferedWhole() throws Exception {
    // 300 MiB through a 256 MiB heap: only a streamed body gets through.
    a.createVolume(JSON.createObjectNode().put("Name", "jm-big"));
    ObjectNode c = body("true");
    ((ObjectNode) c.path("HostConfig")).putArray("Binds").add("jm-big:/data");
    a.createContainer("jm-big", c);
    long size = 300L << 20;
    var pipeIn = new java.io.PipedInputStream(1 << 16);
    var pipeOut = new java.io.PipedOutputStream(pipeIn);
    ExecutorService ex = Executors.newSingleThreadExecutor();
    try {
      Future<?> writer =
          ex.submit(
              () -> {
                try (TarArchiveOutputStream t = new TarArchiveOutputStream(pipeOut)) {
                  TarArchiveEntry e = new TarArchiveEntry("big.bin");
                  e.setSize(size);
                  t.putArchiveEntry(e);
                  byte[] chunk = new byte[1 << 16];
                  for (long w = 0; w < size; w += chunk.length) {
                    chunk[0] = (byte) w;
                    t.write(chunk);
                  }
                  t.closeArchiveEntry();
                }
                return null;
              });
      a.putArchive("jm-big", "/data", pipeIn);
      writer.get();
    } finally {
      ex.shutdownNow();
      pipeIn.close();
    }
    long seen = 0;
    try (InputStream in = a.getArchive("jm-big", "/data/big.bin");
        TarArchiveInputStream t = new TarArchiveInputStream(in)) {
      TarArchiveEntry e = t.getNextEntry();
      assertThat(e.getName()).isEqualTo("big.bin");
      byte[] buf = new byte[1 << 16];
      int r;
      while ((r = t.read(buf)) > 0) {
        seen += r;
      }
    }
    assertThat(seen).isEqualTo(size);
  }

  // ---- concurrency

  @Test
  void engine_manyThreads_callsSucceedConcurrently() throws Exception {
    a.createContainer("jm-conc", body("true"));
    ExecutorService ex = Executors.newFixedThreadPool(8);
    try {
      List<Future<String>> fs = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        fs.add(ex.submit(() -> a.inspectContainer("jm-conc").path("Name").asText()));
      }
      for (Future<String> f : fs) {
        assertThat(f.get()).isEqualTo("/jm-conc");
      }
    } finally {
      ex.shutdownNow();
    }
  }

  // ---- helpers

  private static void waitForFile(Engine e, String container, String path) throws Exception {
    for (int i = 0; i < 100; i++) {
      if (e.exec(container, List.of("test", "-e", path), Duration.ofSeconds(10), l -> {}).exitCode() == 0) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(path + " never appeared in " + container);
  }

  private static List<Digest> diffIds(ObjectNode image) {
    List<Digest> out = new ArrayList<>();
    image.path("RootFS").path("Layers").forEach(l -> out.add(Digest.parse(l.asText())));
    return out;
  }

  private static void addFile(TarArchiveOutputStream t, String name, byte[] content) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setSize(content.length);
    t.putArchiveEntry(e);
    t.write(content);
    t.closeArchiveEntry();
  }

  /** The saved tar of {@code ref} without the layer.tar of its bottom layer (legacy layout of Docker 20.10). */
  private static byte[] withoutBaseLayer(Engine e, String ref) throws Exception {
    ByteArrayOutputStream full = new ByteArrayOutputStream();
    try (InputStream in = e.saveImage(ref)) {
      in.transferTo(full);
    }
    // Find the bottom layer's path from manifest.json.
    String bottom = null;
    try (TarArchiveInputStream t = new TarArchiveInputStream(new ByteArrayInputStream(full.toByteArray()))) {
      TarArchiveEntry en;
      while ((en = t.getNextEntry()) != null) {
        if (en.getName().equals("manifest.json")) {
          bottom = JSON.readTree(t.readAllBytes()).get(0).path("Layers").get(0).asText();
        }
      }
    }
    assertThat(bottom).isNotNull();
    ByteArrayOutputStream thin = new ByteArrayOutputStream();
    try (TarArchiveInputStream t = new TarArchiveInputStream(new ByteArrayInputStream(full.toByteArray()));
        TarArchiveOutputStream out = new TarArchiveOutputStream(thin)) {
      out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      TarArchiveEntry en;
      while ((en = t.getNextEntry()) != null) {
        if (en.getName().equals(bottom)) {
          continue;
        }
        out.putArchiveEntry(en);
        if (en.isFile()) {
          t.transferTo(out);
        }
        out.closeArchiveEntry();
      }
    }
    assertThat(thin.size()).isLessThan(full.size() / 2);
    return thin.toByteArray();
  }
}
