package io.jmigrate.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.backup.Consistency;
import io.jmigrate.snapshot.RetentionPolicy;
import io.jmigrate.store.StoreOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link JobConfigLoader}. */
class JobConfigLoaderTest {

  @TempDir
  Path dir;

  private JobConfig load(String yaml) throws Exception {
    Path f = dir.resolve("jobs.yaml");
    Files.writeString(f, yaml);
    return JobConfigLoader.load(f);
  }

  private ConfigException error(String yaml) throws IOException {
    Path f = dir.resolve("jobs.yaml");
    Files.writeString(f, yaml);
    try {
      JobConfigLoader.load(f);
    } catch (ConfigException e) {
      return e;
    }
    throw new AssertionError("expected a ConfigException for:\n" + yaml);
  }

  private String file() {
    return dir.resolve("jobs.yaml").toString();
  }

  // ---- the documented example ----------------------------------------------------------------------------

  @Test
  void load_documentedExample_loadsEveryJobWithDefaultsApplied() throws Exception {
    JobConfig c = JobConfigLoader.load(Path.of("config/jmigrate.yaml"));

    assertThat(c.jobs().keySet()).containsExactly("web", "databases", "shop");

    Job web = c.job("web").orElseThrow();
    assertThat(web.selection()).isEqualTo(new Selection.Names(List.of("web", "worker")));
    assertThat(web.consistency()).isEqualTo(Consistency.NONE);
    assertThat(web.origin("consistency")).isEqualTo(SettingSource.JOB);
    assertThat(web.host()).contains("unix:///var/run/docker.sock");
    assertThat(web.origin("host")).isEqualTo(SettingSource.DEFAULTS);
    assertThat(web.repositories()).hasSize(3);
    assertThat(web.repositories().get(0)).isEqualTo(RepositoryConfig.of("/var/backups/jmigrate"));
    RepositoryConfig s3 = web.repositories().get(1);
    assertThat(s3.url()).isEqualTo("s3://backups/jmigrate");
    StoreOptions o = s3.storeOptions();
    assertThat(o.s3Endpoint()).isEqualTo("http://127.0.0.1:9000");
    assertThat(o.s3Region()).isEqualTo("eu-central-1");
    assertThat(o.s3PathStyle()).isTrue();
    assertThat(o.s3ChecksumWhenRequired()).isTrue();
    assertThat(o.s3ChunkedSigning()).isEqualTo(StoreOptions.ChunkedSigning.AUTO);
    assertThat(web.repositories().get(2).url()).isEqualTo("oci://registry.example.com:5000/team/backups");
    assertThat(web.repositories().get(2).kind()).isEqualTo(RepositoryConfig.Kind.OCI);
    assertThat(web.schedule().orElseThrow().expression()).isEqualTo("@hourly");
    assertThat(web.timezone()).isEqualTo(ZoneId.of("Europe/Berlin"));
    assertThat(web.schedule().orElseThrow().zone()).isEqualTo(ZoneId.of("Europe/Berlin"));
    assertThat(web.retention().toString()).isEqualTo("keep-hourly 24, keep-daily 7");
    assertThat(web.exclude()).containsExactly("buildkit");
    assertThat(web.notification().orElseThrow().on()).isEqualTo(Notification.On.FAILURE);

    Job db = c.job("databases").orElseThrow();
    Map<String, String> selector = new java.util.LinkedHashMap<>();
    selector.put("com.example.backup", "nightly");
    selector.put("com.example.tier", null);
    assertThat(db.selection()).isEqualTo(new Selection.Labels(selector));
    assertThat(db.consistency()).isEqualTo(Consistency.STOP);
    assertThat(db.preHooks()).hasSize(2);
    assertThat(db.preHooks().get(0).timeout()).isEqualTo(Duration.ofMinutes(10));
    assertThat(db.preHooks().get(0).command().get(0)).isEqualTo("sh");
    assertThat(db.preHooks().get(1))
        .isEqualTo(new Hook(List.of("sh", "-c", "sync"), Duration.ofSeconds(60), Hook.OnError.ABORT, Optional.empty()));
    assertThat(db.postHooks().get(0).onError()).isEqualTo(Hook.OnError.CONTINUE);
    assertThat(db.notification().orElseThrow().on()).isEqualTo(Notification.On.ALWAYS);
    assertThat(db.schedule().orElseThrow().expression()).isEqualTo("30 2 * * *");
    assertThat(db.origin("schedule")).isEqualTo(SettingSource.DEFAULTS);

    Job shop = c.job("shop").orElseThrow();
    assertThat(shop.selection()).isEqualTo(new Selection.Project("shop"));
    assertThat(shop.repositories()).containsExactly(RepositoryConfig.of("/var/backups/shop"));
    assertThat(shop.includeBinds()).isTrue();
    assertThat(shop.exclude()).containsExactly("shop-cache-1");
    assertThat(shop.retention()).isEqualTo(RetentionPolicy.keepAll());
    assertThat(shop.notification()).isEmpty();
    assertThat(shop.preHooks().get(0).container()).contains("shop-redis-1");
  }

