package io.jmigrate.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.engine.EngineException.Kind;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tests for {@link Engine}'s pure parts: version negotiation, architectures, encoding and the stream demuxer. */
class EngineTest {

  @Test
  void negotiate_olderSupportedEngine_usesItsVersion() throws Exception {
    assertThat(Engine.negotiate("1.41", "x")).isEqualTo("1.41");
    assertThat(Engine.negotiate("1.40", "x")).isEqualTo("1.40");
  }

  @Test
  void negotiate_newerEngine_cappedAtJmigratesMaximum() throws Exception {
    assertThat(Engine.negotiate("1.51", "x")).isEqualTo(Engine.MAX_API_VERSION);
    assertThat(Engine.negotiate("2.0", "x")).isEqualTo(Engine.MAX_API_VERSION);
    assertThat(Engine.negotiate("1.47", "x")).isEqualTo("1.47");
  }

  @Test
  void negotiate_tooOld_unsupportedWithTheVersions() {
    assertThatThrownBy(() -> Engine.negotiate("1.39", "unix:///x.sock"))
        .isInstanceOf(EngineException.class)
        .hasMessage(
            "the Docker engine at unix:///x.sock: engine API 1.39 is too old; jmigrate needs 1.40 (Docker 19.03) or "
                + "newer: upgrade Docker there")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNSUPPORTED);
  }

  @Test
  void negotiate_garbage_unsupported() {
    assertThatThrownBy(() -> Engine.negotiate("", "h"))
        .hasMessageContaining("no usable API version")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNSUPPORTED);
  }

  @Test
  void normaliseArchitecture_unameNames_ociNames() {
    assertThat(Engine.normaliseArchitecture("x86_64")).isEqualTo("amd64");
    assertThat(Engine.normaliseArchitecture("amd64")).isEqualTo("amd64");
    assertThat(Engine.normaliseArchitecture("aarch64")).isEqualTo("arm64");
    assertThat(Engine.normaliseArchitecture("armv7l")).isEqualTo("arm");
    assertThat(Engine.normaliseArchitecture("armv6l")).isEqualTo("arm");
    assertThat(Engine.normaliseArchitecture("i686")).isEqualTo("386");
    assertThat(Engine.normaliseArchitecture("ppc64le")).isEqualTo("ppc64le");
    assertThat(Engine.normaliseArchitecture("s390x")).isEqualTo("s390x");
    assertThat(Engine.normaliseArchitecture("riscv64")).isEqualTo("riscv64");
  }

  @Test
  void seg_referencesWithSlashColonAt_keptWhileOthersEscaped() {
    assertThat(Engine.seg("jmigrate-test/busybox:1")).isEqualTo("jmigrate-test/busybox:1");
    assertThat(Engine.seg("repo@sha256:ab")).isEqualTo("repo@sha256:ab");
    assertThat(Engine.seg("a b?c#d%")).isEqualTo("a%20b%3Fc%23d%25");
    assertThat(Engine.seg("é")).isEqualTo("%C3%A9");
    assertThatThrownBy(() -> Engine.seg("")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void q_queryValues_encodedWithSpacesAsPercent20() {
    assertThat(Engine.q("/data/a b&c=d")).isEqualTo("%2Fdata%2Fa%20b%26c%3Dd");
  }

  private static byte[] frames(Object... kindAndText) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < kindAndText.length; i += 2) {
      byte[] p = ((String) kindAndText[i + 1]).getBytes(StandardCharsets.UTF_8);
      out.write((Integer) kindAndText[i]);
      out.write(0);
      out.write(0);
      out.write(0);
      out.write(p.length >>> 24);
      out.write(p.length >>> 16);
      out.write(p.length >>> 8);
      out.write(p.length);
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  @Test
  void demux_framesSplitMidLine_joinedPerStream() throws Exception {
    List<String> lines = new ArrayList<>();
    Demux.lines(
        new ByteArrayInputStream(frames(1, "hel", 2, "err1\nerr", 1, "lo\r\nwor", 1, "ld\n", 2, "2")), lines::add);
    assertThat(lines).containsExactly("err1", "hello", "world", "err2");
  }

  @Test
  void demux_empty_noLines() throws Exception {
    List<String> lines = new ArrayList<>();
    Demux.lines(new ByteArrayInputStream(new byte[0]), lines::add);
    assertThat(lines).isEmpty();
  }

  @Test
  void demux_truncatedFrame_eof() {
    byte[] f = frames(1, "hello\n");
    byte[] cut = java.util.Arrays.copyOf(f, f.length - 2);
    assertThatThrownBy(() -> Demux.lines(new ByteArrayInputStream(cut), l -> {})).isInstanceOf(EOFException.class);
  }

  @Test
  void demux_largeFrame_streamedInPieces() throws Exception {
    String big = "x".repeat(100_000) + "\n";
    List<String> lines = new ArrayList<>();
    Demux.lines(new ByteArrayInputStream(frames(1, big, 1, "tail")), lines::add);
    assertThat(lines).hasSize(2);
    assertThat(lines.get(0)).hasSize(100_000);
    assertThat(lines.get(1)).isEqualTo("tail");
  }

  @Test
  void connect_unreadableTlsFiles_authNamingTheDir(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
      java.nio.file.Files.writeString(dir.resolve(f), "not a pem");
    }
    HostSpec spec =
        HostSpec.resolve(
            "tcp://127.0.0.1:9", Map.of("DOCKER_TLS_VERIFY", "1", "DOCKER_CERT_PATH", dir.toString()), null);
    assertThatThrownBy(() -> Engine.connect(spec))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("cannot reach the Docker engine at tcp://127.0.0.1:9: cannot use the TLS files in " + dir)
        .hasMessageEndingWith("check ca.pem, cert.pem and key.pem there")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.AUTH);
  }

  @Test
  void sshClassify_knownSshErrors_clearKindsAndAdvice() throws Exception {
    HostSpec spec = HostSpec.resolve("ssh://root@127.0.0.1:2222?socket=/tmp/x/docker.sock", Map.of(), null);
    EngineException hostKey = SshTunnel.classify("Host key verification failed.\n", spec);
    assertThat(hostKey.kind()).isEqualTo(Kind.AUTH);
    assertThat(hostKey.getMessage())
        .isEqualTo(
            "cannot reach the Docker engine at ssh://root@127.0.0.1:2222?socket=/tmp/x/docker.sock: ssh: Host key "
                + "verification failed; add the host key to known_hosts (ssh-keyscan -p 2222 127.0.0.1 >> "
                + "~/.ssh/known_hosts, after checking its fingerprint)");
    EngineException denied = SshTunnel.classify("root@127.0.0.1: Permission denied (publickey).\n", spec);
    assertThat(denied.kind()).isEqualTo(Kind.AUTH);
    assertThat(denied.getMessage()).contains("Permission denied (publickey)").contains("check the key/agent");
    EngineException socket = SshTunnel.classify("channel 1: open failed: connect failed: open failed\n", spec);
    assertThat(socket.kind()).isEqualTo(Kind.UNREACHABLE);
    assertThat(socket.getMessage()).contains("the remote engine socket /tmp/x/docker.sock cannot be opened");
    EngineException prohibited =
        SshTunnel.classify("channel 2: open failed: administratively prohibited: open failed\n", spec);
    assertThat(prohibited.getMessage()).contains("AllowStreamLocalForwarding yes");
    EngineException refused =
        SshTunnel.classify("ssh: connect to host 127.0.0.1 port 2222: Connection refused\n", spec);
    assertThat(refused.kind()).isEqualTo(Kind.UNREACHABLE);
    assertThat(refused.getMessage()).endsWith(": ssh: connect to host 127.0.0.1 port 2222: Connection refused");
    assertThat(SshTunnel.classify("Warning: Permanently added ...", spec)).isNull();
  }
}
