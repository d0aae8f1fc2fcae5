package io.jmigrate.job;

import io.jmigrate.backup.Consistency;
import io.jmigrate.job.YamlNode.ListNode;
import io.jmigrate.job.YamlNode.MapNode;
import io.jmigrate.job.YamlNode.Scalar;
import io.jmigrate.snapshot.RetentionException;
import io.jmigrate.snapshot.RetentionPolicy;
import io.jmigrate.store.StoreOptions;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.net.URI;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Loads and validates a job file (see config/jmigrate.yaml and docs/jobs.md). Every problem is reported as a
 * {@link ConfigException} whose message reads {@code FILE:LINE:COLUMN: KEY.PATH: what is wrong; expected what}.
 * The first problem found is reported.
 */
public final class JobConfigLoader {

  static final List<String> TOP_KEYS = List.of("defaults", "jobs");
  static final List<String> SELECTION_KEYS = List.of("containers", "labels", "project");
  static final List<String> SETTING_KEYS = List.of("host", "repository", "repositories", "consistency", "hooks",
      "schedule", "timezone", "retention", "notify", "include-binds", "exclude", "freeze-per-repository");
  static final List<String> JOB_KEYS = concat(SELECTION_KEYS, SETTING_KEYS);
  static final List<String> HOOKS_KEYS = List.of("pre", "post");
  static final List<String> HOOK_KEYS = List.of("command", "timeout", "on-error", "container");
  static final List<String> REPOSITORY_KEYS =
      List.of("url", "s3-endpoint", "s3-region", "s3-path-style", "s3-checksum", "s3-chunked-signing",
          "insecure-registry");
  static final List<String> NOTIFY_KEYS = List.of("webhook", "on");

  /** What consistency errors say is expected. */
  static final String CONSISTENCY_EXPECTED = "pause, stop or none";

