package io.jmigrate.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.engine.EngineException.Kind;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.SshServer;
import io.jmigrate.testing.TestImages;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Tests for {@link Engine} over ssh ({@link SshTunnel}) against a private sshd forwarding private daemons. */
@ExtendWith(DockerHosts.class)
class SshEngineIT {
  private static SshServer sshd;

  @BeforeAll
  static void start() {
    sshd = SshServer.start();
  }

  @AfterAll
  static void stop() {
    if (sshd != null) {
      sshd.close();
    }
  }

  private static long sshProcessesFor(Path remoteSocket) throws IOException {
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs
          .filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
          .filter(
              p -> {
                try {
                  String cmd = Files.readString(p.resolve("cmdline"));
                  return cmd.startsWith("ssh\0") && cmd.contains(":" + remoteSocket + "\0");
                } catch (Exception e) {
                  return false;
                }
              })
          .count();
    }
  }

  @Test
  void connect_forwardedSocket_worksLikeALocalEngineButIsNotLocal(DockerDaemon a, @DockerHosts.B DockerDaemon b)
      throws Exception {
    String url = sshd.url(b.socket());
    HostSpec spec = HostSpec.resolve(url, sshd.env(sshd.userKey(), true), null);
    try (Engine local = Engine.connect(HostSpec.resolve(a.host(), Map.of(), null));
        Engine remote = Engine.connect(spec)) {
      assertThat(remote.display()).isEqualTo(url);
      assertThat(remote.apiVersion()).isEqualTo("1.41");
      assertThat(remote.info().path("DockerRootDir").asText()).isEqualTo(b.dataRoot().toString());
      assertThat(remote.isLocal()).isFalse();
      assertThat(remote.freeDiskBytes()).isEmpty();
      assertThat(sshProcessesFor(b.socket())).isEqualTo(1);

      // A save on A streamed into a load on B through the tunnel.
      TestImages.derived(a, "jmigrate-test/ssh:1", "dd if=/dev/urandom of=/blob bs=1M count=4");
      try (InputStream tar = local.saveImage("jmigrate-test/ssh:1")) {
        assertThat(remote.loadImage(tar)).contains("jmigrate-test/ssh:1");
      }
      assertThat(remote.inspectImage("jmigrate-test/ssh:1").path("RootFS").path("Layers")).hasSize(2);
    } finally {
      DockerHosts.cleanAll();
    }
    assertThat(sshProcessesFor(b.socket())).as("the ssh process ends with Engine.close()").isZero();
  }

  @Test
  void connect_keyNotAuthorized_authCheckTheKey(@DockerHosts.B DockerDaemon b) throws Exception {
    String url = sshd.url(b.socket());
    HostSpec spec = HostSpec.resolve(url, sshd.env(sshd.otherKey(), true), null);
    assertThatThrownBy(() -> Engine.connect(spec))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("cannot reach the Docker engine at " + url + ": ssh: ")
        .hasMessageContaining("Permission denied (publickey)")
        .hasMessageContaining("check the key/agent")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.AUTH);
    assertThat(sshProcessesFor(b.socket())).isZero();
  }

  @Test
  void connect_unknownHostKey_authAddItToKnownHosts(@DockerHosts.B DockerDaemon b) throws Exception {
    String url = sshd.url(b.socket());
    HostSpec spec = HostSpec.resolve(url, sshd.env(sshd.userKey(), false), null);
    assertThatThrownBy(() -> Engine.connect(spec))
        .isInstanceOf(EngineException.class)
        .hasMessage(
            "cannot reach the Docker engine at " + url + ": ssh: Host key verification failed; add the host key to "
                + "known_hosts (ssh-keyscan -p " + sshd.port() + " 127.0.0.1 >> ~/.ssh/known_hosts, after checking "
                + "its fingerprint)")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.AUTH);
  }

  @Test
  void connect_missingRemoteSocket_unreachableNamingThePath() throws Exception {
    Path missing = Path.of("/tmp/jm-engine-no-such-dir/docker.sock");
    String url = sshd.url(missing);
    HostSpec spec = HostSpec.resolve(url, sshd.env(sshd.userKey(), true), null);
    assertThatThrownBy(() -> Engine.connect(spec))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith(
            "cannot reach the Docker engine at " + url + ": the remote engine socket " + missing + " cannot be opened")
        .hasMessageContaining("is dockerd running there?")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNREACHABLE);
    assertThat(sshProcessesFor(missing)).as("the ssh process ends when connect fails").isZero();
  }

  @Test
  void connect_nothingListening_unreachableConnectionRefused() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    String url = "ssh://root@127.0.0.1:" + port;
    HostSpec spec = HostSpec.resolve(url, sshd.env(sshd.userKey(), true), null);
    assertThatThrownBy(() -> Engine.connect(spec))
        .isInstanceOf(EngineException.class)
        .hasMessage("cannot reach the Docker engine at " + url + ": ssh: connect to host 127.0.0.1 port " + port
            + ": Connection refused")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNREACHABLE);
  }

  @Test
  void connect_sshBinaryMissing_unreachableSayInstallIt() throws Exception {
    HostSpec spec =
        HostSpec.resolve("ssh://h", Map.of("JMIGRATE_SSH_COMMAND", "/nonexistent/ssh-jm"), null);
    assertThatThrownBy(() -> Engine.connect(spec))
        .hasMessageContaining("cannot run /nonexistent/ssh-jm")
        .hasMessageContaining("install the ssh client")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNREACHABLE);
  }
}
