package io.jmigrate.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.engine.EngineException.Kind;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.TestImages;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for {@link Engine#connect} with the host forms other than a plain socket: tcp with TLS (a private dockerd
 * with {@code --tlsverify} and openssl-made certificates) and docker contexts.
 */
@ExtendWith(DockerHosts.class)
class EngineHostsIT {
  @TempDir static Path certs;
  private static DockerDaemon tls;
  private static int port;

  @BeforeAll
  static void startTlsDaemon() throws Exception {
    Path ca = certs.resolve("ca");
    Path server = certs.resolve("server");
    Path client = certs.resolve("client");
    Path otherCa = certs.resolve("other-ca");
    Path stranger = certs.resolve("stranger");
    for (Path d : List.of(ca, server, client, otherCa, stranger)) {
      Files.createDirectories(d);
    }
    makeCa(ca);
    makeCa(otherCa);
    issue(ca, server, "127.0.0.1", "subjectAltName = IP:127.0.0.1,DNS:localhost\nextendedKeyUsage = serverAuth\n");
    issue(ca, client, "client", "extendedKeyUsage = clientAuth\n");
    issue(otherCa, stranger, "stranger", "extendedKeyUsage = clientAuth\n");
    Files.copy(ca.resolve("ca.pem"), client.resolve("ca.pem"));
    // The stranger trusts the right CA but presents a certificate the daemon does not.
    Files.copy(ca.resolve("ca.pem"), stranger.resolve("ca.pem"));
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    tls =
        DockerHosts.startExtra(
            "tls",
            List.of(
                "-H", "tcp://127.0.0.1:" + port,
                "--tlsverify",
                "--tlscacert", ca.resolve("ca.pem").toString(),
                "--tlscert", server.resolve("cert.pem").toString(),
                "--tlskey", server.resolve("key.pem").toString()));
  }

  @AfterAll
  static void stopTlsDaemon() {
    if (tls != null) {
      tls.stop();
    }
  }

  @Test
  void connect_tcpWithTlsVerify_talksToTheEngine() throws Exception {
    Map<String, String> env =
        Map.of("DOCKER_TLS_VERIFY", "1", "DOCKER_CERT_PATH", certs.resolve("client").toString());
    String url = "tcp://127.0.0.1:" + port;
    try (Engine e = Engine.connect(HostSpec.resolve(url, env, null))) {
      assertThat(e.display()).isEqualTo(url);
      assertThat(e.apiVersion()).isEqualTo("1.41");
      assertThat(e.info().path("DockerRootDir").asText()).isEqualTo(tls.dataRoot().toString());
      assertThat(e.isLocal()).isFalse();
      assertThat(e.inspectImage(TestImages.BASE).path("Id").asText()).isEqualTo(TestImages.base(tls));
    }
  }

  @Test
  void connect_dockerHostWithTls_resolvedFromTheEnvironment() throws Exception {
    Map<String, String> env =
        Map.of(
            "DOCKER_HOST", "tcp://127.0.0.1:" + port,
            "DOCKER_TLS_VERIFY", "1",
            "DOCKER_CERT_PATH", certs.resolve("client").toString());
    try (Engine e = Engine.connect(HostSpec.resolve(null, env, null))) {
      assertThat(e.info().path("DockerRootDir").asText()).isEqualTo(tls.dataRoot().toString());
    }
  }

