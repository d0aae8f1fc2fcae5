package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestMismatchException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tests for {@link LoadArchiveWriter}. */
class LoadArchiveWriterTest {
  private static final byte[] CONFIG = "{\"rootfs\":{\"type\":\"layers\"}}".getBytes(StandardCharsets.UTF_8);
  private static final byte[] L1 = TarFixtures.layer("one", 5000, 1);
  private static final byte[] L2 = TarFixtures.layer("two", 700, 2);
  private static final byte[] L3 = TarFixtures.layer("three", 90, 3);
  private static final Digest D1 = Digest.of(L1);
  private static final Digest D2 = Digest.of(L2);
  private static final Digest D3 = Digest.of(L3);

  private static byte[] write(boolean thin) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (LoadArchiveWriter w = new LoadArchiveWriter(out)) {
      w.writeConfig(CONFIG);
      if (!thin) {
        w.writeLayer(D1, L1.length, new ByteArrayInputStream(L1));
      }
      w.writeLayer(D2, L2.length, new ByteArrayInputStream(L2));
      w.writeLayer(D3, L3.length, new ByteArrayInputStream(L3));
      w.finish(List.of(D1, D2, D3), List.of("app:1", "app:latest"));
    }
    return out.toByteArray();
  }

  @Test
  void finish_fullArchive_hasConfigLayersAndManifestInLegacyLayout() throws IOException {
    Map<String, byte[]> entries = TarFixtures.entries(write(false));
    String config = Digest.of(CONFIG).hex() + ".json";
    assertThat(entries.keySet()).containsExactly(config, D1.hex() + "/layer.tar", D2.hex() + "/layer.tar",
        D3.hex() + "/layer.tar", "manifest.json");
    assertThat(entries.get(config)).isEqualTo(CONFIG);
    assertThat(entries.get(D1.hex() + "/layer.tar")).isEqualTo(L1);
    assertThat(new ObjectMapper().readTree(entries.get("manifest.json")))
        .isEqualTo(new ObjectMapper().readTree("[{\"Config\":\"" + config + "\",\"RepoTags\":[\"app:1\","
            + "\"app:latest\"],\"Layers\":[\"" + D1.hex() + "/layer.tar\",\"" + D2.hex() + "/layer.tar\",\""
            + D3.hex() + "/layer.tar\"]}]"));
  }

  @Test
  void finish_thinArchive_listsAllLayersButCarriesOnlySentOnes() throws IOException {
    Map<String, byte[]> entries = TarFixtures.entries(write(true));
    assertThat(entries).doesNotContainKey(D1.hex() + "/layer.tar").containsKey(D2.hex() + "/layer.tar");
    assertThat(new String(entries.get("manifest.json"), StandardCharsets.UTF_8))
        .contains(D1.hex() + "/layer.tar", D2.hex() + "/layer.tar", D3.hex() + "/layer.tar");
  }

  @Test
  void finish_sameInputTwice_givesSameBytes() throws IOException {
    assertThat(write(true)).isEqualTo(write(true));
    assertThat(write(false)).isEqualTo(write(false));
  }

  @Test
  void write_saveArchiveRoundTrip_readsBackSameConfigAndLayers() throws IOException {
    byte[] tar = write(false);
    List<Digest> layers = new ArrayList<>();
    SaveArchive.Result r = SaveArchive.read(new ByteArrayInputStream(tar),
        (p, s, c) -> layers.add(TarFixtures.sha256(c)));
    assertThat(r.config()).isEqualTo(CONFIG);
    assertThat(layers).containsExactly(D1, D2, D3);
    assertThat(r.repoTags()).containsExactly("app:1", "app:latest");
  }

  @Test
  void writeLayer_contentShorterThanSize_failsNamingLayer() throws IOException {
    LoadArchiveWriter w = new LoadArchiveWriter(new ByteArrayOutputStream());
    w.writeConfig(CONFIG);
    assertThatThrownBy(() -> w.writeLayer(D1, L1.length + 10, new ByteArrayInputStream(L1)))
        .isInstanceOf(DigestMismatchException.class)
        .hasMessageContaining("layer " + D1 + " is shorter than its recorded size");
  }

  @Test
  void writeLayer_contentLongerThanSize_failsNamingLayer() throws IOException {
    LoadArchiveWriter w = new LoadArchiveWriter(new ByteArrayOutputStream());
    w.writeConfig(CONFIG);
    assertThatThrownBy(() -> w.writeLayer(D1, L1.length - 1, new ByteArrayInputStream(L1)))
        .isInstanceOf(DigestMismatchException.class)
        .hasMessageContaining("is longer than its recorded size of " + (L1.length - 1));
  }

  @Test
  void writeLayer_wrongContent_failsWithDigestMismatch() throws IOException {
    LoadArchiveWriter w = new LoadArchiveWriter(new ByteArrayOutputStream());
    w.writeConfig(CONFIG);
    byte[] bad = L2.clone();
    bad[100] ^= 1;
    assertThatThrownBy(() -> w.writeLayer(D2, bad.length, new ByteArrayInputStream(bad)))
        .isInstanceOf(DigestMismatchException.class)
        .hasMessageContaining("layer " + D2 + " is corrupt");
  }

  @Test
  void finish_middleLayerNotSent_failsWithChainRule() throws IOException {
    LoadArchiveWriter w = new LoadArchiveWriter(new ByteArrayOutputStream());
    w.writeConfig(CONFIG);
    w.writeLayer(D1, L1.length, new ByteArrayInputStream(L1));
    w.writeLayer(D3, L3.length, new ByteArrayInputStream(L3));
    assertThatThrownBy(() -> w.finish(List.of(D1, D2, D3), List.of()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("layer 2 of 3")
        .hasMessageContaining("every layer above a missing one must be sent");
  }

  @Test
  void finish_withoutConfig_fails() throws IOException {
    LoadArchiveWriter w = new LoadArchiveWriter(new ByteArrayOutputStream());
    w.writeLayer(D1, L1.length, new ByteArrayInputStream(L1));
    assertThatThrownBy(() -> w.finish(List.of(D1), List.of()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("writeConfig must come before finish");
  }

  @Test
  void writeConfig_afterLayers_givesTheSameManifest() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (LoadArchiveWriter w = new LoadArchiveWriter(out)) {
      w.writeLayer(D2, L2.length, new ByteArrayInputStream(L2));
      w.writeLayer(D3, L3.length, new ByteArrayInputStream(L3));
      w.writeConfig(CONFIG);
      w.finish(List.of(D1, D2, D3), List.of("app:1", "app:latest"));
    }
    Map<String, byte[]> late = TarFixtures.entries(out.toByteArray());
    Map<String, byte[]> first = TarFixtures.entries(write(true));
    assertThat(late.keySet()).containsExactly(D2.hex() + "/layer.tar", D3.hex() + "/layer.tar",
        Digest.of(CONFIG).hex() + ".json", "manifest.json");
    assertThat(late.get("manifest.json")).isEqualTo(first.get("manifest.json"));
  }

  @Test
  void writeLayerUnnamed_returnsItsDigestAndTheManifestListsItsEntry() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (LoadArchiveWriter w = new LoadArchiveWriter(out)) {
      assertThat(w.writeLayer(L3.length, new ByteArrayInputStream(L3))).isEqualTo(D3);
      w.writeLayer(D2, L2.length, new ByteArrayInputStream(L2));
      w.writeConfig(CONFIG);
      w.finish(List.of(D1, D2, D3), List.of());
    }
    Map<String, byte[]> entries = TarFixtures.entries(out.toByteArray());
    assertThat(entries.get("layer-1/layer.tar")).isEqualTo(L3);
    assertThat(new ObjectMapper().readTree(entries.get("manifest.json")).get(0).get("Layers").toString())
        .isEqualTo("[\"" + D1.hex() + "/layer.tar\",\"" + D2.hex() + "/layer.tar\",\"layer-1/layer.tar\"]");
  }

  @Test
  void writeLayerUnnamed_notALayerOfTheImage_failsAtFinish() throws IOException {
    LoadArchiveWriter w = new LoadArchiveWriter(new ByteArrayOutputStream());
    w.writeConfig(CONFIG);
    w.writeLayer(L1.length, new ByteArrayInputStream(L1));
    assertThatThrownBy(() -> w.finish(List.of(D2, D3), List.of()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not in the image's diffIDs");
  }

  @Test
  void writeLayerUnnamed_contentShorterThanSize_failsWithDigestMismatch() {
    LoadArchiveWriter w = new LoadArchiveWriter(new ByteArrayOutputStream());
    assertThatThrownBy(() -> w.writeLayer(L1.length + 1, new ByteArrayInputStream(L1)))
        .isInstanceOf(DigestMismatchException.class)
        .hasMessageContaining("layer layer-1/layer.tar is shorter than its recorded size");
  }

  @Test
  void writeLayer_sameLayerTwice_fails() throws IOException {
    LoadArchiveWriter w = new LoadArchiveWriter(new ByteArrayOutputStream());
    w.writeConfig(CONFIG);
    w.writeLayer(D1, L1.length, new ByteArrayInputStream(L1));
    assertThatThrownBy(() -> w.writeLayer(D1, L1.length, new ByteArrayInputStream(L1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already written");
  }

  @Test
  void close_afterFinish_leavesUnderlyingStreamOpen() throws IOException {
    boolean[] closed = {false};
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    FilterOutputStream out = new FilterOutputStream(bytes) {
      @Override
      public void close() {
        closed[0] = true;
      }
    };
    try (LoadArchiveWriter w = new LoadArchiveWriter(out)) {
      w.writeConfig(CONFIG);
      w.finish(List.of(), List.of());
    }
    assertThat(closed[0]).isFalse();
    assertThat(TarFixtures.names(bytes.toByteArray())).containsExactly(Digest.of(CONFIG).hex() + ".json",
        "manifest.json");
  }

  @Test
  void writeLayer_contentStream_isNotClosed() throws IOException {
    TarFixtures.CloseTracking in = new TarFixtures.CloseTracking(new ByteArrayInputStream(L1));
    LoadArchiveWriter w = new LoadArchiveWriter(new ByteArrayOutputStream());
    w.writeConfig(CONFIG);
    w.writeLayer(D1, L1.length, in);
    assertThat(in.closed).isFalse();
    InputStream unused = in;
    assertThat(unused.read()).isEqualTo(-1);
  }
}
