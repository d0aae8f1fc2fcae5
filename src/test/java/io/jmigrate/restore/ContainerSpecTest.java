package io.jmigrate.restore;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Json;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tests for {@link ContainerSpec}. */
class ContainerSpecTest {
  private static final String ID = "0123456789abcdef".repeat(4);

  private static ObjectNode inspect(String json) throws Exception {
    return Json.object(json.replace('\'', '"').getBytes(StandardCharsets.UTF_8), "inspect");
  }

  private static ObjectNode sample() throws Exception {
    return inspect("{'Id':'" + ID + "','Name':'/web',"
        + "'Config':{'Hostname':'0123456789ab','Env':['A=1'],'Cmd':['sh'],'Image':'busybox','Labels':{'x':'y'},"
        + "'Unknown':{'kept':true},'Volumes':{'/anon':{}}},"
        + "'HostConfig':{'NetworkMode':'appnet','Binds':['data:/data'],'PortBindings':{'80/tcp':[{'HostIp':'',"
        + "'HostPort':'8080'}]},'Links':['/db:/web/db'],'RestartPolicy':{'Name':'always'}},"
        + "'Mounts':[{'Type':'volume','Name':'" + "f".repeat(64) + "','Destination':'/anon','RW':true}],"
        + "'NetworkSettings':{'Networks':{'appnet':{'IPAMConfig':{'IPv4Address':'10.9.0.5'},'Aliases':['0123456789ab',"
        + "'web','www'],'NetworkID':'n1','EndpointID':'e1','IPAddress':'10.9.0.5','MacAddress':'02:42'},"
        + "'other':{'Aliases':['0123456789ab'],'NetworkID':'n2','IPAddress':'10.8.0.2'}}}}");
  }

  @Test
  void from_inspect_keepsConfigAndHostConfigRawAndSetsTheImage() throws Exception {
    ObjectNode body = ContainerSpec.from(sample(), "jmigrate/web:abc", Map.of(), true, true).body();
    assertThat(body.path("Image").asText()).isEqualTo("jmigrate/web:abc");
    assertThat(body.path("Env").get(0).asText()).isEqualTo("A=1");
    assertThat(body.path("Hostname").asText()).isEqualTo("0123456789ab");
    assertThat(body.path("Unknown").path("kept").asBoolean()).isTrue();
    assertThat(body.path("HostConfig").path("RestartPolicy").path("Name").asText()).isEqualTo("always");
    assertThat(body.path("HostConfig").path("PortBindings").path("80/tcp").get(0).path("HostPort").asText())
        .isEqualTo("8080");
  }

  @Test
  void from_networks_dropAddressesAndTheSourceShortIdAlias() throws Exception {
    ObjectNode ep = (ObjectNode) ContainerSpec.from(sample(), "i", Map.of(), true, true).body()
        .path("NetworkingConfig").path("EndpointsConfig").path("appnet");
    assertThat(ep.path("Aliases")).extracting(n -> n.asText()).containsExactly("web", "www");
    assertThat(ep.path("IPAMConfig").path("IPv4Address").asText()).isEqualTo("10.9.0.5");
    assertThat(ep.has("NetworkID")).isFalse();
    assertThat(ep.has("IPAddress")).isFalse();
    assertThat(ep.has("MacAddress")).isFalse();
  }

  @Test
  void from_oldApi_putsOnlyThePrimaryNetworkInTheBody() throws Exception {
    ContainerSpec spec = ContainerSpec.from(sample(), "i", Map.of(), false, true);
    assertThat(spec.body().path("NetworkingConfig").path("EndpointsConfig").fieldNames()).toIterable()
        .containsExactly("appnet");
    assertThat(spec.connectAfterCreate()).containsOnlyKeys("other");
    assertThat(spec.networks()).containsExactly("appnet", "other");
  }

  @Test
  void from_anonymousVolume_isMountedByItsReplacementsName() throws Exception {
    ObjectNode body = ContainerSpec.from(sample(), "i", Map.of("/anon", "a".repeat(64)), true, true).body();
    assertThat(body.path("HostConfig").path("Binds")).extracting(n -> n.asText())
        .containsExactly("data:/data", "a".repeat(64) + ":/anon");
  }

  @Test
  void from_legacyLinks_becomeNameAndAlias() throws Exception {
    ObjectNode body = ContainerSpec.from(sample(), "i", Map.of(), true, true).body();
    assertThat(body.path("HostConfig").path("Links").get(0).asText()).isEqualTo("db:db");
  }

  @Test
  void from_noPublish_dropsHostPorts() throws Exception {
    ObjectNode host = (ObjectNode) ContainerSpec.from(sample(), "i", Map.of(), true, false).body().path("HostConfig");
    assertThat(host.has("PortBindings")).isFalse();
    assertThat(host.path("PublishAllPorts").asBoolean()).isFalse();
  }

  @Test
  void from_containerNetworkMode_hasNoEndpoints() throws Exception {
    ObjectNode i = sample();
    ((ObjectNode) i.path("HostConfig")).put("NetworkMode", "container:db");
    ContainerSpec spec = ContainerSpec.from(i, "i", Map.of(), true, true);
    assertThat(spec.networks()).isEmpty();
    assertThat(spec.body().path("HostConfig").path("NetworkMode").asText()).isEqualTo("container:db");
  }

  @Test
  void withoutCopyUp_emptyVolumes_marksBindsAndMountsNoCopy() throws Exception {
    ObjectNode i = inspect("{'Id':'" + ID + "','Config':{'Volumes':{'/anon':{}}},'HostConfig':{'NetworkMode':'none',"
        + "'Binds':['data:/data','logs:/logs:ro','/srv/conf:/conf','keep:/keep','done:/done:nocopy'],"
        + "'Mounts':[{'Type':'volume','Source':'cache','Target':'/cache/'},{'Type':'bind','Source':'/x',"
        + "'Target':'/x'},{'Type':'volume','Source':'other','Target':'/other'}]},"
        + "'Mounts':[{'Type':'volume','Name':'" + "f".repeat(64) + "','Destination':'/anon','RW':true}]}");

    ObjectNode host = (ObjectNode) ContainerSpec.from(i, "img", Map.of("/anon", "a".repeat(64)), true, true)
        .withoutCopyUp(java.util.Set.of("/data", "/logs", "/conf", "/cache", "/x", "/done", "/anon"))
        .body().path("HostConfig");

    assertThat(host.path("Binds")).extracting(n -> n.asText()).containsExactly("data:/data:nocopy",
        "logs:/logs:ro,nocopy", "/srv/conf:/conf", "keep:/keep", "done:/done:nocopy", "a".repeat(64) + ":/anon:nocopy");
    assertThat(host.path("Mounts").get(0).path("VolumeOptions").path("NoCopy").asBoolean()).isTrue();
    assertThat(host.path("Mounts").get(1).has("VolumeOptions")).as("host-path binds are never seeded").isFalse();
    assertThat(host.path("Mounts").get(2).has("VolumeOptions")).isFalse();
  }

  @Test
  void withoutCopyUp_noEmptyVolumes_leavesTheSpecAsItWas() throws Exception {
    ContainerSpec spec = ContainerSpec.from(sample(), "i", Map.of(), true, true);
    String before = spec.body().toString();

    assertThat(spec.withoutCopyUp(java.util.Set.of()).body().toString()).isEqualTo(before);
  }
}