  @Test
  void connect_clientCertFromAnotherCa_authError() throws Exception {
    Map<String, String> env =
        Map.of("DOCKER_TLS_VERIFY", "1", "DOCKER_CERT_PATH", certs.resolve("stranger").toString());
    HostSpec spec = HostSpec.resolve("tcp://127.0.0.1:" + port, env, null);
    assertThatThrownBy(() -> Engine.connect(spec))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("cannot reach the Docker engine at tcp://127.0.0.1:" + port + ": TLS failed")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.AUTH);
  }

  @Test
  void connect_plainHttpToATlsEngine_saysItWantsTls() throws Exception {
    HostSpec spec = HostSpec.resolve("tcp://127.0.0.1:" + port, Map.of(), null);
    assertThatThrownBy(() -> Engine.connect(spec))
        .isInstanceOf(EngineException.class)
        .hasMessage(
            "cannot reach the Docker engine at tcp://127.0.0.1:" + port + ": it wants TLS; set DOCKER_TLS_VERIFY=1 "
                + "and DOCKER_CERT_PATH (or use a docker context with TLS files)")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.AUTH);
  }

  @Test
  void connect_tcpNothingListening_unreachable() throws Exception {
    int free;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      free = s.getLocalPort();
    }
    HostSpec spec = HostSpec.resolve("tcp://127.0.0.1:" + free, Map.of(), null);
    assertThatThrownBy(() -> Engine.connect(spec))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("cannot reach the Docker engine at tcp://127.0.0.1:" + free + ": ")
        .hasMessageContaining("Connection refused")
        .hasMessageEndingWith("is dockerd listening there? (-H/DOCKER_HOST)")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNREACHABLE);
  }

  @Test
  void connect_contextWithTlsFiles_usesThem(@TempDir Path dockerConfig) throws Exception {
    String dir = HostSpec.contextDirName("secure");
    Path meta = dockerConfig.resolve("contexts/meta").resolve(dir);
    Path tlsDir = dockerConfig.resolve("contexts/tls").resolve(dir).resolve("docker");
    Files.createDirectories(meta);
    Files.createDirectories(tlsDir);
    Files.writeString(
        meta.resolve("meta.json"),
        "{\"Name\":\"secure\",\"Metadata\":{},\"Endpoints\":{\"docker\":{\"Host\":\"tcp://127.0.0.1:" + port
            + "\",\"SkipTLSVerify\":false}}}");
    for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
      Files.copy(certs.resolve("client").resolve(f), tlsDir.resolve(f));
    }
    try (Engine e = Engine.connect(HostSpec.resolve("secure", Map.of(), dockerConfig))) {
      assertThat(e.display()).isEqualTo("secure");
      assertThat(e.info().path("DockerRootDir").asText()).isEqualTo(tls.dataRoot().toString());
    }
  }

  @Test
  void connect_currentContextUnix_isTheDefault(DockerDaemon a, @TempDir Path dockerConfig) throws Exception {
    String dir = HostSpec.contextDirName("host-a");
    Path meta = dockerConfig.resolve("contexts/meta").resolve(dir);
    Files.createDirectories(meta);
    Files.writeString(
        meta.resolve("meta.json"),
        "{\"Name\":\"host-a\",\"Metadata\":{},\"Endpoints\":{\"docker\":{\"Host\":\"" + a.host()
            + "\",\"SkipTLSVerify\":false}}}");
    Files.writeString(dockerConfig.resolve("config.json"), "{\"currentContext\":\"host-a\"}");
    try (Engine e = Engine.connect(HostSpec.resolve(null, Map.of(), dockerConfig))) {
      assertThat(e.display()).isEqualTo("host-a");
      assertThat(e.isLocal()).isTrue();
      assertThat(e.info().path("DockerRootDir").asText()).isEqualTo(a.dataRoot().toString());
      assertThatThrownBy(() -> e.inspectContainer("jm-none"))
          .hasMessage("cannot inspect container jm-none on host-a (" + a.host() + "): No such container: jm-none");
    }
  }

  // ---- certificates

  private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("openssl " + String.join(" ", args) + " failed (install openssl): " + out);
    }
  }

  private static void makeCa(Path dir) throws Exception {
    openssl(dir, "genrsa", "-out", "ca-key.pem", "2048");
    openssl(dir, "req", "-new", "-x509", "-days", "2", "-key", "ca-key.pem", "-sha256", "-subj",
        "/CN=jmigrate-test-ca-" + dir.getFileName(), "-out", "ca.pem");
  }

  private static void issue(Path ca, Path dir, String cn, String ext) throws Exception {
    openssl(dir, "genrsa", "-out", "key.pem", "2048");
    openssl(dir, "req", "-new", "-subj", "/CN=" + cn, "-key", "key.pem", "-out", "req.csr");
    Files.writeString(dir.resolve("ext.cnf"), ext);
    openssl(dir, "x509", "-req", "-days", "2", "-sha256", "-in", "req.csr", "-CA", ca.resolve("ca.pem").toString(),
        "-CAkey", ca.resolve("ca-key.pem").toString(), "-CAcreateserial", "-out", "cert.pem", "-extfile", "ext.cnf");
  }
}
