package io.jmigrate.blob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Tests for {@link Digest}. */
class DigestTest {
  private static final String EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  @Test
  void of_emptyInput_isTheKnownSha256() {
    assertThat(Digest.of(new byte[0]).toString()).isEqualTo(EMPTY);
  }

  @Test
  void parse_validDigest_roundTrips() {
    Digest d = Digest.parse(EMPTY);
    assertThat(d.hex()).hasSize(64);
    assertThat(d.shortHex(12)).isEqualTo("e3b0c44298fc");
    assertThat(Digest.parse(d.toString())).isEqualTo(d);
  }

  @Test
  void parse_otherAlgorithm_namesTheInput() {
    assertThatThrownBy(() -> Digest.parse("sha512:abc")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sha512:abc");
  }

  @Test
  void ofHex_uppercaseOrShort_isRefusedWithTheInput() {
    assertThatThrownBy(() -> Digest.ofHex("ABC")).hasMessageContaining("'ABC'");
    assertThatThrownBy(() -> Digest.ofHex(EMPTY.substring(7).toUpperCase())).hasMessageContaining("lowercase");
  }

  @Test
  void json_digest_isAPlainString() throws Exception {
    Digest d = Digest.of("x".getBytes(StandardCharsets.UTF_8));
    String json = Json.MAPPER.writeValueAsString(d);
    assertThat(json).isEqualTo("\"" + d + "\"");
    assertThat(Json.MAPPER.readValue(json, Digest.class)).isEqualTo(d);
  }
}
