package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Tests for {@link RegistryAuth}. */
class RegistryAuthTest {

  @Test
  void parseChallenge_bearerWithQuotedCommas_keepsScopeWhole() {
    RegistryAuth.Challenge c = RegistryAuth.parseChallenge(
        "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
            + "scope=\"repository:samalba/my-app:pull,push\"").orElseThrow();

    assertThat(c.scheme()).isEqualTo("bearer");
    assertThat(c.param("realm")).isEqualTo("https://auth.docker.io/token");
    assertThat(c.param("service")).isEqualTo("registry.docker.io");
    assertThat(c.param("scope")).isEqualTo("repository:samalba/my-app:pull,push");
  }

  @Test
  void parseChallenge_basic_hasRealm() {
    RegistryAuth.Challenge c = RegistryAuth.parseChallenge("Basic realm=\"jmigrate-test\"").orElseThrow();

    assertThat(c.scheme()).isEqualTo("basic");
    assertThat(c.param("realm")).isEqualTo("jmigrate-test");
  }

  @Test
  void parseChallenge_basicAndBearerOffered_prefersBearer() {
    RegistryAuth.Challenge c = RegistryAuth.parseChallenge(
        "Basic realm=\"r\", Bearer realm=\"https://t/token\",service=\"s\",error=\"insufficient_scope\"")
        .orElseThrow();

    assertThat(c.scheme()).isEqualTo("bearer");
    assertThat(c.param("realm")).isEqualTo("https://t/token");
    assertThat(c.param("error")).isEqualTo("insufficient_scope");
  }

  @Test
  void parseChallenge_unquotedValuesAndEscapes_areRead() {
    RegistryAuth.Challenge c = RegistryAuth.parseChallenge("bearer realm=https://t/token, service=\"a\\\"b\"")
        .orElseThrow();

    assertThat(c.param("realm")).isEqualTo("https://t/token");
    assertThat(c.param("service")).isEqualTo("a\"b");
  }

  @Test
  void parseChallenge_emptyOrMissing_isEmpty() {
    assertThat(RegistryAuth.parseChallenge(null)).isEmpty();
    assertThat(RegistryAuth.parseChallenge("  ")).isEmpty();
  }
}
