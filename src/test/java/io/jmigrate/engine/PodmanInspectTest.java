package io.jmigrate.engine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Json;
import org.junit.jupiter.api.Test;

/** Tests for {@link Engine}'s reading of a Podman container's inspect in Docker's terms. */
class PodmanInspectTest {
  @Test
  void dockerBind_podmanVolumeOptions_keepsOnlyWhatDockerTakes() {
    assertThat(Engine.dockerBind("web-data:/data:rw,rprivate,nosuid,nodev,rbind")).isEqualTo("web-data:/data:rw");
    assertThat(Engine.dockerBind("/srv/conf:/conf:ro,rslave,nosuid,rbind")).isEqualTo("/srv/conf:/conf:ro,rslave");
    assertThat(Engine.dockerBind("/srv/x:/x:nosuid")).isEqualTo("/srv/x:/x");
    assertThat(Engine.dockerBind("web-data:/data")).isEqualTo("web-data:/data");
  }

  @Test
  void withoutPodmanDefaults_envRuntimeAndDefaultNetwork_becomeWhatTheUserSet() throws Exception {
    ObjectNode inspect = Json.object(("{\"Config\": {\"Hostname\": \"852cd54e5a0d\", \"Env\": [\"PATH=/usr/local/sbin:"
        + "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\", \"container=podman\", \"APP_MODE=prod\","
        + " \"HOME=/root\", \"HOSTNAME=852cd54e5a0d\"]}, \"HostConfig\": {\"Runtime\": \"oci\", \"NetworkMode\":"
        + " \"podman\", \"Binds\": [\"d:/data:rw,rprivate,nosuid,nodev,rbind\"]}, \"NetworkSettings\": {\"Networks\":"
        + " {\"podman\": {\"IPAddress\": \"10.88.0.2\"}}}}").getBytes(java.nio.charset.StandardCharsets.UTF_8), "x");

    Engine.withoutPodmanDefaults(inspect);

    assertThat(inspect.path("Config").path("Env").toString()).isEqualTo("[\"APP_MODE=prod\"]");
    assertThat(inspect.path("HostConfig").has("Runtime")).isFalse();
    assertThat(inspect.path("HostConfig").path("NetworkMode").asText()).isEqualTo("bridge");
    assertThat(inspect.path("HostConfig").path("Binds").get(0).asText()).isEqualTo("d:/data:rw");
    assertThat(inspect.path("NetworkSettings").path("Networks").fieldNames()).toIterable().containsExactly("bridge");
  }

  @Test
  void imageId_podmanBareHex_getsTheAlgorithm() {
    assertThat(Engine.imageId("db8d0eda")).isEqualTo("sha256:db8d0eda");
    assertThat(Engine.imageId("sha256:db8d0eda")).isEqualTo("sha256:db8d0eda");
  }
}
