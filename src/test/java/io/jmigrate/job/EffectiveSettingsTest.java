package io.jmigrate.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.backup.Consistency;
import java.io.StringReader;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Tests for {@link EffectiveSettings}. */
class EffectiveSettingsTest {

  private static Job job(String yaml) throws ConfigException {
    return JobConfigLoader.load(new StringReader(yaml), "test.yaml", null).jobs().values().iterator().next();
  }

  private static final String JOB = "defaults:\n  consistency: stop\n  repository: /r\n"
      + "jobs:\n  app:\n    containers: [web, db]\n    exclude: [db]\n"
      + "    hooks:\n      pre:\n        - {command: sync, timeout: 10s}\n        - {command: flush-db, container: db}\n"
      + "      post: [echo done]\n";

  @Test
  void resolve_noLabelsNoFlags_takesJobAndDefaults() throws Exception {
    EffectiveSettings s = EffectiveSettings.resolve(job(JOB), "/web", Map.of());

    assertThat(s.container()).isEqualTo("web");
    assertThat(s.excluded()).isFalse();
    assertThat(s.consistency()).isEqualTo(Consistency.STOP);
    assertThat(s.source("consistency")).isEqualTo(SettingSource.DEFAULTS);
    assertThat(s.preHooks()).extracting(Hook::display).containsExactly("sh -c sync");
    assertThat(s.postHooks()).extracting(Hook::display).containsExactly("sh -c echo done");
    assertThat(s.source("pre")).isEqualTo(SettingSource.JOB);
    assertThat(s.includeBinds()).isFalse();
    assertThat(s.source("include-binds")).isEqualTo(SettingSource.BUILT_IN);
    assertThat(s.warnings()).isEmpty();
  }

  @Test
  void resolve_containerNamedByHook_getsItsOwnHooksToo() throws Exception {
    EffectiveSettings s = EffectiveSettings.resolve(job(JOB), "db", Map.of());

    assertThat(s.excluded()).isTrue();
    assertThat(s.source("exclude")).isEqualTo(SettingSource.JOB);
    assertThat(s.preHooks()).extracting(Hook::display).containsExactly("sh -c sync", "sh -c flush-db");
  }

  @Test
  void resolve_labels_overrideTheJob() throws Exception {
    Map<String, String> labels = Map.of(
        "jmigrate.consistency", "pause",
        "jmigrate.pre", "pg_dump -f /dump app",
        "jmigrate.exclude", "False",
        "jmigrate.hook-timeout", "5m");

    EffectiveSettings s = EffectiveSettings.resolve(job(JOB), "db", labels);

    assertThat(s.consistency()).isEqualTo(Consistency.PAUSE);
    assertThat(s.source("consistency")).isEqualTo(SettingSource.LABEL);
    assertThat(s.excluded()).isFalse();
    assertThat(s.source("exclude")).isEqualTo(SettingSource.LABEL);
    // The label replaces the job's pre hooks for this container; the timeout label applies to every hook here.
    assertThat(s.preHooks()).containsExactly(new Hook(List.of("sh", "-c", "pg_dump -f /dump app"),
        Duration.ofMinutes(5), Hook.OnError.ABORT, Optional.of("db")));
    assertThat(s.postHooks()).extracting(Hook::timeout).containsExactly(Duration.ofMinutes(5));
    assertThat(s.source("hook-timeout")).isEqualTo(SettingSource.LABEL);
  }

  @Test
  void resolve_emptyHookLabel_removesTheJobsHooks() throws Exception {
    EffectiveSettings s = EffectiveSettings.resolve(job(JOB), "web", Map.of("jmigrate.post", ""));

    assertThat(s.postHooks()).isEmpty();
    assertThat(s.preHooks()).hasSize(1);
    assertThat(s.source("post")).isEqualTo(SettingSource.LABEL);
  }

