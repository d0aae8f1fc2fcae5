package io.jmigrate.blob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tests for {@link Descriptor}. */
class DescriptorTest {
  private static final Digest D = Digest.of("layer".getBytes(StandardCharsets.UTF_8));

  @Test
  void json_withAnnotations_isTheOciFormAndRoundTrips() throws Exception {
    Descriptor d = Descriptor.of(MediaTypes.OCI_LAYER_ZSTD, null, D, 42, Map.of("b", "2", "a", "1"));
    String json = new String(Json.bytes(d), StandardCharsets.UTF_8);
    assertThat(json).isEqualTo("{\"mediaType\":\"" + MediaTypes.OCI_LAYER_ZSTD + "\",\"digest\":\"" + D
        + "\",\"size\":42,\"annotations\":{\"a\":\"1\",\"b\":\"2\"}}");
    assertThat(Json.read(json.getBytes(StandardCharsets.UTF_8), Descriptor.class, "test")).isEqualTo(d);
  }

  @Test
  void json_zeroSizeNoAnnotations_keepsSizeOmitsAnnotations() {
    String json = new String(Json.bytes(Descriptor.of(MediaTypes.OCI_EMPTY, D, 0)), StandardCharsets.UTF_8);
    assertThat(json).contains("\"size\":0").doesNotContain("annotations").doesNotContain("artifactType");
  }

  @Test
  void of_negativeSize_namesTheDigest() {
    assertThatThrownBy(() -> Descriptor.of(MediaTypes.OCI_CONFIG, D, -1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(D.toString());
  }

  @Test
  void of_missingMediaType_isRefused() {
    assertThatThrownBy(() -> Descriptor.of(" ", D, 1)).hasMessageContaining("media type");
  }

  @Test
  void withAnnotation_original_isUnchanged() {
    Descriptor d = Descriptor.of(MediaTypes.OCI_CONFIG, D, 1);
    Descriptor e = d.withAnnotation("k", "v");
    assertThat(d.annotations()).isEmpty();
    assertThat(e.annotation("k")).isEqualTo("v");
  }
}