  @Test
  void load_minimalJob_takesBuiltInDefaults() throws Exception {
    JobConfig c = load("jobs:\n  nightly:\n    containers: [web]\n    repository: backups\n");

    Job j = c.job("nightly").orElseThrow();
    assertThat(j.consistency()).isEqualTo(Consistency.PAUSE);
    assertThat(j.origin("consistency")).isEqualTo(SettingSource.BUILT_IN);
    assertThat(j.host()).isEmpty();
    assertThat(j.schedule()).isEmpty();
    assertThat(j.timezone()).isEqualTo(ZoneOffset.UTC);
    assertThat(j.retention().hasRules()).isFalse();
    assertThat(j.notification()).isEmpty();
    assertThat(j.includeBinds()).isFalse();
    assertThat(j.preHooks()).isEmpty();
    assertThat(j.exclude()).isEmpty();
    // Relative paths are resolved against the file's directory, not the working directory (cron runs in $HOME).
    assertThat(j.repositories()).containsExactly(RepositoryConfig.of(dir.resolve("backups").toString()));
  }

  @Test
  void load_jobKeySetToNull_overridesDefaultsWithBuiltIn() throws Exception {
    JobConfig c = load("defaults:\n  schedule: '@daily'\n  repository: /r\n  host: ssh://a\n"
        + "jobs:\n  a:\n    project: p\n    schedule: null\n    host: null\n");

    Job a = c.job("a").orElseThrow();
    assertThat(a.schedule()).isEmpty();
    assertThat(a.origin("schedule")).isEqualTo(SettingSource.JOB);
    assertThat(a.host()).isEmpty();
    assertThat(a.repositories()).containsExactly(RepositoryConfig.of("/r"));
  }

  @Test
  void load_jobHooks_replaceDefaultHooksWholly() throws Exception {
    JobConfig c = load("defaults:\n  repository: /r\n  hooks: {pre: [a], post: [b]}\n"
        + "jobs:\n  x:\n    containers: [c]\n    hooks: {post: [d]}\n  y:\n    containers: [c]\n");

    assertThat(c.job("x").orElseThrow().preHooks()).isEmpty();
    assertThat(c.job("x").orElseThrow().postHooks()).extracting(Hook::display).containsExactly("sh -c d");
    assertThat(c.job("y").orElseThrow().preHooks()).extracting(Hook::display).containsExactly("sh -c a");
  }

  @Test
  void load_s3ChunkedSigning_mapsToTheStoreOptionAndRefusesOtherValues() throws Exception {
    JobConfig c = load("jobs:\n  x:\n    containers: [c]\n    repository:\n      url: s3://bucket-1/p\n"
        + "      s3-endpoint: http://127.0.0.1:9000\n      s3-chunked-signing: OFF\n");

    assertThat(c.job("x").orElseThrow().repositories().get(0).storeOptions().s3ChunkedSigning())
        .isEqualTo(StoreOptions.ChunkedSigning.OFF);
    ConfigException e = error("jobs:\n  x:\n    containers: [c]\n    repository:\n      url: s3://bucket-1/p\n"
        + "      s3-chunked-signing: sometimes\n");
    assertThat(e.getMessage()).contains("jobs.x.repository.s3-chunked-signing: bad value \"sometimes\"; expected auto");
  }

