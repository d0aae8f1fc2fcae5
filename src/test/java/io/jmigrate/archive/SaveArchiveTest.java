package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jmigrate.blob.Digest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/** Tests for {@link SaveArchive}. */
class SaveArchiveTest {
  private static final Digest BASE = Digest.parse(
      "sha256:5801de06579f30cb14288c05bd19d4ad192c08ce9a42e25f724dd583ac841f57");
  private static final Digest TOP = Digest.parse(
      "sha256:ee65907c3c81b848abd9b88c4b28e2027e78c707a625d9d8aba483aef3f18c24");

  /** Records each call: path, size given, and the digest of what the handler read. */
  private static final class Recorder implements SaveArchive.LayerHandler {
    final List<String> paths = new ArrayList<>();
    final List<Long> sizes = new ArrayList<>();
    final List<Digest> digests = new ArrayList<>();

    @Override
    public void layer(String path, long size, InputStream content) throws IOException {
      paths.add(path);
      sizes.add(size);
      digests.add(TarFixtures.sha256(content));
    }
  }

  private static List<Digest> diffIds(byte[] config) throws IOException {
    JsonNode c = new ObjectMapper().readTree(config);
    List<Digest> out = new ArrayList<>();
    c.get("rootfs").get("diff_ids").forEach(d -> out.add(Digest.parse(d.asText())));
    return out;
  }

  @Test
  void read_legacyDockerSave_handsEachLayerUncompressedInManifestOrder() throws IOException {
    Recorder r = new Recorder();
    SaveArchive.Result result;
    try (InputStream in = TarFixtures.resource("legacy-two-layers.tar")) {
      result = SaveArchive.read(in, r);
    }
    assertThat(result.repoTags()).containsExactly("jmfixture/app:1");
    assertThat(result.configDigest().hex())
        .isEqualTo("2dbe78f98897084649ac6fe02950d4ee39831005f60f70c158575f449a1e67d5");
    assertThat(diffIds(result.config())).containsExactly(BASE, TOP);
    assertThat(result.layerPaths()).containsExactly(
        "145ecf928402541ae05e91eabd37f7a5322f539775853197daf75733e03a1b29/layer.tar",
        "61c708fc2f5421ca4f6748998c13f6333ffe368d2cd7e04b467a295ecb233b2d/layer.tar");
    assertThat(r.paths).isEqualTo(result.layerPaths());
    assertThat(r.digests).containsExactly(BASE, TOP);
    assertThat(r.sizes).containsExactly(10240L, 2560L);
  }

  @Test
  void read_largeLayerAboveThreshold_isStreamedBeforeManifestAndSmallOnesAfter() throws IOException {
    Recorder r = new Recorder();
    SaveArchive.Result result;
    try (InputStream in = TarFixtures.resource("legacy-two-layers.tar")) {
      // 4 KiB threshold: the 10 KiB base layer streams by, the 2.5 KiB top layer waits for manifest.json.
      result = SaveArchive.read(in, r, 4096, SaveArchive.MEMORY_BUDGET);
    }
    assertThat(r.paths).containsExactlyElementsOf(result.layerPaths());
    assertThat(r.digests).containsExactly(BASE, TOP);
  }

  @Test
  void read_smallEntriesBeyondMemoryBudget_spillToDiskAndStillArrive() throws IOException {
    Recorder r = new Recorder();
    SaveArchive.Result result;
    try (InputStream in = TarFixtures.resource("legacy-two-layers.tar")) {
      result = SaveArchive.read(in, r, SaveArchive.STREAM_THRESHOLD, 0);
    }
    assertThat(r.digests).containsExactly(BASE, TOP);
    assertThat(diffIds(result.config())).containsExactly(BASE, TOP);
  }

  @Test
  void read_ociLayoutWithGzipAndZstdLayers_handsDecompressedLayers() throws IOException {
    Recorder r = new Recorder();
    SaveArchive.Result result;
    try (InputStream in = TarFixtures.resource("oci-gzip-zstd.tar")) {
      result = SaveArchive.read(in, r);
    }
    assertThat(result.repoTags()).containsExactly("jmfixture/app:1");
    assertThat(diffIds(result.config())).containsExactly(BASE, TOP);
    assertThat(r.digests).containsExactly(BASE, TOP);
    assertThat(r.sizes).containsExactly(-1L, -1L);
    assertThat(result.layerPaths()).allMatch(p -> p.startsWith("blobs/sha256/"));
  }

  @Test
  void read_ociLayoutStreamedAboveThreshold_decompressesWhileStreaming() throws IOException {
    Recorder r = new Recorder();
    try (InputStream in = TarFixtures.resource("oci-gzip-zstd.tar")) {
      SaveArchive.read(in, r, 100, SaveArchive.MEMORY_BUDGET);
    }
    assertThat(r.digests).containsExactlyInAnyOrder(BASE, TOP);
  }

