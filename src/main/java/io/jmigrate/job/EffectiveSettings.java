package io.jmigrate.job;

import io.jmigrate.backup.Consistency;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The settings that apply to one container in one job run, after every override. Precedence, highest first:
 * command-line flags &gt; container labels &gt; the job &gt; {@code defaults:} &gt; built-in defaults (the last
 * three are merged by {@link JobConfigLoader}). The labels, as docker-volume-backup users know them:
 * <ul>
 *   <li>{@code jmigrate.consistency=pause|stop|none}
 *   <li>{@code jmigrate.pre=<shell command>} and {@code jmigrate.post=<shell command>}: run with {@code sh -c} in
 *       this container; they replace the job's pre (post) hooks for this container, and an empty value removes
 *       them. On error they abort.
 *   <li>{@code jmigrate.exclude=true|false}
 *   <li>{@code jmigrate.hook-timeout=30s}: the timeout of every hook run in this container.
 * </ul>
 * Pure: no engine, no clock. Immutable.
 */
public final class EffectiveSettings {
  public static final String LABEL_CONSISTENCY = "jmigrate.consistency";
  public static final String LABEL_PRE = "jmigrate.pre";
  public static final String LABEL_POST = "jmigrate.post";
  public static final String LABEL_EXCLUDE = "jmigrate.exclude";
  public static final String LABEL_HOOK_TIMEOUT = "jmigrate.hook-timeout";
  /** Every label this class reads. */
  public static final List<String> LABELS =
      List.of(LABEL_CONSISTENCY, LABEL_PRE, LABEL_POST, LABEL_EXCLUDE, LABEL_HOOK_TIMEOUT);

  /**
   * What the command line overrides; null fields are not given.
   *
   * @param consistency e.g. {@code --consistency stop}
   * @param hookTimeout the timeout of every hook
   * @param includeBinds e.g. {@code --include-binds}
   */
  public record Overrides(Consistency consistency, Duration hookTimeout, Boolean includeBinds) {
    /** No flags given. */
    public static final Overrides NONE = new Overrides(null, null, null);

    public Overrides {
      if (hookTimeout != null && (hookTimeout.isZero() || hookTimeout.isNegative())) {
        throw new IllegalArgumentException("hook timeout must be above zero: " + hookTimeout);
      }
    }
  }

  private final String container;
  private final boolean excluded;
  private final Consistency consistency;
  private final List<Hook> preHooks;
  private final List<Hook> postHooks;
  private final boolean includeBinds;
  private final Map<String, SettingSource> sources;
  private final List<String> warnings;

  private EffectiveSettings(String container, boolean excluded, Consistency consistency, List<Hook> preHooks,
      List<Hook> postHooks, boolean includeBinds, Map<String, SettingSource> sources, List<String> warnings) {
    this.container = container;
    this.excluded = excluded;
    this.consistency = consistency;
    this.preHooks = List.copyOf(preHooks);
    this.postHooks = List.copyOf(postHooks);
    this.includeBinds = includeBinds;
    this.sources = Map.copyOf(sources);
    this.warnings = List.copyOf(warnings);
  }

  /** As {@link #resolve(Job, String, Map, Overrides)} with no command-line overrides. */
  public static EffectiveSettings resolve(Job job, String container, Map<String, String> labels)
      throws ConfigException {
    return resolve(job, container, labels, Overrides.NONE);
  }

