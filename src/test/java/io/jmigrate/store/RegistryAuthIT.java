package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.testing.RegistryServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link RegistryAuth} and {@link RegistryCredentials} against registries that demand credentials. */
class RegistryAuthIT {
  private static RegistryServer basic;
  private static RegistryServer token;

  @TempDir
  Path tmp;

  @BeforeAll
  static void startRegistries() throws Exception {
    basic = RegistryServer.start(RegistryServer.Auth.BASIC);
    token = RegistryServer.start(RegistryServer.Auth.TOKEN);
  }

  @AfterAll
  static void stopRegistries() {
    if (basic != null) {
      basic.close();
    }
    if (token != null) {
      token.close();
    }
  }

  private static String auth(String user, String password) {
    return Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  /** A docker config dir whose config.json holds {@code json}. */
  private Path configDir(String json) throws Exception {
    Path dir = Files.createTempDirectory(tmp, "docker");
    Files.writeString(dir.resolve("config.json"), json);
    return dir;
  }

  private Path authsConfig(RegistryServer server, String password) throws Exception {
    return configDir("{\"auths\":{\"" + server.hostPort() + "\":{\"auth\":\"" + auth(RegistryServer.USER, password)
        + "\"}}}");
  }

  private static RegistryStore open(RegistryServer server, String repo, Path configDir, String path)
      throws StoreException {
    RegistryStore.Settings s = RegistryStoreIT.testSettings(configDir);
    s.credentials = new RegistryCredentials(configDir, Map.of("PATH", path));
    return RegistryStoreIT.open(server, repo, s);
  }

  private static RegistryStore open(RegistryServer server, String repo, Path configDir) throws StoreException {
    return open(server, repo, configDir, System.getenv("PATH"));
  }

  /** Writes, tags, lists and reads back: every kind of request the store makes. */
  private static void roundTrip(RegistryStore store) throws Exception {
    Descriptor blob = RegistryStoreIT.upload(store, MediaTypes.VOLUME_TAR_ZSTD, 3_000_000, 5);
    assertThat(RegistryStoreIT.readAll(store.openBlob(blob.digest(), blob.size(), "auth test"))).hasSize(3_000_000);
    Descriptor index = RegistryStoreIT.putSnapshot(store, "authed", 1);
    store.putTag(Tag.of("authed-1", index));
    assertThat(store.listTags()).extracting(Tag::name).containsExactly("authed-1");
    store.deleteTag("authed-1");
    assertThat(store.listTags()).isEmpty();
  }

  @Test
  void basic_configAuthEntry_roundTrips() throws Exception {
    try (RegistryStore store = open(basic, "jm/basic", authsConfig(basic, RegistryServer.PASSWORD))) {
      roundTrip(store);
    }
  }

  @Test
  void basic_usernamePasswordFields_roundTrips() throws Exception {
    Path dir = configDir("{\"auths\":{\"http://" + basic.hostPort() + "/v2/\":{\"username\":\""
        + RegistryServer.USER + "\",\"password\":\"" + RegistryServer.PASSWORD + "\"}}}");
    try (RegistryStore store = open(basic, "jm/basic2", dir)) {
      store.putBlob(MediaTypes.OCI_CONFIG, "x".getBytes(StandardCharsets.UTF_8));
    }
  }

  @Test
  void basic_wrongPassword_failsAuthSayingDockerLogin() throws Exception {
    try (RegistryStore store = open(basic, "jm/basic", authsConfig(basic, "wrong-password"))) {
      assertThatThrownBy(() -> store.putBlob(MediaTypes.OCI_CONFIG, "x".getBytes(StandardCharsets.UTF_8)))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("registry " + basic.hostPort() + " refused the credentials for jm/basic")
          .hasMessageContaining("run `docker login " + basic.hostPort() + "` or fix")
          .hasMessageNotContaining("wrong-password")
          .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.AUTH);
    }
  }