  @Test
  void resolve_flags_overrideLabels() throws Exception {
    Map<String, String> labels = Map.of("jmigrate.consistency", "none", "jmigrate.hook-timeout", "5m");
    EffectiveSettings.Overrides flags = new EffectiveSettings.Overrides(Consistency.PAUSE, Duration.ofSeconds(7), true);

    EffectiveSettings s = EffectiveSettings.resolve(job(JOB), "web", labels, flags);

    assertThat(s.consistency()).isEqualTo(Consistency.PAUSE);
    assertThat(s.source("consistency")).isEqualTo(SettingSource.FLAG);
    assertThat(s.preHooks()).extracting(Hook::timeout).containsExactly(Duration.ofSeconds(7));
    assertThat(s.source("hook-timeout")).isEqualTo(SettingSource.FLAG);
    assertThat(s.includeBinds()).isTrue();
    assertThat(s.source("include-binds")).isEqualTo(SettingSource.FLAG);
  }

  @Test
  void resolve_nothingSetAnywhere_takesBuiltInDefaults() throws Exception {
    Job j = job("jobs:\n  x: {project: shop, repository: /r}\n");

    EffectiveSettings s = EffectiveSettings.resolve(j, "shop-web-1", Map.of("com.docker.compose.project", "shop"));

    assertThat(s.consistency()).isEqualTo(Consistency.PAUSE);
    assertThat(s.source("consistency")).isEqualTo(SettingSource.BUILT_IN);
    assertThat(s.preHooks()).isEmpty();
    assertThat(s.excluded()).isFalse();
  }

  @Test
  void resolve_labelHookWithoutTimeoutLabel_usesBuiltInTimeout() throws Exception {
    EffectiveSettings s = EffectiveSettings.resolve(job(JOB), "web", Map.of("jmigrate.pre", "sync"));

    assertThat(s.preHooks()).extracting(Hook::timeout).containsExactly(Hook.DEFAULT_TIMEOUT);
  }

  @Test
  void resolve_badConsistencyLabel_namesContainerAndLabel() {
    assertThatThrownBy(() -> EffectiveSettings.resolve(job(JOB), "/web", Map.of("jmigrate.consistency", "freeze")))
        .isInstanceOf(ConfigException.class)
        .hasMessage("container web: label jmigrate.consistency=\"freeze\" is not valid; expected pause, stop or none");
  }

  @Test
  void resolve_badExcludeLabel_namesContainerAndLabel() {
    assertThatThrownBy(() -> EffectiveSettings.resolve(job(JOB), "web", Map.of("jmigrate.exclude", "yes please")))
        .isInstanceOf(ConfigException.class)
        .hasMessage("container web: label jmigrate.exclude=\"yes please\" is not valid; expected true or false");
  }

  @Test
  void resolve_badTimeoutLabel_namesContainerAndLabel() {
    assertThatThrownBy(() -> EffectiveSettings.resolve(job(JOB), "web", Map.of("jmigrate.hook-timeout", "soon")))
        .isInstanceOf(ConfigException.class)
        .hasMessage("container web: label jmigrate.hook-timeout=\"soon\" is not valid; expected "
            + Durations.EXPECTED);
    assertThatThrownBy(() -> EffectiveSettings.resolve(job(JOB), "web", Map.of("jmigrate.hook-timeout", "0s")))
        .hasMessage("container web: label jmigrate.hook-timeout=\"0s\" is not valid; expected a duration above zero,"
            + " like 30s");
  }

  @Test
  void resolve_misspeltLabel_warnsWithSuggestion() throws Exception {
    EffectiveSettings s = EffectiveSettings.resolve(job(JOB), "web",
        Map.of("jmigrate.consistancy", "stop", "jmigrate.snapshot-of", "x"));

    assertThat(s.warnings()).containsExactly("container web: label jmigrate.consistancy is not a jmigrate setting; "
        + "did you mean \"jmigrate.consistency\"? It is ignored.");
    assertThat(s.consistency()).isEqualTo(Consistency.STOP);
  }
}
