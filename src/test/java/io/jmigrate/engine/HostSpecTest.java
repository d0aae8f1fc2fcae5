package io.jmigrate.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.engine.EngineException.Kind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link HostSpec}. */
class HostSpecTest {
  @TempDir Path home;

  private Path docker() {
    return home.resolve(".docker");
  }

  private void context(String name, String host, boolean tls) throws IOException {
    String dir = HostSpec.contextDirName(name);
    Path meta = docker().resolve("contexts/meta").resolve(dir);
    Files.createDirectories(meta);
    Files.writeString(
        meta.resolve("meta.json"),
        "{\"Name\":\"" + name + "\",\"Metadata\":{\"Description\":\"d\"},\"Endpoints\":{\"docker\":{\"Host\":\""
            + host + "\",\"SkipTLSVerify\":false}}}");
    if (tls) {
      Path t = docker().resolve("contexts/tls").resolve(dir).resolve("docker");
      Files.createDirectories(t);
      for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
        Files.writeString(t.resolve(f), "x");
      }
    }
  }

  private void currentContext(String name) throws IOException {
    Files.createDirectories(docker());
    Files.writeString(docker().resolve("config.json"), "{\"auths\":{},\"currentContext\":\"" + name + "\"}");
  }

  private HostSpec resolve(String value, Map<String, String> env) throws EngineException {
    return HostSpec.resolve(value, env, docker());
  }

  @Test
  void contextDirName_isSha256OfTheName() {
    // sha256("default"), as the docker CLI names context directories.
    assertThat(HostSpec.contextDirName("default"))
        .isEqualTo("37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f");
  }

  @Test
  void resolve_unixUrl_socketPath() throws Exception {
    HostSpec s = resolve(" unix:///tmp/x/docker.sock ", Map.of());
    assertThat(s.transport()).isEqualTo(HostSpec.Transport.UNIX);
    assertThat(s.socketPath()).contains(Path.of("/tmp/x/docker.sock"));
    assertThat(s.display()).isEqualTo("unix:///tmp/x/docker.sock");
    assertThat(s.url()).isEqualTo("unix:///tmp/x/docker.sock");
    assertThat(s.context()).isEmpty();
  }

  @Test
  void resolve_unixWithoutAbsolutePath_unsupportedNamingTheValue() {
    assertThatThrownBy(() -> resolve("unix://docker.sock", Map.of()))
        .isInstanceOf(EngineException.class)
        .hasMessageContaining("\"unix://docker.sock\"")
        .hasMessageContaining("absolute path")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNSUPPORTED);
  }

  @Test
  void resolve_tcpWithoutTls_plainWithDefaultPort() throws Exception {
    HostSpec s = resolve("tcp://10.1.2.3", Map.of());
    assertThat(s.transport()).isEqualTo(HostSpec.Transport.TCP);
    assertThat(s.host()).contains("10.1.2.3");
    assertThat(s.port().getAsInt()).isEqualTo(2375);
    assertThat(s.tlsDir()).isEmpty();
    assertThat(s.url()).isEqualTo("tcp://10.1.2.3:2375");
  }

  @Test
  void resolve_tcpWithTlsVerifyAndCertPath_usesThatDir() throws Exception {
    Path certs = home.resolve("certs");
    Files.createDirectories(certs);
    for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
      Files.writeString(certs.resolve(f), "x");
    }
    HostSpec s = resolve("tcp://h.example:2376", Map.of("DOCKER_TLS_VERIFY", "1", "DOCKER_CERT_PATH", certs.toString()));
    assertThat(s.tlsDir()).contains(certs);
    assertThat(s.port().getAsInt()).isEqualTo(2376);

    HostSpec dflt = resolve("tcp://h.example", Map.of("DOCKER_TLS_VERIFY", "1", "DOCKER_CERT_PATH", certs.toString()));
    assertThat(dflt.port().getAsInt()).isEqualTo(2376);
  }

  @Test
  void resolve_tcpWithTlsVerifyNoCertPath_usesDockerConfigDir() throws Exception {
    Files.createDirectories(docker());
    for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
      Files.writeString(docker().resolve(f), "x");
    }
    assertThat(resolve("tcp://h:2376", Map.of("DOCKER_TLS_VERIFY", "yes")).tlsDir()).contains(docker());
  }

  @Test
  void resolve_tcpWithTlsVerifyMissingKey_authErrorNamingTheFile() throws Exception {
    Path certs = home.resolve("certs");
    Files.createDirectories(certs);
    Files.writeString(certs.resolve("ca.pem"), "x");
    Files.writeString(certs.resolve("cert.pem"), "x");
    assertThatThrownBy(
            () -> resolve("tcp://h:2376", Map.of("DOCKER_TLS_VERIFY", "1", "DOCKER_CERT_PATH", certs.toString())))
        .isInstanceOf(EngineException.class)
        .hasMessageContaining(certs.resolve("key.pem").toString() + " is missing")
        .hasMessageContaining("DOCKER_CERT_PATH")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.AUTH);
  }

  @Test
  void resolve_sshUrl_userHostPortAndDefaultSocket() throws Exception {
    HostSpec s = resolve("ssh://deploy@db1.example:2222", Map.of());
    assertThat(s.transport()).isEqualTo(HostSpec.Transport.SSH);
    assertThat(s.sshUser()).contains("deploy");
    assertThat(s.host()).contains("db1.example");
    assertThat(s.port().getAsInt()).isEqualTo(2222);
    assertThat(s.remoteSocket()).contains("/var/run/docker.sock");
    assertThat(s.sshCommand()).containsExactly("ssh");
    assertThat(s.url()).isEqualTo("ssh://deploy@db1.example:2222");
  }

  @Test
  void resolve_sshWithSocketQueryAndSshCommand_overridesBoth() throws Exception {
    HostSpec s =
        resolve(
            "ssh://root@127.0.0.1:2222?socket=/tmp/x/docker.sock",
            Map.of("JMIGRATE_SSH_COMMAND", "ssh -F /etc/jm/ssh_config  -i /k"));
    assertThat(s.remoteSocket()).contains("/tmp/x/docker.sock");
    assertThat(s.sshCommand()).containsExactly("ssh", "-F", "/etc/jm/ssh_config", "-i", "/k");
    assertThat(s.url()).isEqualTo("ssh://root@127.0.0.1:2222?socket=/tmp/x/docker.sock");
  }

  @Test
  void resolve_sshWithoutUserOrPort_leavesThemToTheSshConfig() throws Exception {
    HostSpec s = resolve("ssh://db1", Map.of());
    assertThat(s.sshUser()).isEmpty();
    assertThat(s.port()).isEmpty();
  }

  @Test
  void resolve_sshWithPathOrUnknownParameter_unsupported() {
    assertThatThrownBy(() -> resolve("ssh://h/var/run/docker.sock", Map.of()))
        .hasMessageContaining("?socket=")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNSUPPORTED);
    assertThatThrownBy(() -> resolve("ssh://h?sock=/x", Map.of()))
        .hasMessageContaining("sock=/x")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNSUPPORTED);
  }

  @Test
  void resolve_unknownScheme_unsupportedListingTheForms() {
    assertThatThrownBy(() -> resolve("http://h:2375", Map.of()))
        .isInstanceOf(EngineException.class)
        .hasMessage(
            "bad host \"http://h:2375\": use unix:///path/docker.sock, tcp://host:port, ssh://[user@]host[:port] or a "
                + "docker context name");
  }

  @Test
  void resolve_nothingSet_defaultSocket() throws Exception {
    HostSpec s = resolve(null, Map.of());
    assertThat(s.display()).isEqualTo("unix:///var/run/docker.sock");
    assertThat(s.socketPath()).contains(Path.of("/var/run/docker.sock"));
  }

  @Test
  void resolve_dockerHostSet_winsOverContextAndConfig() throws Exception {
    context("remote", "tcp://10.0.0.5:2375", false);
    currentContext("remote");
    HostSpec s = resolve(null, Map.of("DOCKER_HOST", "unix:///run/x.sock", "DOCKER_CONTEXT", "remote"));
    assertThat(s.display()).isEqualTo("unix:///run/x.sock");
  }

  @Test
  void resolve_dockerContextSet_winsOverConfigCurrentContext() throws Exception {
    context("one", "tcp://10.0.0.1:2375", false);
    context("two", "tcp://10.0.0.2:2375", false);
    currentContext("one");
    HostSpec s = resolve(null, Map.of("DOCKER_CONTEXT", "two"));
    assertThat(s.display()).isEqualTo("two");
    assertThat(s.context()).contains("two");
    assertThat(s.host()).contains("10.0.0.2");
  }

  @Test
  void resolve_configCurrentContext_isUsed() throws Exception {
    context("one", "unix:///run/one.sock", false);
    currentContext("one");
    HostSpec s = resolve(null, Map.of());
    assertThat(s.display()).isEqualTo("one");
    assertThat(s.socketPath()).contains(Path.of("/run/one.sock"));
    assertThat(s.url()).isEqualTo("unix:///run/one.sock");
  }

  @Test
  void resolve_configCurrentContextDefault_fallsBackToTheSocket() throws Exception {
    currentContext("default");
    assertThat(resolve(null, Map.of()).display()).isEqualTo("unix:///var/run/docker.sock");
  }

  @Test
  void resolve_dockerConfigEnv_isTheConfigDir() throws Exception {
    context("viaenv", "tcp://10.9.9.9:2375", false);
    HostSpec s = HostSpec.resolve("viaenv", Map.of("DOCKER_CONFIG", docker().toString()), null);
    assertThat(s.host()).contains("10.9.9.9");
  }

  @Test
  void resolve_homeEnv_findsDotDocker() throws Exception {
    context("viahome", "tcp://10.8.8.8:2375", false);
    HostSpec s = HostSpec.resolve("viahome", Map.of("HOME", home.toString()), null);
    assertThat(s.host()).contains("10.8.8.8");
  }

  @Test
  void resolve_contextWithTlsDir_usesTheContextsTlsFiles() throws Exception {
    context("secure", "tcp://10.0.0.7:2376", true);
    HostSpec s = resolve("secure", Map.of());
    assertThat(s.tlsDir())
        .contains(docker().resolve("contexts/tls").resolve(HostSpec.contextDirName("secure")).resolve("docker"));
    assertThat(s.port().getAsInt()).isEqualTo(2376);
  }

  @Test
  void resolve_contextWithoutTlsDir_ignoresDockerTlsVerify() throws Exception {
    // As in the docker CLI, a context carries its own TLS settings; the environment's apply to DOCKER_HOST only.
    context("plain", "tcp://10.0.0.8:2375", false);
    assertThat(resolve("plain", Map.of("DOCKER_TLS_VERIFY", "1")).tlsDir()).isEmpty();
  }

  @Test
  void resolve_sshContext_isAnSshHost() throws Exception {
    context("far", "ssh://ops@far.example", false);
    HostSpec s = resolve("far", Map.of());
    assertThat(s.transport()).isEqualTo(HostSpec.Transport.SSH);
    assertThat(s.sshUser()).contains("ops");
    assertThat(s.display()).isEqualTo("far");
  }

  @Test
  void resolve_unknownContext_notFoundListingTheKnownOnes() throws Exception {
    context("prod", "tcp://10.0.0.1:2375", false);
    context("staging", "tcp://10.0.0.2:2375", false);
    assertThatThrownBy(() -> resolve("prd", Map.of()))
        .isInstanceOf(EngineException.class)
        .hasMessageStartingWith("unknown docker context \"prd\"; known contexts: default, prod, staging (docker context ls)")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.NOT_FOUND);
  }

  @Test
  void resolve_unknownCurrentContextInConfig_notFound() throws Exception {
    currentContext("gone");
    assertThatThrownBy(() -> resolve(null, Map.of()))
        .hasMessageStartingWith("unknown docker context \"gone\"; known contexts: default ");
  }

  @Test
  void resolve_defaultContext_isDockerHostOrTheSocket() throws Exception {
    assertThat(resolve("default", Map.of()).socketPath()).contains(Path.of("/var/run/docker.sock"));
    assertThat(resolve("default", Map.of("DOCKER_HOST", "tcp://1.2.3.4:2375")).host()).contains("1.2.3.4");
    assertThat(resolve("default", Map.of()).display()).isEqualTo("default");
  }

  @Test
  void resolve_contextSkippingTlsVerify_refused() throws Exception {
    String dir = HostSpec.contextDirName("lax");
    Path meta = docker().resolve("contexts/meta").resolve(dir);
    Files.createDirectories(meta);
    Files.writeString(
        meta.resolve("meta.json"),
        "{\"Name\":\"lax\",\"Endpoints\":{\"docker\":{\"Host\":\"tcp://h:2376\",\"SkipTLSVerify\":true}}}",
        StandardCharsets.UTF_8);
    assertThatThrownBy(() -> resolve("lax", Map.of()))
        .hasMessageContaining("SkipTLSVerify")
        .extracting(e -> ((EngineException) e).kind())
        .isEqualTo(Kind.UNSUPPORTED);
  }

  @Test
  void resolve_brokenConfigJson_errorNamingTheFile() throws Exception {
    Files.createDirectories(docker());
    Files.writeString(docker().resolve("config.json"), "{not json");
    assertThatThrownBy(() -> resolve(null, Map.of()))
        .hasMessageStartingWith("cannot read the docker config " + docker().resolve("config.json"));
  }
}