  @Test
  void basic_noCredentials_failsAuthSayingDockerLogin() throws Exception {
    try (RegistryStore store = open(basic, "jm/basic", tmp.resolve("empty"))) {
      assertThatThrownBy(() -> store.listTags())
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("registry " + basic.hostPort() + " requires credentials for jm/basic")
          .hasMessageContaining("docker login " + basic.hostPort())
          .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.AUTH);
    }
  }

  @Test
  void bearer_credentials_roundTripsWithCachedTokens() throws Exception {
    int before = token.tokenRequests();
    try (RegistryStore store = open(token, "jm/bearer", authsConfig(token, RegistryServer.PASSWORD))) {
      roundTrip(store);
      long requests = store.requestCounts().values().stream().mapToLong(Long::longValue).sum();
      int tokens = token.tokenRequests() - before;

      // One token per kind of access (pull, push, delete), not one per request.
      assertThat(tokens).isBetween(2, 4);
      assertThat(requests).isGreaterThan(20);
      assertThat(token.tokenScopes()).contains("repository:jm/bearer:pull,push", "repository:jm/bearer:delete");
    }
  }

  @Test
  void bearer_wrongPassword_failsAuthSayingDockerLogin() throws Exception {
    try (RegistryStore store = open(token, "jm/bearer", authsConfig(token, "not-it"))) {
      assertThatThrownBy(() -> store.hasBlob(io.jmigrate.blob.Digest.of(new byte[0])))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("registry " + token.hostPort() + " refused the credentials for jm/bearer")
          .hasMessageContaining("docker login " + token.hostPort())
          .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.AUTH);
    }
  }

  @Test
  void bearer_identityToken_getsTokenThroughOAuthPost() throws Exception {
    Path dir = configDir("{\"auths\":{\"" + token.hostPort() + "\":{\"auth\":\""
        + Base64.getEncoder().encodeToString("someone:".getBytes(StandardCharsets.UTF_8))
        + "\",\"identitytoken\":\"" + RegistryServer.IDENTITY_TOKEN + "\"}}}");
    try (RegistryStore store = open(token, "jm/oauth", dir)) {
      Descriptor d = store.putBlob(MediaTypes.OCI_CONFIG, "oauth".getBytes(StandardCharsets.UTF_8));

      assertThat(store.hasBlob(d.digest())).isTrue();
      assertThat(store.requestCounts()).containsKey("token");
    }
  }

  /** A docker-credential-test script that answers with the test credentials and records what it was asked. */
  private Path credentialHelper(String name, String password) throws Exception {
    Path bin = Files.createTempDirectory(tmp, "bin");
    Path script = bin.resolve("docker-credential-" + name);
    Files.writeString(script, "#!/bin/sh\n"
        + "[ \"$1\" = get ] || exit 2\n"
        + "cat > \"$(dirname \"$0\")/asked\"\n"
        + "printf '{\"ServerURL\":\"%s\",\"Username\":\"" + RegistryServer.USER + "\",\"Secret\":\"" + password
        + "\"}' \"$(cat \"$(dirname \"$0\")/asked\")\"\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    return bin;
  }

  @Test
  void credsStore_helperOnPath_suppliesCredentials() throws Exception {
    Path bin = credentialHelper("test", RegistryServer.PASSWORD);
    Path dir = configDir("{\"auths\":{\"" + basic.hostPort() + "\":{}},\"credsStore\":\"test\"}");
    try (RegistryStore store = open(basic, "jm/helper", dir, bin + ":/usr/bin:/bin")) {
      store.putBlob(MediaTypes.OCI_CONFIG, "helped".getBytes(StandardCharsets.UTF_8));

      assertThat(Files.readString(bin.resolve("asked"))).isEqualTo(basic.hostPort());
    }
  }

  @Test
  void credHelpers_perRegistryHelper_winsOverCredsStore() throws Exception {
    Path bin = credentialHelper("good", RegistryServer.PASSWORD);
    Path dir = configDir("{\"credsStore\":\"absent\",\"credHelpers\":{\"" + token.hostPort() + "\":\"good\"}}");
    try (RegistryStore store = open(token, "jm/helper", dir, bin + ":/usr/bin:/bin")) {
      store.putBlob(MediaTypes.OCI_CONFIG, "helped".getBytes(StandardCharsets.UTF_8));
    }
  }

  @Test
  void credsStore_helperMissing_failsNamingHelper() throws Exception {
    Path dir = configDir("{\"credsStore\":\"nosuchhelper\"}");
    try (RegistryStore store = open(basic, "jm/helper", dir, tmp.toString())) {
      assertThatThrownBy(() -> store.listTags())
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("credential helper docker-credential-nosuchhelper")
          .hasMessageContaining("is not on PATH")
          .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.AUTH);
    }
  }

  @Test
  void credsStore_helperWithWrongSecret_failsRefused() throws Exception {
    Path bin = credentialHelper("bad", "not-the-password");
    Path dir = configDir("{\"credsStore\":\"bad\"}");
    try (RegistryStore store = open(basic, "jm/helper", dir, bin + ":/usr/bin:/bin")) {
      assertThatThrownBy(() -> store.listTags())
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("refused the credentials")
          .hasMessageNotContaining("not-the-password");
    }
  }
}
