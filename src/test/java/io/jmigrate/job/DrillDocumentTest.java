package io.jmigrate.job;

import static org.assertj.core.api.Assertions.assertThat;

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

/** Tests for {@link DrillDocument}. */
class DrillDocumentTest {
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

  private static SnapshotDocument.Volume vol(String name, String type, boolean anonymous, String dest, String src,
      Descriptor content) {
    return new SnapshotDocument.Volume(name, type, anonymous, type.equals("volume") ? "rexray" : null,
        type.equals("volume") ? Map.of("type", "nfs", "device", ":/export") : Map.of(), Map.of("owner", "web"), dest,
        src, false, content, content == null ? null : Digest.of(new byte[] {3}), 10, "direct");
  }

  @Test
  void of_containerWithVolumesBindsNetworksAndPorts_isolatesTheClone() throws Exception {
    ObjectNode inspect = (ObjectNode) Json.MAPPER.readTree("{\"Id\":\"abc\",\"Name\":\"/web\","
        + "\"Config\":{\"Labels\":{\"com.docker.compose.project\":\"shop\"},\"MacAddress\":\"02:42:ac:11:00:02\"},"
        + "\"HostConfig\":{\"NetworkMode\":\"appnet\",\"Binds\":[\"webdata:/data:rw,z\",\"/srv/conf:/conf:ro\","
        + "\"/var/run/docker.sock:/var/run/docker.sock\"],\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"logs\","
        + "\"Target\":\"/logs\",\"VolumeOptions\":{\"DriverConfig\":{\"Name\":\"rexray\"}}},{\"Type\":\"volume\","
        + "\"Target\":\"/anon2\"},{\"Type\":\"tmpfs\",\"Target\":\"/run\"}],"
        + "\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"8080\"}]},\"Links\":[\"/db:/web/db\"],"
        + "\"VolumesFrom\":[\"other\"],\"RestartPolicy\":{\"Name\":\"always\"},\"IpcMode\":\"container:db\"},"
        + "\"NetworkSettings\":{\"Networks\":{\"appnet\":{\"Aliases\":[\"web\"]}}}}");
    SnapshotDocument d = doc(inspect, List.of(
        vol("webdata", "volume", false, "/data", null, BLOB),
        vol(null, "bind", false, "/conf", "/srv/conf", BLOB),
        vol("logs", "volume", false, "/logs", null, BLOB),
        vol("f".repeat(64), "volume", true, "/anon", null, BLOB)));

    SnapshotDocument out = DrillDocument.of(d, "web-drill-0123456789ab", "0123456789ab");

    ObjectNode host = (ObjectNode) out.container().inspect().path("HostConfig");
    assertThat(host.path("NetworkMode").asText()).isEqualTo("none");
    assertThat(host.has("PortBindings")).isFalse();
    assertThat(host.has("Links")).isFalse();
    assertThat(host.has("VolumesFrom")).isFalse();
    assertThat(host.path("RestartPolicy").path("Name").asText()).isEqualTo("no");
    assertThat(host.path("IpcMode").asText()).isEqualTo("private");
    assertThat(host.path("Binds").toString()).isEqualTo(
        "[\"web-drill-0123456789ab-webdata:/data:rw\",\"web-drill-0123456789ab-bind2:/conf:ro\"]");
    assertThat(host.path("Mounts").toString()).isEqualTo("[{\"Type\":\"volume\",\"Source\":"
        + "\"web-drill-0123456789ab-logs\",\"Target\":\"/logs\"},{\"Type\":\"volume\",\"Target\":\"/anon2\"},"
        + "{\"Type\":\"tmpfs\",\"Target\":\"/run\"}]");
    assertThat(out.container().inspect().path("NetworkSettings").path("Networks").size()).isZero();
    assertThat(out.container().inspect().path("Config").path("Labels").path(JobRunner.DRILL_LABEL).asText())
        .isEqualTo("0123456789ab");
    assertThat(out.container().inspect().path("Config").has("MacAddress")).isFalse();
    assertThat(out.networks()).isEmpty();
    assertThat(out.volumes()).extracting(SnapshotDocument.Volume::name).containsExactly(
        "web-drill-0123456789ab-webdata", "web-drill-0123456789ab-bind2", "web-drill-0123456789ab-logs",
        "f".repeat(64));
    for (SnapshotDocument.Volume v : out.volumes()) {
      assertThat(v.type()).isEqualTo("volume");
      assertThat(v.driver()).isEqualTo("local");
      assertThat(v.driverOpts()).isEmpty();
      assertThat(v.source()).isNull();
      assertThat(v.labels()).containsEntry(JobRunner.DRILL_LABEL, "0123456789ab").containsEntry("owner", "web");
      assertThat(v.content()).isEqualTo(BLOB);
    }
    assertThat(out.volumes().get(3).anonymous()).isTrue();
    // The stored document is not changed.
    assertThat(d.container().inspect().path("HostConfig").path("NetworkMode").asText()).isEqualTo("appnet");
    assertThat(d.volumes().get(0).name()).isEqualTo("webdata");
  }

  @Test
  void scratchName_oddContainerName_isAValidContainerName() {
    assertThat(DrillDocument.scratchName("my app", "0123456789ab")).isEqualTo("my_app-drill-0123456789ab");
  }
}
