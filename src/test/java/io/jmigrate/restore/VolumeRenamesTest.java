package io.jmigrate.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.Json;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.snapshot.SnapshotDocument;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tests for {@link VolumeRenames}. */
class VolumeRenamesTest {
  private static final Descriptor BLOB = Descriptor.of(MediaTypes.VOLUME_TAR_ZSTD, Digest.of(new byte[] {1}), 1);

  private static SnapshotDocument doc(ObjectNode inspect, List<SnapshotDocument.Volume> volumes) {
    Descriptor cfg = Descriptor.of(MediaTypes.OCI_CONFIG, Digest.of(new byte[] {2}), 1);
    return new SnapshotDocument(1, new SnapshotDocument.Tool("jmigrate", "t"),
        new SnapshotDocument.Container("web", "abc", inspect),
        new SnapshotDocument.Image("img", "sha256:" + "a".repeat(64), cfg, cfg, List.of()), volumes,
        List.of(new SnapshotDocument.Network("appnet", Json.newObject())), "pause",
        new SnapshotDocument.Source("h", "h", "20.10", "1.41", "amd64", "linux"),
        new SnapshotDocument.Times(Instant.EPOCH, Instant.EPOCH, Instant.EPOCH, Instant.EPOCH));
  }

  private static SnapshotDocument.Volume vol(String name, String type, boolean anonymous, String driver,
      Map<String, String> opts, String dest, String src) {
    return new SnapshotDocument.Volume(name, type, anonymous, driver, opts, Map.of("owner", "web"), dest, src, false,
        BLOB, Digest.of(new byte[] {3}), 10, "direct");
  }

  private static SnapshotDocument sample() throws Exception {
    ObjectNode inspect = (ObjectNode) Json.MAPPER.readTree("{\"Id\":\"abc\",\"Name\":\"/web\",\"HostConfig\":{"
        + "\"NetworkMode\":\"appnet\",\"Binds\":[\"webdata:/data:rw,z\",\"/srv/conf:/conf:ro,rslave\","
        + "\"/var/run/docker.sock:/var/run/docker.sock\"],\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"logs\","
        + "\"Target\":\"/logs\",\"ReadOnly\":true},{\"Type\":\"volume\",\"Target\":\"/anon2\"},"
        + "{\"Type\":\"bind\",\"Source\":\"/etc/app.conf\",\"Target\":\"/app.conf\"}]}}");
    return doc(inspect, List.of(
        vol("webdata", "volume", false, "local", Map.of(), "/data", null),
        vol(null, "bind", false, null, Map.of(), "/conf", "/srv/conf"),
        vol("logs", "volume", false, "local", Map.of("type", "nfs", "o", "addr=10.0.0.1", "device", ":/export"),
            "/logs", null),
        vol("f".repeat(64), "volume", true, "local", Map.of(), "/anon", null)));
  }

  @Test
  void withPrefix_volumesBindsAndMounts_mountFreshVolumesAndKeepTheRest() throws Exception {
    SnapshotDocument out = VolumeRenames.withPrefix(sample(), "copy-");

    ObjectNode host = (ObjectNode) out.container().inspect().path("HostConfig");
    assertThat(host.path("Binds").toString()).isEqualTo("[\"copy-webdata:/data:rw\",\"copy-srv_conf:/conf:ro\","
        + "\"/var/run/docker.sock:/var/run/docker.sock\"]");
    assertThat(host.path("Mounts").toString()).isEqualTo("[{\"Type\":\"volume\",\"Source\":\"copy-logs\","
        + "\"Target\":\"/logs\",\"ReadOnly\":true},{\"Type\":\"volume\",\"Target\":\"/anon2\"},"
        + "{\"Type\":\"bind\",\"Source\":\"/etc/app.conf\",\"Target\":\"/app.conf\"}]");
    assertThat(out.volumes()).extracting(SnapshotDocument.Volume::name)
        .containsExactly("copy-webdata", "copy-srv_conf", "copy-logs", "f".repeat(64));
    assertThat(out.volumes().get(1).type()).isEqualTo("volume");
    assertThat(out.volumes().get(1).source()).isNull();
    assertThat(out.volumes().get(0).labels()).containsEntry("owner", "web");
    assertThat(out.volumes().get(2).driverOpts()).as("an NFS-backed copy would write the original's export")
        .isEmpty();
    assertThat(out.volumes().get(3).anonymous()).isTrue();
    assertThat(out.container().name()).isEqualTo("web");
    assertThat(out.networks()).extracting(SnapshotDocument.Network::name).containsExactly("appnet");
  }

  @Test
  void withPrefix_original_isNotChanged() throws Exception {
    SnapshotDocument in = sample();
    String before = in.container().inspect().toString();

    VolumeRenames.withPrefix(in, "copy-");

    assertThat(in.container().inspect().toString()).isEqualTo(before);
    assertThat(in.volumes().get(0).name()).isEqualTo("webdata");
  }

  @Test
  void withPrefix_tmpfsBackedLocalVolume_keepsItsOptions() throws Exception {
    SnapshotDocument in = doc(Json.newObject(), List.of(vol("cache", "volume", false, "local",
        Map.of("type", "tmpfs", "device", "tmpfs", "o", "size=64m"), "/cache", null)));

    SnapshotDocument out = VolumeRenames.withPrefix(in, "b.");

    assertThat(out.volumes().get(0).name()).isEqualTo("b.cache");
    assertThat(out.volumes().get(0).driverOpts()).containsEntry("type", "tmpfs").containsEntry("o", "size=64m");
  }

  @Test
  void withPrefix_badPrefix_isRefusedWithWhatIsAllowed() throws Exception {
    SnapshotDocument in = sample();
    for (String bad : List.of("", "-x", "a/b", "a:b", "é")) {
      assertThatThrownBy(() -> VolumeRenames.withPrefix(in, bad)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("cannot start a volume name").hasMessageContaining("letters, digits");
    }
  }

  @Test
  void apply_withoutKeepUnrecorded_dropsMountsTheSnapshotDoesNotHold() throws Exception {
    SnapshotDocument out = VolumeRenames.apply(sample(), (i, v) -> v.anonymous() ? v
        : new SnapshotDocument.Volume("n" + i, "volume", false, "local", Map.of(), Map.of(), v.destination(), null,
            v.readOnly(), v.content(), v.diffId(), v.uncompressedSize(), v.method()), false);

    ObjectNode host = (ObjectNode) out.container().inspect().path("HostConfig");
    assertThat(host.path("Binds").toString()).isEqualTo("[\"n1:/data:rw\",\"n2:/conf:ro\"]");
    assertThat(host.path("Mounts").toString()).isEqualTo("[{\"Type\":\"volume\",\"Source\":\"n3\","
        + "\"Target\":\"/logs\",\"ReadOnly\":true},{\"Type\":\"volume\",\"Target\":\"/anon2\"}]");
  }
}