  @Test
  void load_repositoriesGivenAsOneString_acceptsIt() throws Exception {
    JobConfig c = load("jobs:\n  x:\n    containers: [c]\n    repositories: s3://bucket-1/p/\n");

    assertThat(c.job("x").orElseThrow().repositories()).containsExactly(RepositoryConfig.of("s3://bucket-1/p"));
  }

  @Test
  void load_fileUrlAndLeadingSlashNames_normalizes() throws Exception {
    JobConfig c = load("jobs:\n  x:\n    containers: [/web]\n    repository: file:///srv/backups/\n");

    Job x = c.job("x").orElseThrow();
    assertThat(x.repositories()).containsExactly(RepositoryConfig.of("/srv/backups"));
    assertThat(x.selects("/web", Map.of())).isTrue();
  }

  @Test
  void select_unknownJob_namesKnownJobs() throws Exception {
    JobConfig c = load("jobs:\n  a:\n    containers: [c]\n    repository: /r\n  b:\n    project: p\n    repository: /r\n");

    assertThat(c.select(List.of())).extracting(Job::name).containsExactly("a", "b");
    assertThat(c.select(List.of("b", "a", "b"))).extracting(Job::name).containsExactly("b", "a");
    assertThatThrownBy(() -> c.select(List.of("c")))
        .hasMessage("no job named \"c\" in " + file() + "; expected one of: a, b");
  }

  // ---- errors: each names FILE:LINE:COLUMN, what is wrong, and what is expected -----------------------------

  @Test
  void load_invalidYaml_reportsParserPositionAndProblem() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [a, b\n");

    assertThat(e.line()).isEqualTo(4);
    assertThat(e.column()).isEqualTo(1);
    assertThat(e.getMessage()).startsWith(file() + ":4:1: invalid YAML: expected ',' or ']', but got <stream end>"
        + " (while parsing a flow sequence that starts at line 3, column 17); expected well-formed YAML");
  }

  @Test
  void load_tabIndentation_reportsTheTab() throws Exception {
    ConfigException e = error("jobs:\n\tweb: {}\n");

    assertThat(e.getMessage()).startsWith(file() + ":2:1: invalid YAML: found character '\\t(TAB)' that cannot"
        + " start any token. (Do not use \\t(TAB) for indentation)");
  }

