package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Tests for {@link RegistryLocation}. */
class RegistryLocationTest {

  @Test
  void parse_hostPortAndNestedRepository_splitsThem() throws Exception {
    RegistryLocation l = RegistryLocation.parse("oci://Registry.Example.com:5000/backups/web-01/", false);

    assertThat(l.host()).isEqualTo("registry.example.com");
    assertThat(l.port()).isEqualTo(5000);
    assertThat(l.authority()).isEqualTo("registry.example.com:5000");
    assertThat(l.repository()).isEqualTo("backups/web-01");
    assertThat(l.url()).isEqualTo("oci://registry.example.com:5000/backups/web-01");
    assertThat(l.base("https").toString()).isEqualTo("https://registry.example.com:5000");
  }

  @Test
  void parse_noPort_hasNoPort() throws Exception {
    RegistryLocation l = RegistryLocation.parse("oci://ghcr.io/acme/backups", false);

    assertThat(l.port()).isEqualTo(-1);
    assertThat(l.authority()).isEqualTo("ghcr.io");
  }

  @Test
  void base_dockerHubName_usesItsApiHost() throws Exception {
    RegistryLocation l = RegistryLocation.parse("oci://docker.io/acme/backups", false);

    assertThat(l.base("https").toString()).isEqualTo("https://registry-1.docker.io");
    assertThat(l.authority()).isEqualTo("docker.io");
  }

  @Test
  void parse_ipv6Loopback_keepsBracketsAndIsLoopback() throws Exception {
    RegistryLocation l = RegistryLocation.parse("oci://[::1]:5000/repo", false);

    assertThat(l.host()).isEqualTo("[::1]");
    assertThat(l.authority()).isEqualTo("[::1]:5000");
    assertThat(l.loopback()).isTrue();
  }

  @Test
  void plainHttpAllowed_loopbackOrInsecureOnly() throws Exception {
    assertThat(RegistryLocation.parse("oci://127.0.0.1:5000/r", false).plainHttpAllowed()).isTrue();
    assertThat(RegistryLocation.parse("oci://127.1.2.3/r", false).plainHttpAllowed()).isTrue();
    assertThat(RegistryLocation.parse("oci://localhost:5000/r", false).plainHttpAllowed()).isTrue();
    assertThat(RegistryLocation.parse("oci://registry.lan:5000/r", false).plainHttpAllowed()).isFalse();
    assertThat(RegistryLocation.parse("oci://127.0.0.1.example.com/r", false).plainHttpAllowed()).isFalse();
    assertThat(RegistryLocation.parse("oci://registry.lan:5000/r", true).plainHttpAllowed()).isTrue();
  }

  @Test
  void parse_wrongScheme_failsInvalidWithUsage() {
    assertThatThrownBy(() -> RegistryLocation.parse("docker://host/repo", false))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("'docker://host/repo'")
        .hasMessageContaining("does not start with oci://")
        .hasMessageContaining("oci://host[:port]/repository")
        .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.INVALID);
  }

  @Test
  void parse_noRepository_fails() {
    assertThatThrownBy(() -> RegistryLocation.parse("oci://host:5000", false))
        .isInstanceOf(StoreException.class).hasMessageContaining("names no repository");
    assertThatThrownBy(() -> RegistryLocation.parse("oci://host:5000/", false))
        .isInstanceOf(StoreException.class).hasMessageContaining("names no repository");
  }

  @Test
  void parse_uppercaseRepository_failsNamingComponent() {
    assertThatThrownBy(() -> RegistryLocation.parse("oci://host/Backups", false))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("'Backups' is not a valid repository path component");
  }

  @Test
  void parse_tagInUrl_failsSayingSnapshotsAreTags() {
    assertThatThrownBy(() -> RegistryLocation.parse("oci://host/backups:latest", false))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("names no tag");
  }

  @Test
  void parse_credentialsInUrl_failsPointingAtDockerLogin() {
    assertThatThrownBy(() -> RegistryLocation.parse("oci://user:pw@host/repo", false))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("docker login")
        .hasMessageNotContaining("pw@");
  }

  @Test
  void parse_badPort_failsNamingIt() {
    assertThatThrownBy(() -> RegistryLocation.parse("oci://host:99999/repo", false))
        .isInstanceOf(StoreException.class).hasMessageContaining("not a port number: '99999'");
    assertThatThrownBy(() -> RegistryLocation.parse("oci://host:abc/repo", false))
        .isInstanceOf(StoreException.class).hasMessageContaining("not a port number: 'abc'");
  }

  @Test
  void parse_badHost_failsNamingIt() {
    assertThatThrownBy(() -> RegistryLocation.parse("oci://ho_st/repo", false))
        .isInstanceOf(StoreException.class).hasMessageContaining("not a host name: 'ho_st'");
  }
}