  /**
   * Resolves the settings of one selected container.
   *
   * @param job the loaded job (defaults already applied)
   * @param container the container's name (a leading {@code /} is ignored)
   * @param labels the container's labels
   * @param flags what the command line overrides
   * @throws ConfigException naming the container, the label and what is expected, for a bad label value
   */
  public static EffectiveSettings resolve(Job job, String container, Map<String, String> labels, Overrides flags)
      throws ConfigException {
    Objects.requireNonNull(job, "job");
    Objects.requireNonNull(labels, "labels");
    Objects.requireNonNull(flags, "flags");
    String name = Selection.stripSlash(Objects.requireNonNull(container, "container"));
    Map<String, SettingSource> sources = new LinkedHashMap<>();
    List<String> warnings = new ArrayList<>();

    for (String key : labels.keySet()) {
      if (key.startsWith("jmigrate.") && !LABELS.contains(key)) {
        String hint = JobConfigLoader.didYouMean(key, LABELS);
        if (!hint.isEmpty()) {
          warnings.add("container " + name + ": label " + key + " is not a jmigrate setting" + hint
              + " It is ignored.");
        }
      }
    }

    // exclude: label > job/defaults.
    boolean excluded = job.exclude().contains(name);
    sources.put("exclude", job.origin("exclude"));
    String ex = labels.get(LABEL_EXCLUDE);
    if (ex != null) {
      String v = ex.strip().toLowerCase(Locale.ROOT);
      if (!v.equals("true") && !v.equals("false")) {
        throw ConfigException.label(name, LABEL_EXCLUDE, ex, "true or false");
      }
      excluded = v.equals("true");
      sources.put("exclude", SettingSource.LABEL);
    }

    // consistency: flag > label > job/defaults/built-in.
    Consistency consistency = job.consistency();
    sources.put("consistency", job.origin("consistency"));
    String c = labels.get(LABEL_CONSISTENCY);
    if (c != null) {
      try {
        consistency = Consistency.parse(c);
      } catch (IllegalArgumentException e) {
        throw ConfigException.label(name, LABEL_CONSISTENCY, c, JobConfigLoader.CONSISTENCY_EXPECTED);
      }
      sources.put("consistency", SettingSource.LABEL);
    }
    if (flags.consistency() != null) {
      consistency = flags.consistency();
      sources.put("consistency", SettingSource.FLAG);
    }

    // hook timeout: flag > label > each hook's own.
    Optional<Duration> timeout = Optional.empty();
    sources.put("hook-timeout", job.origin("hooks"));
    String t = labels.get(LABEL_HOOK_TIMEOUT);
    if (t != null) {
      Duration d;
      try {
        d = Durations.parse(t);
      } catch (IllegalArgumentException e) {
        throw ConfigException.label(name, LABEL_HOOK_TIMEOUT, t, Durations.EXPECTED);
      }
      if (d.isZero()) {
        throw ConfigException.label(name, LABEL_HOOK_TIMEOUT, t, "a duration above zero, like 30s");
      }
      timeout = Optional.of(d);
      sources.put("hook-timeout", SettingSource.LABEL);
    }
    if (flags.hookTimeout() != null) {
      timeout = Optional.of(flags.hookTimeout());
      sources.put("hook-timeout", SettingSource.FLAG);
    }

    List<Hook> pre = hooks(job.preHooksFor(name), job.origin("hooks"), labels.get(LABEL_PRE), "pre", name, timeout,
        sources);
    List<Hook> post = hooks(job.postHooksFor(name), job.origin("hooks"), labels.get(LABEL_POST), "post", name,
        timeout, sources);

    boolean includeBinds = job.includeBinds();
    sources.put("include-binds", job.origin("include-binds"));
    if (flags.includeBinds() != null) {
      includeBinds = flags.includeBinds();
      sources.put("include-binds", SettingSource.FLAG);
    }
    return new EffectiveSettings(name, excluded, consistency, pre, post, includeBinds, sources, warnings);
  }

  private static List<Hook> hooks(List<Hook> fromJob, SettingSource jobSource, String label, String which,
      String container, Optional<Duration> timeout, Map<String, SettingSource> sources) {
    List<Hook> hooks = fromJob;
    sources.put(which, jobSource);
    if (label != null) {
      sources.put(which, SettingSource.LABEL);
      hooks = label.isBlank()
          ? List.of()
          : List.of(Hook.shell(label, Hook.DEFAULT_TIMEOUT, Hook.OnError.ABORT, Optional.of(container)));
    }
    if (timeout.isPresent()) {
      List<Hook> timed = new ArrayList<>();
      for (Hook h : hooks) {
        timed.add(h.withTimeout(timeout.get()));
      }
      hooks = timed;
    }
    return hooks;
  }

  /** The container's name, without a leading {@code /}. */
  public String container() {
    return container;
  }

  /** True when this container is not backed up (job {@code exclude:} or label {@code jmigrate.exclude=true}). */
  public boolean excluded() {
    return excluded;
  }

  public Consistency consistency() {
    return consistency;
  }

  /** Pre hooks to run in this container, in order. */
  public List<Hook> preHooks() {
    return preHooks;
  }

  /** Post hooks to run in this container, in order. */
  public List<Hook> postHooks() {
    return postHooks;
  }

  public boolean includeBinds() {
    return includeBinds;
  }

  /**
   * Where each setting came from, for keys {@code exclude}, {@code consistency}, {@code hook-timeout},
   * {@code pre}, {@code post}, {@code include-binds}.
   */
  public Map<String, SettingSource> sources() {
    return sources;
  }

  /** Where one setting came from. */
  public SettingSource source(String key) {
    return sources.getOrDefault(key, SettingSource.BUILT_IN);
  }

  /** Labels that look like misspelt jmigrate settings, to log as warnings. */
  public List<String> warnings() {
    return warnings;
  }

  @Override
  public String toString() {
    return "container " + container + (excluded ? " (excluded)" : "") + ": consistency " + consistency.label()
        + " (" + source("consistency").name().toLowerCase(Locale.ROOT) + "), " + preHooks.size() + " pre hook(s), "
        + postHooks.size() + " post hook(s)";
  }
}