  @Test
  void load_unknownKey_pointsAtKeyAndSuggestsCloseMatch() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n    consistancy: stop\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":5:5: jobs.web: unknown key \"consistancy\"; did you mean "
        + "\"consistency\"?; expected one of: containers, labels, project, host, repository, repositories, "
        + "consistency, hooks, schedule, timezone, retention, notify, include-binds, exclude, freeze-per-repository");
  }

  @Test
  void load_unknownKeyWithNoCloseMatch_listsAllowedKeysOnly() throws Exception {
    ConfigException e = error("version: 1\njobs: {}\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":1:1: the top level: unknown key \"version\"; expected one of: "
        + "defaults, jobs");
  }

  @Test
  void load_selectionInDefaults_saysItBelongsInAJob() throws Exception {
    ConfigException e = error("defaults:\n  containers: [a]\njobs:\n  x: {project: p, repository: /r}\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":2:3: defaults: containers selects containers, so it belongs in"
        + " a job, not in defaults:; expected it under jobs.NAME");
  }

  @Test
  void load_wrongType_saysWhatWasExpectedAndGiven() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: web\n    repository: /r\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":3:17: jobs.web.containers: expected a list of container names,"
        + " like [web, db], got a string (\"web\") (write [web] for one)");
  }

  @Test
  void load_booleanWhereStringExpected_suggestsQuoting() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    project: yes\n    repository: /r\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":3:14: jobs.web.project: expected a compose project name, got "
        + "true/false (yes) (quote it if you mean the text)");
  }

  @Test
  void load_badCron_reportsCronUtilsReasonAtTheValue() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n    schedule: 61 * * * *\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":5:15: jobs.web.schedule: bad cron expression \"61 * * * *\": "
        + "Value 61 not in range [0, 59]; expected " + CronSchedule.EXPECTED);
  }

  @Test
  void load_cronWithSixFields_saysFieldCount() throws Exception {
    ConfigException e = error("defaults:\n  schedule: '0 0 3 * * *'\njobs:\n  x: {project: p, repository: /r}\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":2:13: defaults.schedule: bad cron expression \"0 0 3 * * *\": "
        + "it has 6 fields; expected " + CronSchedule.EXPECTED);
  }

  @Test
  void load_negativeRetention_saysNonNegativeExpected() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    retention:\n      keep-daily: -1\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":6:19: jobs.web.retention.keep-daily: -1 is negative; expected"
        + " a whole number, 0 or more");
  }

  @Test
  void load_retentionNotANumber_saysNotANumber() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    retention: {keep-last: seven}\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":5:28: jobs.web.retention.keep-last: not a number: got a string"
        + " (\"seven\"); expected a whole number, 0 or more");
  }

  @Test
  void load_retentionFraction_saysNotANumber() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    retention: {keep-last: 1.5}\n");

    assertThat(e.getMessage()).contains(":5:28: jobs.web.retention.keep-last: not a number: got a number (1.5)");
  }

  @Test
  void load_unknownRetentionRule_suggestsTheRule() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    retention:\n      keep-dayly: 7\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":6:7: jobs.web.retention: unknown key \"keep-dayly\"; did you "
        + "mean \"keep-daily\"?; expected one of: keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly, "
        + "keep-yearly");
  }

  @Test
  void load_retentionAllZero_isRefused() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    retention: {keep-last: 0, keep-daily: 0}\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":5:16: jobs.web.retention: the retention policy (keep-last 0, "
        + "keep-daily 0) keeps no snapshot, so every snapshot would be removed; expected at least one keep-* above 0"
        + " (or leave retention: out to keep everything)");
  }

  @Test
  void load_badConsistency_listsChoices() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n    consistency: freeze\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":5:18: jobs.web.consistency: bad consistency \"freeze\"; "
        + "expected pause, stop or none");
  }

  @Test
  void load_noSelection_saysWhichKeysSelect() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    repository: /r\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":3:5: jobs.web: no selection; expected exactly one of "
        + "containers: [NAMES], labels: {KEY: VALUE} or project: NAME");
  }

  @Test
  void load_twoSelections_pointsAtTheSecond() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    project: shop\n    repository: /r\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":4:5: jobs.web: both containers: and project: select "
        + "containers; expected exactly one of containers:, labels: or project:");
  }

  @Test
  void load_noRepository_saysWhereToPutOne() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":3:5: jobs.web: no repository; expected repository: URL or "
        + "repositories: [URL, ...] in the job or in defaults:");
  }

  @Test
  void load_badDuration_showsAcceptedForms() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    hooks:\n      pre:\n        - {command: sync, timeout: 5 minutes}\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":7:36: jobs.web.hooks.pre[0].timeout: bad duration \"5 minutes\";"
        + " expected " + Durations.EXPECTED);
  }

  @Test
  void load_durationWithoutUnit_asksForAUnit() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    hooks: {pre: [{command: sync, timeout: 30}]}\n");

    assertThat(e.getMessage()).contains(":5:44: jobs.web.hooks.pre[0].timeout: 30 has no unit; expected");
  }

  @Test
  void load_badRepositoryUrl_listsAcceptedForms() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: http://example.com/r\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":4:17: jobs.web.repository: bad repository URL "
        + "\"http://example.com/r\": the scheme http: is not supported; expected " + RepositoryConfig.EXPECTED_URL);
  }

  @Test
  void load_s3OptionOnLocalRepository_isRefused() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repositories:\n"
        + "      - url: /r\n        s3-region: eu-west-1\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":6:9: jobs.web.repositories[0].s3-region: S3 options apply only"
        + " to s3:// repositories; expected it under an s3:// url, or remove it");
  }

  @Test
  void load_badWebhookUrl_saysHttpExpected() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    notify: {webhook: 'hooks.example.com/x'}\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":5:23: jobs.web.notify.webhook: bad webhook URL "
        + "\"hooks.example.com/x\": it has no scheme; expected an http:// or https:// URL with a host, like "
        + "https://hooks.example.com/jmigrate");
  }

  @Test
  void load_badNotifyPolicy_listsChoices() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    notify: {webhook: 'https://h/x', on: sometimes}\n");

    assertThat(e.getMessage()).contains(":5:42: jobs.web.notify.on: bad value \"sometimes\"; expected failure "
        + "(the default) or always");
  }

  @Test
  void load_unknownTimezone_suggestsClosest() throws Exception {
    ConfigException e = error("defaults:\n  timezone: Europe/Berln\njobs:\n  x: {project: p, repository: /r}\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":2:13: defaults.timezone: unknown time zone \"Europe/Berln\"; "
        + "did you mean \"Europe/Berlin\"?; expected an IANA zone name like Europe/Berlin, America/New_York or UTC");
  }

  @Test
  void load_duplicateKey_pointsAtTheSecond() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n    repository: /s\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":5:5: duplicate key \"repository\" (first at line 4); expected"
        + " each key once");
  }

  @Test
  void load_repositoryAndRepositories_isRefused() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n    repositories: [/s]\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":5:5: jobs.web: both repository: and repositories:; expected "
        + "one of them (repositories: takes a list)");
  }

  @Test
  void load_hookForUnselectedContainer_isRefused() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    hooks:\n      pre:\n        - {command: sync, container: db}\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":7:11: jobs.web.hooks.pre[0]: container db is not selected by"
        + " job web; expected one of: web (a hook runs around its own container's snapshot)");
  }

  @Test
  void load_hookWithoutCommand_saysCommandExpected() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    hooks: {post: [{timeout: 5s}]}\n");

    assertThat(e.getMessage()).contains(":5:20: jobs.web.hooks.post[0]: no command:; expected command:");
  }

  @Test
  void load_badOnError_listsChoices() throws Exception {
    ConfigException e = error("jobs:\n  web:\n    containers: [web]\n    repository: /r\n"
        + "    hooks: {post: [{command: x, on-error: ignore}]}\n");

    assertThat(e.getMessage()).contains(":5:43: jobs.web.hooks.post[0].on-error: bad value \"ignore\"; expected "
        + "abort or continue");
  }

  @Test
  void load_badJobName_saysAllowedCharacters() throws Exception {
    ConfigException e = error("jobs:\n  'my job':\n    containers: [web]\n    repository: /r\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":2:3: jobs: bad job name \"my job\"; expected letters, digits, "
        + "'_', '.' or '-', starting with a letter or digit");
  }

  @Test
  void load_emptyFile_saysJobsExpected() throws Exception {
    ConfigException e = error("# nothing\n");

    assertThat(e.getMessage()).isEqualTo(file() + ": the file is empty; expected a jobs: map (see "
        + "config/jmigrate.yaml)");
  }

  @Test
  void load_noJobsKey_saysJobsExpected() throws Exception {
    ConfigException e = error("defaults:\n  consistency: stop\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":1:1: no jobs: key; expected jobs: with at least one job (see "
        + "config/jmigrate.yaml)");
  }

  @Test
  void load_twoDocuments_isRefused() throws Exception {
    ConfigException e = error("jobs:\n  x: {project: p, repository: /r}\n---\njobs: {}\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":4:1: a second YAML document starts here; expected one document"
        + " (remove the '---' separator)");
  }

  @Test
  void load_alias_isRefused() throws Exception {
    ConfigException e = error("defaults:\n  repository: &r /r\njobs:\n  x: {project: p, repository: *r}\n");

    assertThat(e.getMessage()).isEqualTo(file() + ":4:31: YAML alias *r is not supported; expected the value "
        + "written out in full");
  }

  @Test
  void load_missingFile_saysNoSuchFile() {
    Path missing = dir.resolve("nope.yaml");

    assertThatThrownBy(() -> JobConfigLoader.load(missing))
        .isInstanceOf(ConfigException.class)
        .hasMessage(missing + ": no such file; expected a job file (see config/jmigrate.yaml), given with --config");
  }

  @Test
  void load_notUtf8_saysUtf8Expected() throws Exception {
    Path f = dir.resolve("latin1.yaml");
    Files.write(f, "jobs:\n  caf\u00e9: {project: p, repository: /r}\n".getBytes(StandardCharsets.ISO_8859_1));

    assertThatThrownBy(() -> JobConfigLoader.load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessage(f + ": not UTF-8 text; expected a YAML file in UTF-8");
  }
}
