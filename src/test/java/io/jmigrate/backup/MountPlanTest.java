package io.jmigrate.backup;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tests for {@link MountPlan}. */
class MountPlanTest {
  private static final String ANON = "ab".repeat(32);

  private static ObjectNode inspect() throws Exception {
    String j = ("{'HostConfig':{'Binds':['data:/srv/data','/etc/app:/etc/app:ro']},'Mounts':["
        + "{'Type':'volume','Name':'data','Source':'/var/lib/docker/volumes/data/_data','Destination':'/srv/data',"
        + "'Driver':'local','RW':true},"
        + "{'Type':'volume','Name':'" + ANON + "','Source':'/v/" + ANON + "','Destination':'/srv/data/cache',"
        + "'Driver':'local','RW':true},"
        + "{'Type':'bind','Source':'/etc/app','Destination':'/etc/app','RW':false},"
        + "{'Type':'tmpfs','Destination':'/run'}]}").replace('\'', '"');
    return Json.object(j.getBytes(StandardCharsets.UTF_8), "inspect");
  }

  @Test
  void of_withoutBinds_capturesVolumesOnlyWithNestedExcluded() throws Exception {
    List<MountPlan.Mount> plan = MountPlan.of(inspect(), false);
    assertThat(plan).extracting(MountPlan.Mount::destination).containsExactly("/srv/data", "/srv/data/cache");
    assertThat(plan.get(0).nested()).containsExactly("cache");
    assertThat(plan.get(0).anonymous()).isFalse();
    assertThat(plan.get(1).anonymous()).isTrue();
    assertThat(MountPlan.skippedBinds(inspect(), false)).containsExactly("/etc/app at /etc/app");
  }

  @Test
  void of_withBinds_includesThemReadOnlyAsConfigured() throws Exception {
    List<MountPlan.Mount> plan = MountPlan.of(inspect(), true);
    assertThat(plan).extracting(MountPlan.Mount::type).containsExactly("bind", "volume", "volume");
    assertThat(plan.get(0).readOnly()).isTrue();
    assertThat(plan.get(0).describe()).isEqualTo("bind mount /etc/app at /etc/app");
  }
}
