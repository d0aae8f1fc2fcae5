package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link RegistryCredentials}. */
class RegistryCredentialsTest {
  @TempDir
  Path tmp;

  private RegistryCredentials credentials(String configJson) throws Exception {
    return credentials(configJson, "/usr/bin:/bin");
  }

  private RegistryCredentials credentials(String configJson, String path) throws Exception {
    Files.writeString(tmp.resolve("config.json"), configJson);
    return new RegistryCredentials(tmp, Map.of("PATH", path));
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void lookup_noConfigFile_isAnonymous() throws Exception {
    RegistryCredentials c = new RegistryCredentials(tmp.resolve("absent"), Map.of());

    assertThat(c.lookup("registry.example.com")).isEmpty();
  }

  @Test
  void lookup_authEntry_decodesUserAndPasswordWithColons() throws Exception {
    RegistryCredentials c = credentials("{\"auths\":{\"reg:5000\":{\"auth\":\"" + b64("alice:pa:ss") + "\"}}}");

    RegistryCredentials.Credential cred = c.lookup("reg:5000").orElseThrow();

    assertThat(cred.username()).isEqualTo("alice");
    assertThat(cred.secret()).isEqualTo("pa:ss");
    assertThat(cred.identityToken()).isFalse();
    assertThat(cred.toString()).doesNotContain("pa:ss");
  }

  @Test
  void lookup_keyWithSchemeAndPath_matchesHost() throws Exception {
    RegistryCredentials c = credentials("{\"auths\":{\"https://reg.example.com/v1/\":{\"username\":\"bob\","
        + "\"password\":\"pw\"}}}");

    assertThat(c.lookup("reg.example.com")).map(RegistryCredentials.Credential::username).contains("bob");
    assertThat(c.lookup("other.example.com")).isEmpty();
  }

  @Test
  void lookup_dockerHub_usesHistoricalKey() throws Exception {
    RegistryCredentials c = credentials("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" + b64("u:p")
        + "\"}}}");

    assertThat(c.lookup("registry-1.docker.io")).isPresent();
    assertThat(c.lookup("docker.io")).isPresent();
  }

  @Test
  void lookup_identityToken_isMarkedAsSuch() throws Exception {
    RegistryCredentials c = credentials("{\"auths\":{\"reg\":{\"auth\":\"" + b64("u:") + "\",\"identitytoken\":"
        + "\"refresh-me\"}}}");

    RegistryCredentials.Credential cred = c.lookup("reg").orElseThrow();

    assertThat(cred.identityToken()).isTrue();
    assertThat(cred.secret()).isEqualTo("refresh-me");
  }

  @Test
  void lookup_placeholderEntry_isAnonymous() throws Exception {
    RegistryCredentials c = credentials("{\"auths\":{\"reg\":{}}}");

    assertThat(c.lookup("reg")).isEmpty();
  }

  @Test
  void lookup_badBase64_failsInvalidNamingFileAndHost() throws Exception {
    RegistryCredentials c = credentials("{\"auths\":{\"reg\":{\"auth\":\"***\"}}}");

    assertThatThrownBy(() -> c.lookup("reg"))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("the auth entry for reg in " + tmp.resolve("config.json"))
        .hasMessageContaining("docker login reg");
  }

  @Test
  void lookup_malformedJson_failsInvalidNamingFile() throws Exception {
    RegistryCredentials c = credentials("{not json");

    assertThatThrownBy(() -> c.lookup("reg"))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("cannot read registry credentials from " + tmp.resolve("config.json"))
        .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.INVALID);
  }

  private Path helper(String name, String body) throws Exception {
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path script = bin.resolve("docker-credential-" + name);
    Files.writeString(script, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    return bin;
  }

  @Test
  void lookup_helperSaysNotFound_isAnonymous() throws Exception {
    Path bin = helper("empty", "cat >/dev/null; echo 'credentials not found in native keychain'; exit 1");
    RegistryCredentials c = credentials("{\"credsStore\":\"empty\"}", bin + ":/usr/bin:/bin");

    assertThat(c.lookup("reg")).isEmpty();
  }

  @Test
  void lookup_helperFails_failsAuthWithItsMessage() throws Exception {
    Path bin = helper("broken", "cat >/dev/null; echo 'keychain is locked'; exit 1");
    RegistryCredentials c = credentials("{\"credsStore\":\"broken\"}", bin + ":/usr/bin:/bin");

    assertThatThrownBy(() -> c.lookup("reg"))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("credential helper docker-credential-broken failed for reg: keychain is locked")
        .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.AUTH);
  }

  @Test
  void lookup_helperTokenUser_isIdentityToken() throws Exception {
    Path bin = helper("tok", "cat >/dev/null; echo '{\"ServerURL\":\"reg\",\"Username\":\"<token>\","
        + "\"Secret\":\"abc\"}'");
    RegistryCredentials c = credentials("{\"credHelpers\":{\"reg\":\"tok\"}}", bin + ":/usr/bin:/bin");

    RegistryCredentials.Credential cred = c.lookup("reg").orElseThrow();

    assertThat(cred.identityToken()).isTrue();
    assertThat(cred.secret()).isEqualTo("abc");
  }

  @Test
  void lookup_helperAnswersGarbage_failsAuth() throws Exception {
    Path bin = helper("garbage", "cat >/dev/null; echo 'hello'");
    RegistryCredentials c = credentials("{\"credsStore\":\"garbage\"}", bin + ":/usr/bin:/bin");

    assertThatThrownBy(() -> c.lookup("reg"))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("not the JSON of the credential-helper protocol");
  }

  @Test
  void configDir_optionWinsOverEnvironment() {
    StoreOptions withDir = StoreOptions.builder().dockerConfigDir(tmp).build();

    assertThat(RegistryCredentials.configDir(withDir, Map.of("DOCKER_CONFIG", "/elsewhere"))).isEqualTo(tmp);
    assertThat(RegistryCredentials.configDir(StoreOptions.defaults(), Map.of("DOCKER_CONFIG", "/elsewhere")))
        .isEqualTo(Path.of("/elsewhere"));
    assertThat(RegistryCredentials.configDir(StoreOptions.defaults(), Map.of()))
        .isEqualTo(Path.of(System.getProperty("user.home"), ".docker"));
  }
}