  /** Docker's container name grammar (daemon/names), also used for job names. */
  static final Pattern NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_.-]*");

  private final String file;
  private final Path baseDir;

  private JobConfigLoader(String file, Path baseDir) {
    this.file = file;
    this.baseDir = baseDir;
  }

  /**
   * Reads and validates a job file. Relative repository paths are resolved against the file's directory.
   *
   * @throws ConfigException for a file that cannot be read, or the first problem in it
   */
  public static JobConfig load(Path path) throws ConfigException {
    String name = path.toString();
    String text;
    try {
      // A strict decoder: a Latin-1 file must fail here rather than load with replacement characters.
      text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(path))).toString();
    } catch (NoSuchFileException e) {
      throw ConfigException.inFile(name, "no such file; expected a job file (see config/jmigrate.yaml), given with"
          + " --config", e);
    } catch (CharacterCodingException e) {
      throw ConfigException.inFile(name, "not UTF-8 text; expected a YAML file in UTF-8", e);
    } catch (IOException e) {
      throw ConfigException.inFile(name, "cannot read it (" + e + "); expected a readable YAML file", e);
    }
    Path dir = path.toAbsolutePath().getParent();
    return new JobConfigLoader(name, dir).parse(new StringReader(text));
  }

  /**
   * Validates YAML text; {@code fileName} names it in messages, relative repository paths are resolved against
   * {@code baseDir} (null keeps them as written). The caller closes {@code in}.
   */
  public static JobConfig load(Reader in, String fileName, Path baseDir) throws ConfigException {
    return new JobConfigLoader(fileName, baseDir).parse(in);
  }

  // ---------------------------------------------------------------------------------------------------------

  private JobConfig parse(Reader in) throws ConfigException {
    YamlNode root = YamlReader.read(in, file);
    if (root == null) {
      throw ConfigException.inFile(file, "the file is empty; expected a jobs: map (see config/jmigrate.yaml)", null);
    }
    MapNode top = map(root, "the file", "a map with jobs: (and optionally defaults:)");
    checkKeys(top, TOP_KEYS, "the top level");

    Partial defaults = new Partial(SettingSource.DEFAULTS);
    MapNode.Entry defaultsEntry = top.entry("defaults");
    if (defaultsEntry != null && !isNull(defaultsEntry.value)) {
      MapNode d = map(defaultsEntry.value, "defaults", "a map of settings shared by every job");
      for (MapNode.Entry e : d.entries().values()) {
        if (SELECTION_KEYS.contains(e.key)) {
          throw at(e, "defaults: " + e.key + " selects containers, so it belongs in a job, not in defaults:; "
              + "expected it under jobs.NAME");
        }
      }
      checkKeys(d, SETTING_KEYS, "defaults");
      readSettings(d, "defaults", defaults);
    }

    MapNode.Entry jobsEntry = top.entry("jobs");
    if (jobsEntry == null) {
      throw ConfigException.at(file, top.line, top.column,
          "no jobs: key; expected jobs: with at least one job (see config/jmigrate.yaml)");
    }
    if (isNull(jobsEntry.value)) {
      throw at(jobsEntry, "jobs: is empty; expected at least one job, like jobs: {nightly: {containers: [web], "
          + "repository: /backups}}");
    }
    MapNode jobsMap = map(jobsEntry.value, "jobs", "a map of job name to job");
    if (jobsMap.entries().isEmpty()) {
      throw at(jobsEntry, "jobs: is empty; expected at least one job");
    }
    LinkedHashMap<String, Job> jobs = new LinkedHashMap<>();
    for (MapNode.Entry e : jobsMap.entries().values()) {
      if (!NAME.matcher(e.key).matches()) {
        throw at(e, "jobs: bad job name \"" + e.key + "\"; expected letters, digits, '_', '.' or '-', starting with"
            + " a letter or digit");
      }
      jobs.put(e.key, readJob(e, defaults));
    }
    return new JobConfig(file, jobs);
  }

  private Job readJob(MapNode.Entry entry, Partial defaults) throws ConfigException {
    String name = entry.key;
    String path = "jobs." + name;
    if (isNull(entry.value)) {
      throw at(entry, path + ": the job is empty; expected a map with a selection (containers:, labels: or "
          + "project:) and a repository");
    }
    MapNode j = map(entry.value, path, "a map with a selection and a repository");
    checkKeys(j, JOB_KEYS, path);

    // Selection: exactly one of containers, labels, project.
    List<MapNode.Entry> chosen = new ArrayList<>();
    for (String k : SELECTION_KEYS) {
      if (j.has(k)) {
        chosen.add(j.entry(k));
      }
    }
    if (chosen.isEmpty()) {
      throw ConfigException.at(file, j.line, j.column, path + ": no selection; expected exactly one of "
          + "containers: [NAMES], labels: {KEY: VALUE} or project: NAME");
    }
    if (chosen.size() > 1) {
      throw at(chosen.get(1), path + ": both " + chosen.get(0).key + ": and " + chosen.get(1).key
          + ": select containers; expected exactly one of containers:, labels: or project:");
    }
    Selection selection = readSelection(chosen.get(0), path);

    Partial own = new Partial(SettingSource.JOB);
    readSettings(j, path, own);

    Map<String, SettingSource> origins = new HashMap<>();
    List<RepositoryConfig> repositories = own.merged("repositories", defaults, origins);
    if (repositories == null || repositories.isEmpty()) {
      throw ConfigException.at(file, j.line, j.column, path + ": no repository; expected repository: URL or "
          + "repositories: [URL, ...] in the job or in defaults:");
    }
    String host = own.merged("host", defaults, origins);
    Consistency consistency = orElse(own.merged("consistency", defaults, origins), Consistency.PAUSE);
    Hooks hooks = orElse(own.merged("hooks", defaults, origins), Hooks.NONE);
    ZoneId zone = orElse(own.<ZoneId>merged("timezone", defaults, origins), ZoneOffset.UTC);
    ScheduleText scheduleText = own.merged("schedule", defaults, origins);
    RetentionPolicy retention = orElse(own.merged("retention", defaults, origins), RetentionPolicy.keepAll());
    Notification notification = own.merged("notify", defaults, origins);
    Boolean includeBinds = own.merged("include-binds", defaults, origins);
    Boolean freezePerRepository = own.merged("freeze-per-repository", defaults, origins);
    List<String> exclude = orElse(own.merged("exclude", defaults, origins), List.of());

    if (selection instanceof Selection.Names) {
      List<String> names = ((Selection.Names) selection).names();
      for (HookAt h : hooks.all()) {
        Optional<String> c = h.hook.container();
        if (c.isPresent() && !names.contains(c.get())) {
          throw ConfigException.at(file, h.line, h.column, h.path + ": container " + c.get()
              + " is not selected by job " + name + "; expected one of: " + String.join(", ", names)
              + " (a hook runs around its own container's snapshot)");
        }
      }
    }

    CronSchedule schedule = null;
    if (scheduleText != null) {
      try {
        schedule = CronSchedule.parse(scheduleText.text, zone);
      } catch (IllegalArgumentException e) {
        // Checked when read; only reached if the zone makes a difference, which it does not for validity.
        throw ConfigException.at(file, scheduleText.line, scheduleText.column, path + ".schedule: " + e.getMessage());
      }
    }
    return new Job(name, selection, exclude, Optional.ofNullable(host), repositories, consistency,
        hooks.pre.stream().map(h -> h.hook).toList(), hooks.post.stream().map(h -> h.hook).toList(),
        Optional.ofNullable(schedule), zone, retention, Optional.ofNullable(notification),
        includeBinds != null && includeBinds, freezePerRepository != null && freezePerRepository, origins);
  }

  private Selection readSelection(MapNode.Entry e, String jobPath) throws ConfigException {
    String path = jobPath + "." + e.key;
    switch (e.key) {
      case "containers": {
        List<String> names = containerNames(e.value, path);
        if (names.isEmpty()) {
          throw at(e.value, path + ": the list is empty; expected at least one container name");
        }
        return new Selection.Names(names);
      }
      case "labels": {
        MapNode m = map(e.value, path, "a map of label to value (or null: the label is present)");
        if (m.entries().isEmpty()) {
          throw at(e.value, path + ": the map is empty; expected at least one label, like {app: web}");
        }
        Map<String, String> selector = new LinkedHashMap<>();
        for (MapNode.Entry l : m.entries().values()) {
          if (l.value instanceof Scalar) {
            Scalar s = (Scalar) l.value;
            selector.put(l.key, s.isNull() ? null : s.text);
          } else {
            throw at(l.value, path + "." + l.key + ": expected a label value or null (any value), got "
                + l.value.describe());
          }
        }
        return new Selection.Labels(selector);
      }
      default: {
        String project = string(e.value, path, "a compose project name");
        if (project.isBlank()) {
          throw at(e.value, path + ": empty project name; expected the compose project name");
        }
        return new Selection.Project(project);
      }
    }
  }

  /** Reads the setting keys present in {@code m} into {@code into}, validating each. */
  private void readSettings(MapNode m, String path, Partial into) throws ConfigException {
    if (m.has("repository") && m.has("repositories")) {
      throw at(m.entry("repositories"), path + ": both repository: and repositories:; expected one of them "
          + "(repositories: takes a list)");
    }
    for (MapNode.Entry e : m.entries().values()) {
      String p = path + "." + e.key;
      YamlNode v = e.value;
      switch (e.key) {
        case "host":
          if (isNull(v)) {
            into.put("host", null);
          } else {
            String h = string(v, p, "an engine address as -H takes it (unix://, tcp://, ssh:// or a context name)");
            if (h.isBlank()) {
              throw at(v, p + ": empty host; expected an engine address, or leave host: out");
            }
            into.put("host", h.strip());
          }
          break;
        case "repository":
          into.put("repositories", List.of(repository(v, p)));
          break;
        case "repositories": {
          if (v instanceof Scalar && !isNull(v)) {
            into.put("repositories", List.of(repository(v, p)));
            break;
          }
          ListNode l = list(v, p, "a list of repository URLs (or maps with url:)");
          if (l.items().isEmpty()) {
            throw at(v, p + ": the list is empty; expected at least one repository URL");
          }
          List<RepositoryConfig> repos = new ArrayList<>();
          Set<String> seen = new LinkedHashSet<>();
          for (int i = 0; i < l.items().size(); i++) {
            YamlNode item = l.items().get(i);
            RepositoryConfig r = repository(item, p + "[" + i + "]");
            if (!seen.add(r.url())) {
              throw at(item, p + "[" + i + "]: " + r.url() + " is listed twice; expected each repository once");
            }
            repos.add(r);
          }
          into.put("repositories", repos);
          break;
        }
        case "consistency":
          into.put("consistency", consistency(v, p));
          break;
        case "hooks":
          into.put("hooks", isNull(v) ? Hooks.NONE : hooks(v, p));
          break;
        case "schedule":
          if (isNull(v)) {
            into.put("schedule", null);
          } else {
            String text = string(v, p, "a cron expression like \"0 3 * * *\" or @daily");
            try {
              CronSchedule.parse(text, ZoneOffset.UTC);
            } catch (IllegalArgumentException ex) {
              throw at(v, p + ": " + ex.getMessage());
            }
            into.put("schedule", new ScheduleText(text, v.line, v.column));
          }
          break;
        case "timezone":
          into.put("timezone", zone(v, p));
          break;
        case "retention":
          into.put("retention", isNull(v) ? RetentionPolicy.keepAll() : retention(v, p));
          break;
        case "notify":
          into.put("notify", isNull(v) ? null : notify(v, p));
          break;
        case "include-binds":
          into.put("include-binds", bool(v, p));
          break;
        case "freeze-per-repository":
          into.put("freeze-per-repository", bool(v, p));
          break;
        case "exclude":
          into.put("exclude", isNull(v) ? List.of() : containerNames(v, p));
          break;
        default:
          // Selection keys are read by readSelection.
          break;
      }
    }
  }

  private RepositoryConfig repository(YamlNode v, String path) throws ConfigException {
    if (v instanceof MapNode) {
      MapNode m = (MapNode) v;
      checkKeys(m, REPOSITORY_KEYS, path);
      MapNode.Entry urlEntry = m.entry("url");
      if (urlEntry == null) {
        throw at(v, path + ": no url:; expected url: " + RepositoryConfig.EXPECTED_URL);
      }
      String url = url(urlEntry.value, path + ".url");
      RepositoryConfig.Kind kind = RepositoryConfig.kindOf(url);
      String endpoint = null;
      String region = null;
      Boolean pathStyle = null;
      RepositoryConfig.S3Checksum checksum = RepositoryConfig.S3Checksum.WHEN_SUPPORTED;
      StoreOptions.ChunkedSigning chunked = StoreOptions.ChunkedSigning.AUTO;
      boolean insecure = false;
      for (MapNode.Entry e : m.entries().values()) {
        String p = path + "." + e.key;
        if (e.key.startsWith("s3-") && kind != RepositoryConfig.Kind.S3) {
          throw at(e, p + ": S3 options apply only to s3:// repositories; expected it under an s3:// url, or "
              + "remove it");
        }
        if (e.key.equals("insecure-registry") && kind != RepositoryConfig.Kind.OCI) {
          throw at(e, p + ": insecure-registry applies only to oci:// repositories; expected it under an oci:// "
              + "url, or remove it");
        }
        switch (e.key) {
          case "s3-endpoint": {
            String ep = string(e.value, p, "an http(s) URL of an S3-compatible server");
            try {
              URI u = new URI(ep);
              if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https"))
                  || u.getHost() == null) {
                throw new java.net.URISyntaxException(ep, "not an absolute http(s) URL with a host");
              }
            } catch (java.net.URISyntaxException ex) {
              throw at(e.value, p + ": bad endpoint URL \"" + ep + "\" (" + ex.getReason()
                  + "); expected an http(s) URL like http://127.0.0.1:9000");
            }
            endpoint = ep;
            break;
          }
          case "s3-region":
            region = string(e.value, p, "a region name like eu-central-1");
            if (region.isBlank()) {
              throw at(e.value, p + ": empty region; expected a region name like eu-central-1, or leave it out");
            }
            break;
          case "s3-path-style":
            pathStyle = bool(e.value, p);
            break;
          case "s3-checksum": {
            String c = string(e.value, p, "when-supported or when-required");
            checksum = Arrays.stream(RepositoryConfig.S3Checksum.values())
                .filter(x -> x.value().equalsIgnoreCase(c.strip())).findFirst()
                .orElseThrow(() -> at(e.value, p + ": bad value \"" + c
                    + "\"; expected when-supported (the SDK default) or when-required (for S3-compatible servers)"));
            break;
          }
          case "s3-chunked-signing": {
            if (e.value instanceof Scalar && ((Scalar) e.value).kind == Scalar.Kind.BOOLEAN) {
              // YAML 1.1 reads a bare on/off (and true/false, yes/no) as a boolean.
              chunked = bool(e.value, p) ? StoreOptions.ChunkedSigning.ON : StoreOptions.ChunkedSigning.OFF;
              break;
            }
            String c = string(e.value, p, "auto, on or off");
            try {
              chunked = StoreOptions.ChunkedSigning.parse(c);
            } catch (IllegalArgumentException ex) {
              throw at(e.value, p + ": bad value \"" + c + "\"; expected auto (off for an s3-endpoint, the SDK's"
                  + " default for AWS), on or off");
            }
            break;
          }
          case "insecure-registry":
            insecure = bool(e.value, p);
            break;
          default:
            break;
        }
      }
      return new RepositoryConfig(url, endpoint, region, pathStyle, checksum, chunked, insecure);
    }
    return RepositoryConfig.of(url(v, path));
  }

  private String url(YamlNode v, String path) throws ConfigException {
    String u = string(v, path, RepositoryConfig.EXPECTED_URL);
    try {
      return RepositoryConfig.checkUrl(u, baseDir);
    } catch (IllegalArgumentException e) {
      throw at(v, path + ": " + e.getMessage());
    }
  }

  private Consistency consistency(YamlNode v, String path) throws ConfigException {
    String c = string(v, path, CONSISTENCY_EXPECTED);
    try {
      return Consistency.parse(c);
    } catch (IllegalArgumentException e) {
      throw at(v, path + ": bad consistency \"" + c + "\"; expected " + CONSISTENCY_EXPECTED);
    }
  }

  private Hooks hooks(YamlNode v, String path) throws ConfigException {
    MapNode m = map(v, path, "a map with pre: and/or post: lists of hooks");
    checkKeys(m, HOOKS_KEYS, path);
    List<HookAt> pre = hookList(m.get("pre"), path + ".pre");
    List<HookAt> post = hookList(m.get("post"), path + ".post");
    return new Hooks(pre, post);
  }

  private List<HookAt> hookList(YamlNode v, String path) throws ConfigException {
    if (v == null || isNull(v)) {
      return List.of();
    }
    ListNode l = list(v, path, "a list of hooks, each a shell string or {command: ..., timeout: ..., on-error: ...}");
    List<HookAt> out = new ArrayList<>();
    for (int i = 0; i < l.items().size(); i++) {
      YamlNode item = l.items().get(i);
      out.add(new HookAt(hook(item, path + "[" + i + "]"), path + "[" + i + "]", item.line, item.column));
    }
    return out;
  }

  private Hook hook(YamlNode v, String path) throws ConfigException {
    if (!(v instanceof MapNode)) {
      // Short forms: a shell string, or an argv list.
      return new Hook(command(v, path), Hook.DEFAULT_TIMEOUT, Hook.OnError.ABORT, Optional.empty());
    }
    MapNode m = (MapNode) v;
    checkKeys(m, HOOK_KEYS, path);
    MapNode.Entry c = m.entry("command");
    if (c == null) {
      throw at(v, path + ": no command:; expected command: \"shell string\" or command: [argv, ...]");
    }
    List<String> command = command(c.value, path + ".command");
    Duration timeout = Hook.DEFAULT_TIMEOUT;
    if (m.has("timeout")) {
      timeout = duration(m.get("timeout"), path + ".timeout");
      if (timeout.isZero()) {
        throw at(m.get("timeout"), path + ".timeout: 0 would kill the hook at once; expected a duration above zero");
      }
    }
    Hook.OnError onError = Hook.OnError.ABORT;
    if (m.has("on-error")) {
      YamlNode o = m.get("on-error");
      String s = string(o, path + ".on-error", "abort or continue");
      onError = Arrays.stream(Hook.OnError.values()).filter(x -> x.value().equalsIgnoreCase(s.strip())).findFirst()
          .orElseThrow(() -> at(o, path + ".on-error: bad value \"" + s + "\"; expected abort or continue"));
    }
    Optional<String> container = Optional.empty();
    if (m.has("container") && !isNull(m.get("container"))) {
      String n = stripSlash(string(m.get("container"), path + ".container", "a container name"));
      if (!NAME.matcher(n).matches()) {
        throw at(m.get("container"), path + ".container: bad container name \"" + n
            + "\"; expected letters, digits, '_', '.' or '-'");
      }
      container = Optional.of(n);
    }
    return new Hook(command, timeout, onError, container);
  }

  private List<String> command(YamlNode v, String path) throws ConfigException {
    String expected = "a shell string (run with sh -c) or a list of arguments";
    if (v instanceof ListNode) {
      List<String> argv = new ArrayList<>();
      for (YamlNode a : ((ListNode) v).items()) {
        argv.add(string(a, path, "an argument string"));
      }
      if (argv.isEmpty() || argv.get(0).isBlank()) {
        throw at(v, path + ": empty command; expected " + expected);
      }
      return argv;
    }
    String s = string(v, path, expected);
    if (s.isBlank()) {
      throw at(v, path + ": empty command; expected " + expected);
    }
    return List.of("sh", "-c", s);
  }

  private ZoneId zone(YamlNode v, String path) throws ConfigException {
    if (isNull(v)) {
      return ZoneOffset.UTC;
    }
    String z = string(v, path, "a time zone like Europe/Berlin or UTC");
    try {
      return ZoneId.of(z.strip());
    } catch (DateTimeException e) {
      String hint = didYouMean(z.strip(), ZoneId.getAvailableZoneIds());
      throw at(v, path + ": unknown time zone \"" + z + "\"" + hint
          + "; expected an IANA zone name like Europe/Berlin, America/New_York or UTC");
    }
  }

  private RetentionPolicy retention(YamlNode v, String path) throws ConfigException {
    MapNode m = map(v, path, "a map of keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly, keep-yearly");
    List<String> keys = Arrays.stream(RetentionPolicy.Rule.values()).map(RetentionPolicy.Rule::key).toList();
    checkKeys(m, keys, path);
    if (m.entries().isEmpty()) {
      throw at(v, path + ": no rules; expected at least one of " + String.join(", ", keys)
          + " (leave retention: out to keep everything)");
    }
    RetentionPolicy.Builder b = RetentionPolicy.builder();
    for (MapNode.Entry e : m.entries().values()) {
      b.keep(RetentionPolicy.Rule.fromKey(e.key).orElseThrow(), count(e.value, path + "." + e.key));
    }
    try {
      return b.build();
    } catch (RetentionException e) {
      throw at(v, path + ": " + e.getMessage().replace("(to really remove everything, allow it explicitly)",
          "(or leave retention: out to keep everything)"));
    }
  }

  private int count(YamlNode v, String path) throws ConfigException {
    String expected = "a whole number, 0 or more";
    if (v instanceof Scalar) {
      Scalar s = (Scalar) v;
      if (s.kind == Scalar.Kind.INTEGER || (s.kind == Scalar.Kind.STRING && s.text.strip().matches("-?\\d+"))) {
        long n;
        try {
          n = Long.parseLong(s.text.strip());
        } catch (NumberFormatException e) {
          throw at(v, path + ": " + s.text + " is too large; expected " + expected);
        }
        if (n < 0) {
          throw at(v, path + ": " + n + " is negative; expected " + expected);
        }
        if (n > Integer.MAX_VALUE) {
          throw at(v, path + ": " + n + " is too large; expected " + expected);
        }
        return (int) n;
      }
      throw at(v, path + ": not a number: got " + v.describe() + "; expected " + expected);
    }
    throw at(v, path + ": expected " + expected + ", got " + v.describe());
  }

  private Notification notify(YamlNode v, String path) throws ConfigException {
    MapNode m = map(v, path, "a map with webhook: URL and on: failure|always");
    checkKeys(m, NOTIFY_KEYS, path);
    MapNode.Entry w = m.entry("webhook");
    if (w == null) {
      throw at(v, path + ": no webhook:; expected webhook: https://…");
    }
    String url = string(w.value, path + ".webhook", "an http(s) URL");
    URI uri;
    try {
      uri = Notification.checkWebhook(url);
    } catch (IllegalArgumentException e) {
      throw at(w.value, path + ".webhook: " + e.getMessage());
    }
    Notification.On on = Notification.On.FAILURE;
    if (m.has("on")) {
      YamlNode o = m.get("on");
      String s = string(o, path + ".on", "failure or always");
      on = Arrays.stream(Notification.On.values()).filter(x -> x.value().equalsIgnoreCase(s.strip())).findFirst()
          .orElseThrow(() -> at(o, path + ".on: bad value \"" + s + "\"; expected failure (the default) or always"));
    }
    return new Notification(uri, on);
  }

  private List<String> containerNames(YamlNode v, String path) throws ConfigException {
    String expected = "a list of container names, like [web, db]";
    if (v instanceof Scalar && !isNull(v)) {
      throw at(v, path + ": expected " + expected + ", got " + v.describe() + " (write [" + ((Scalar) v).text
          + "] for one)");
    }
    ListNode l = list(v, path, expected);
    List<String> names = new ArrayList<>();
    for (int i = 0; i < l.items().size(); i++) {
      YamlNode item = l.items().get(i);
      String n = stripSlash(string(item, path + "[" + i + "]", "a container name"));
      if (!NAME.matcher(n).matches()) {
        throw at(item, path + "[" + i + "]: bad container name \"" + n
            + "\"; expected letters, digits, '_', '.' or '-', starting with a letter or digit");
      }
      if (names.contains(n)) {
        throw at(item, path + "[" + i + "]: " + n + " is listed twice; expected each container once");
      }
      names.add(n);
    }
    return names;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Typed access with errors that point at the node.

  private MapNode map(YamlNode v, String path, String expected) throws ConfigException {
    if (v instanceof MapNode) {
      return (MapNode) v;
    }
    throw at(v, path + ": expected " + expected + ", got " + v.describe());
  }

  private ListNode list(YamlNode v, String path, String expected) throws ConfigException {
    if (v instanceof ListNode) {
      return (ListNode) v;
    }
    throw at(v, path + ": expected " + expected + ", got " + v.describe());
  }

  /** A string; numbers are taken as written, true/false and null are refused (quote them). */
  private String string(YamlNode v, String path, String expected) throws ConfigException {
    if (v instanceof Scalar) {
      Scalar s = (Scalar) v;
      switch (s.kind) {
        case STRING:
        case INTEGER:
        case FLOAT:
          return s.text;
        case BOOLEAN:
          throw at(v, path + ": expected " + expected + ", got " + v.describe() + " (quote it if you mean the text)");
        default:
          break;
      }
    }
    throw at(v, path + ": expected " + expected + ", got " + v.describe());
  }

  private boolean bool(YamlNode v, String path) throws ConfigException {
    if (v instanceof Scalar && ((Scalar) v).kind == Scalar.Kind.BOOLEAN) {
      return Boolean.parseBoolean(((Scalar) v).text.toLowerCase(Locale.ROOT))
          || List.of("yes", "on", "y").contains(((Scalar) v).text.toLowerCase(Locale.ROOT));
    }
    throw at(v, path + ": expected true or false, got " + v.describe());
  }

  private Duration duration(YamlNode v, String path) throws ConfigException {
    if (v instanceof Scalar && ((Scalar) v).kind == Scalar.Kind.INTEGER) {
      throw at(v, path + ": " + ((Scalar) v).text + " has no unit; expected " + Durations.EXPECTED);
    }
    String s = string(v, path, Durations.EXPECTED);
    try {
      return Durations.parse(s);
    } catch (IllegalArgumentException e) {
      throw at(v, path + ": " + e.getMessage());
    }
  }

  private void checkKeys(MapNode m, Collection<String> allowed, String where) throws ConfigException {
    for (MapNode.Entry e : m.entries().values()) {
      if (!allowed.contains(e.key)) {
        throw at(e, where + ": unknown key \"" + e.key + "\"" + didYouMean(e.key, allowed) + "; expected one of: "
            + String.join(", ", allowed));
      }
    }
  }

  private ConfigException at(YamlNode n, String problem) {
    return ConfigException.at(file, n.line, n.column, problem);
  }

  private ConfigException at(MapNode.Entry e, String problem) {
    return ConfigException.at(file, e.line, e.column, problem);
  }

  private static boolean isNull(YamlNode v) {
    return v instanceof Scalar && ((Scalar) v).isNull();
  }

  private static String stripSlash(String s) {
    return Selection.stripSlash(s.strip());
  }

  private static <T> T orElse(T value, T fallback) {
    return value != null ? value : fallback;
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return List.copyOf(out);
  }

  /** {@code ; did you mean "X"?} for the closest candidate, or "" when none is close. */
  static String didYouMean(String given, Collection<String> candidates) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    String g = given.toLowerCase(Locale.ROOT);
    for (String c : candidates) {
      int d = distance(g, c.toLowerCase(Locale.ROOT));
      if (d < bestDistance) {
        best = c;
        bestDistance = d;
      }
    }
    if (best == null) {
      return "";
    }
    int limit = given.length() >= 8 ? 3 : given.length() >= 4 ? 2 : 1;
    boolean prefix = given.length() >= 4 && best.toLowerCase(Locale.ROOT).startsWith(g);
    return bestDistance <= limit || prefix ? "; did you mean \"" + best + "\"?" : "";
  }

  /** Levenshtein distance. */
  static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  // ---------------------------------------------------------------------------------------------------------

  /** The settings one map (defaults: or a job) gives; a key present with null means "explicitly none". */
  private static final class Partial {
    private final SettingSource source;
    private final Map<String, Object> values = new HashMap<>();

    Partial(SettingSource source) {
      this.source = source;
    }

    void put(String key, Object value) {
      values.put(key, value);
    }

    /** This value if set here, else {@code fallback}'s, else null; records where it came from. */
    @SuppressWarnings("unchecked")
    <T> T merged(String key, Partial fallback, Map<String, SettingSource> origins) {
      if (values.containsKey(key)) {
        origins.put(key, source);
        return (T) values.get(key);
      }
      if (fallback.values.containsKey(key)) {
        origins.put(key, fallback.source);
        return (T) fallback.values.get(key);
      }
      origins.put(key, SettingSource.BUILT_IN);
      return null;
    }
  }

  /** A hook with where it was written, for errors found after merging. */
  private static final class HookAt {
    final Hook hook;
    final String path;
    final int line;
    final int column;

    HookAt(Hook hook, String path, int line, int column) {
      this.hook = hook;
      this.path = path;
      this.line = line;
      this.column = column;
    }
  }

  private static final class Hooks {
    static final Hooks NONE = new Hooks(List.of(), List.of());
    final List<HookAt> pre;
    final List<HookAt> post;

    Hooks(List<HookAt> pre, List<HookAt> post) {
      this.pre = pre;
      this.post = post;
    }

    List<HookAt> all() {
      List<HookAt> all = new ArrayList<>(pre);
      all.addAll(post);
      return all;
    }
  }

  /** A schedule checked when read; parsed again with the job's final time zone. */
  private static final class ScheduleText {
    final String text;
    final int line;
    final int column;

    ScheduleText(String text, int line, int column) {
      this.text = text;
      this.line = line;
      this.column = column;
    }
  }
}