  @Test
  void read_layerListedTwiceAndSymlinked_reachesHandlerOnce() throws IOException {
    byte[] l1 = TarFixtures.layer("a.txt", 3000, 1);
    byte[] l2 = TarFixtures.layer("b.txt", 100, 2);
    byte[] config = ("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + Digest.of(l1) + "\",\"" + Digest.of(l2)
        + "\",\"" + Digest.of(l1) + "\"]}}").getBytes();
    byte[] tar = new TarFixtures.Builder()
        .file("aaa/layer.tar", l1)
        .file("bbb/layer.tar", l2)
        // moby writes a repeated layer as a relative symlink to the first copy
        .symlink("ccc/layer.tar", "../aaa/layer.tar")
        .file(Digest.of(config).hex() + ".json", config)
        .file("manifest.json", "[{\"Config\":\"" + Digest.of(config).hex() + ".json\",\"RepoTags\":null,"
            + "\"Layers\":[\"aaa/layer.tar\",\"bbb/layer.tar\",\"ccc/layer.tar\",\"aaa/layer.tar\"]}]")
        .build();
    Recorder r = new Recorder();
    SaveArchive.Result result = SaveArchive.read(new ByteArrayInputStream(tar), r);
    assertThat(r.paths).containsExactly("aaa/layer.tar", "bbb/layer.tar");
    assertThat(r.digests).containsExactly(Digest.of(l1), Digest.of(l2));
    assertThat(result.layerPaths())
        .containsExactly("aaa/layer.tar", "bbb/layer.tar", "aaa/layer.tar", "aaa/layer.tar");
    assertThat(result.repoTags()).isEmpty();
  }

  @Test
  void read_handlerReadsOnlyPart_restIsDrainedAndNextLayersAreIntact() throws IOException {
    List<Digest> seen = new ArrayList<>();
    try (InputStream in = TarFixtures.resource("legacy-two-layers.tar")) {
      SaveArchive.read(in, (path, size, content) -> {
        if (seen.isEmpty()) {
          content.readNBytes(10);
          seen.add(null);
        } else {
          seen.add(TarFixtures.sha256(content));
        }
      }, 4096, SaveArchive.MEMORY_BUDGET);
    }
    assertThat(seen).containsExactly(null, TOP);
  }

  @Test
  void read_anyStream_leavesCallerStreamOpenAndConsumed() throws IOException {
    byte[] bytes = TarFixtures.resourceBytes("legacy-one-layer.tar");
    ByteArrayInputStream raw = new ByteArrayInputStream(bytes);
    TarFixtures.CloseTracking in = new TarFixtures.CloseTracking(raw);
    SaveArchive.read(in, new Recorder());
    assertThat(in.closed).isFalse();
    assertThat(raw.available()).isZero();
  }

  @Test
  void read_gzippedSaveStream_isDecompressed() throws IOException {
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (GZIPOutputStream g = new GZIPOutputStream(gz)) {
      g.write(TarFixtures.resourceBytes("legacy-two-layers.tar"));
    }
    Recorder r = new Recorder();
    SaveArchive.read(new ByteArrayInputStream(gz.toByteArray()), r);
    assertThat(r.digests).containsExactly(BASE, TOP);
  }

  @Test
  void read_noManifest_failsNamingManifestJson() {
    byte[] tar = new TarFixtures.Builder().file("abc/layer.tar", TarFixtures.layer("x", 10, 0)).build();
    assertThatThrownBy(() -> SaveArchive.read(new ByteArrayInputStream(tar), new Recorder()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("has no manifest.json");
  }

  @Test
  void read_manifestNamesMissingLayer_failsNamingTheEntry() {
    byte[] tar = new TarFixtures.Builder()
        .file("c.json", "{}")
        .file("manifest.json", "[{\"Config\":\"c.json\",\"RepoTags\":[],\"Layers\":[\"gone/layer.tar\"]}]")
        .build();
    assertThatThrownBy(() -> SaveArchive.read(new ByteArrayInputStream(tar), new Recorder()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("lists layer 'gone/layer.tar' but the archive has no such entry");
  }

  @Test
  void read_manifestNamesMissingConfig_failsNamingTheConfig() {
    byte[] tar = new TarFixtures.Builder()
        .file("manifest.json", "[{\"Config\":\"nope.json\",\"Layers\":[]}]")
        .build();
    assertThatThrownBy(() -> SaveArchive.read(new ByteArrayInputStream(tar), new Recorder()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("names config 'nope.json'");
  }

  @Test
  void read_notATar_failsSayingSo() {
    byte[] junk = new byte[4096];
    for (int i = 0; i < junk.length; i++) {
      junk[i] = (byte) (i * 7 + 3);
    }
    assertThatThrownBy(() -> SaveArchive.read(new ByteArrayInputStream(junk), new Recorder()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("not a tar");
  }

  @Test
  void read_emptyStream_failsSayingSo() {
    assertThatThrownBy(() -> SaveArchive.read(new ByteArrayInputStream(new byte[0]), new Recorder()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("empty or not a tar");
  }

  @Test
  void read_manifestWithTwoImages_failsClearly() {
    byte[] tar = new TarFixtures.Builder()
        .file("c.json", "{}")
        .file("manifest.json", "[{\"Config\":\"c.json\",\"Layers\":[]},{\"Config\":\"c.json\",\"Layers\":[]}]")
        .build();
    assertThatThrownBy(() -> SaveArchive.read(new ByteArrayInputStream(tar), new Recorder()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("exactly one image, found 2");
  }

  @Test
  void read_sameArchiveTwice_givesSameResult() throws IOException {
    Map<String, Digest> first = new LinkedHashMap<>();
    Map<String, Digest> second = new LinkedHashMap<>();
    try (InputStream in = TarFixtures.resource("oci-gzip-zstd.tar")) {
      SaveArchive.read(in, (p, s, c) -> first.put(p, TarFixtures.sha256(c)));
    }
    try (InputStream in = TarFixtures.resource("oci-gzip-zstd.tar")) {
      SaveArchive.read(in, (p, s, c) -> second.put(p, TarFixtures.sha256(c)));
    }
    assertThat(second).isEqualTo(first);
  }
}
