package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Digest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for {@link LoadArchiveWriter}: loads full and thin archives into a real private dockerd and shows the
 * chain-id rule (only a bottom prefix of layers may be omitted).
 */
@ExtendWith(DockerHosts.class)
class LoadArchiveWriterIT {
  private static final byte[] L1 = TarFixtures.layer("base.txt", 3000, 1);
  private static final byte[] L2 = TarFixtures.layer("middle.txt", 2000, 2);
  private static final byte[] L3 = TarFixtures.layer("top.txt", 1000, 3);
  private static final Map<Digest, byte[]> LAYERS = Map.of(Digest.of(L1), L1, Digest.of(L2), L2, Digest.of(L3), L3);
  private static final Digest D1 = Digest.of(L1);
  private static final Digest D2 = Digest.of(L2);
  private static final Digest D3 = Digest.of(L3);

  private DockerDaemon engine;

  @TempDir
  Path tmp;

  /** Host A, without any image but the base test image (which shares no layer with these). */
  @BeforeEach
  void cleanHost(DockerDaemon a) {
    engine = a;
    DockerHosts.cleanAll(engine);
  }

  @AfterEach
  void cleanUp() {
    DockerHosts.cleanAll(engine);
  }

  /** The result of one docker CLI run, stdout and stderr together. */
  private static final class Run {
    final int exitCode;
    final String output;

    Run(DockerDaemon.Result r) {
      this.exitCode = r.exitCode;
      this.output = (r.stdout + r.stderr).trim();
    }

    @Override
    public String toString() {
      return "exit " + exitCode + ": " + output;
    }
  }

  private static byte[] config(List<Digest> diffIds) {
    StringBuilder ids = new StringBuilder();
    for (Digest d : diffIds) {
      ids.append(ids.length() == 0 ? "" : ",").append('"').append(d).append('"');
    }
    return ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/x\"]},"
        + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + ids + "]}}").getBytes(StandardCharsets.UTF_8);
  }

  /** Writes a load archive of the image {@code diffIds} sending only {@code send}, and returns its file. */
  private Path archive(String name, List<Digest> diffIds, List<Digest> send, String tag) throws IOException {
    Path file = tmp.resolve(name);
    try (OutputStream out = Files.newOutputStream(file); LoadArchiveWriter w = new LoadArchiveWriter(out)) {
      w.writeConfig(config(diffIds));
      for (Digest d : send) {
        w.writeLayer(d, LAYERS.get(d).length, new ByteArrayInputStream(LAYERS.get(d)));
      }
      w.finish(diffIds, List.of(tag));
    }
    return file;
  }

  private Run load(Path file) {
    return new Run(engine.run(null, "load", "-i", file.toString()));
  }

  private String imageId(String ref) throws Exception {
    Run r = new Run(engine.run(null, "image", "inspect", "--format", "{{.Id}}", ref));
    assertThat(r.exitCode).as("inspect %s: %s", ref, r).isZero();
    return r.output;
  }

  private List<String> layers(String ref) throws Exception {
    Run r = new Run(engine.run(null, "image", "inspect", "--format", "{{range .RootFS.Layers}}{{.}} {{end}}",
        ref));
    assertThat(r.exitCode).as("inspect %s: %s", ref, r).isZero();
    return List.of(r.output.trim().split(" "));
  }

  @Test
  void load_fullArchive_createsImageWhoseIdIsTheConfigDigest() throws Exception {
    List<Digest> ids = List.of(D1, D2, D3);
    Run r = load(archive("full.tar", ids, ids, "jmit/full:1"));
    assertThat(r.exitCode).as("docker load: %s", r).isZero();
    assertThat(imageId("jmit/full:1")).isEqualTo(Digest.of(config(ids)).toString());
    assertThat(layers("jmit/full:1")).containsExactly(D1.toString(), D2.toString(), D3.toString());
  }

  @Test
  void load_thinArchiveOntoHostWithBase_loadsWithoutTheBaseLayer() throws Exception {
    assertThat(load(archive("base.tar", List.of(D1), List.of(D1), "jmit/base:1")).exitCode).isZero();
    List<Digest> ids = List.of(D1, D2, D3);
    Path thin = archive("thin.tar", ids, List.of(D2, D3), "jmit/full:1");
    assertThat(TarFixtures.names(Files.readAllBytes(thin))).doesNotContain(D1.hex() + "/layer.tar");
    Run r = load(thin);
    assertThat(r.exitCode).as("thin docker load: %s", r).isZero();
    assertThat(imageId("jmit/full:1")).isEqualTo(Digest.of(config(ids)).toString());
    assertThat(layers("jmit/full:1")).containsExactly(D1.toString(), D2.toString(), D3.toString());
  }

  @Test
  void load_thinArchiveOntoHostWithoutBase_failsWithTheEnginesError() throws Exception {
    List<Digest> ids = List.of(D1, D2, D3);
    Run r = load(archive("thin.tar", ids, List.of(D2, D3), "jmit/full:1"));
    assertThat(r.exitCode).as("thin load onto an empty host must fail: %s", r).isNotZero();
    assertThat(r.output).contains(D1.hex() + "/layer.tar").contains("no such file or directory");
    assertThat(engine.run(null, "image", "inspect", "jmit/full:1").exitCode).isNotZero();
  }

  @Test
  void load_middleLayerMissingOnHost_everyLayerAboveItMustBeSent() throws Exception {
    // The host has L1 and L3, but L3 sits on L1 there (chain L1→L3), not on L2.
    assertThat(load(archive("side.tar", List.of(D1, D3), List.of(D1, D3), "jmit/side:1")).exitCode).isZero();
    List<Digest> ids = List.of(D1, D2, D3);

    // Omitting L3 because the host "has" it is wrong: its chain L1→L2→L3 is new. The writer refuses ...
    LoadArchiveWriter refusing = new LoadArchiveWriter(OutputStream.nullOutputStream());
    refusing.writeConfig(config(ids));
    refusing.writeLayer(D2, L2.length, new ByteArrayInputStream(L2));
    assertThatThrownBy(() -> refusing.finish(ids, List.of("jmit/full:1")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("every layer above a missing one must be sent");

    // ... and the engine fails on such a tar, made by hand, asking for the omitted layer.
    String manifest = "[{\"Config\":\"" + Digest.of(config(ids)).hex() + ".json\",\"RepoTags\":[\"jmit/full:1\"],"
        + "\"Layers\":[\"" + D1.hex() + "/layer.tar\",\"" + D2.hex() + "/layer.tar\",\"" + D3.hex()
        + "/layer.tar\"]}]";
    byte[] wrong = new TarFixtures.Builder()
        .file(Digest.of(config(ids)).hex() + ".json", config(ids))
        .file(D2.hex() + "/layer.tar", L2)
        .file("manifest.json", manifest)
        .build();
    Path wrongFile = tmp.resolve("wrong.tar");
    Files.write(wrongFile, wrong);
    Run r = load(wrongFile);
    assertThat(r.exitCode).as("load without L3: %s", r).isNotZero();
    assertThat(r.output).contains(D3.hex() + "/layer.tar").contains("no such file or directory");

    // Sending L2 and everything above it works.
    Run ok = load(archive("right.tar", ids, List.of(D2, D3), "jmit/full:1"));
    assertThat(ok.exitCode).as("load with L2 and L3: %s", ok).isZero();
    List<String> expected = new ArrayList<>();
    ids.forEach(d -> expected.add(d.toString()));
    assertThat(layers("jmit/full:1")).containsExactlyElementsOf(expected);
  }
}
