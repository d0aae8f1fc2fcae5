package io.jmigrate.job;

import io.jmigrate.backup.Consistency;
import io.jmigrate.snapshot.RetentionPolicy;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One configured job, with {@code defaults:} and built-in defaults already applied: every top-level key the job
 * does not set is taken whole from {@code defaults:}, else from the built-in default. {@link #origin} says which.
 * Per-container label overrides and flags are applied later by {@link EffectiveSettings#resolve}.
 *
 * @param name the job's key under {@code jobs:}
 * @param selection which containers
 * @param exclude container names never backed up by this job, even when selected
 * @param host the engine as {@code -H} takes it; empty means the default resolution (DOCKER_HOST, context, socket)
 * @param repositories one or more; each run writes every container to each of them
 * @param consistency pause (built-in default), stop or none
 * @param preHooks run before each container's snapshot, in order
 * @param postHooks run after each container's snapshot, in order
 * @param schedule when {@code jmigrate schedule} runs it; empty means only {@code jmigrate run}
 * @param timezone the zone of the schedule and of retention's days, weeks, months and years (built-in: UTC)
 * @param retention what {@code prune} keeps; {@link RetentionPolicy#keepAll()} when none is set
 * @param notification where to report runs, if anywhere
 * @param includeBinds also back up bind-mounted host directories (built-in: false)
 * @param freezePerRepository back up each container into each repository on its own, freezing it once per
 *     repository (built-in: false: one backup, copied into the other repositories)
 * @param origins for each top-level setting key ({@code consistency}, {@code hooks}, …) where it came from:
 *     {@link SettingSource#JOB}, {@link SettingSource#DEFAULTS} or {@link SettingSource#BUILT_IN}
 */
public record Job(
    String name,
    Selection selection,
    List<String> exclude,
    Optional<String> host,
    List<RepositoryConfig> repositories,
    Consistency consistency,
    List<Hook> preHooks,
    List<Hook> postHooks,
    Optional<CronSchedule> schedule,
    ZoneId timezone,
    RetentionPolicy retention,
    Optional<Notification> notification,
    boolean includeBinds,
    boolean freezePerRepository,
    Map<String, SettingSource> origins) {

  public Job {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(selection, "selection");
    exclude = List.copyOf(exclude);
    Objects.requireNonNull(host, "host");
    repositories = List.copyOf(repositories);
    if (repositories.isEmpty()) {
      throw new IllegalArgumentException("job " + name + " needs at least one repository");
    }
    Objects.requireNonNull(consistency, "consistency");
    preHooks = List.copyOf(preHooks);
    postHooks = List.copyOf(postHooks);
    Objects.requireNonNull(schedule, "schedule");
    Objects.requireNonNull(timezone, "timezone");
    Objects.requireNonNull(retention, "retention");
    Objects.requireNonNull(notification, "notification");
    origins = Map.copyOf(origins);
  }

  /** Where a top-level setting came from; {@link SettingSource#BUILT_IN} for keys the file never set. */
  public SettingSource origin(String key) {
    return origins.getOrDefault(key, SettingSource.BUILT_IN);
  }

  /** True when the job selects this container and does not exclude it (labels are applied later). */
  public boolean selects(String containerName, Map<String, String> labels) {
    return selection.matches(containerName, labels) && !exclude.contains(Selection.stripSlash(containerName));
  }

  /** The pre hooks that run in this container: those without {@code container:} and those naming it. */
  public List<Hook> preHooksFor(String containerName) {
    return hooksFor(preHooks, containerName);
  }

  /** The post hooks that run in this container. */
  public List<Hook> postHooksFor(String containerName) {
    return hooksFor(postHooks, containerName);
  }

  private static List<Hook> hooksFor(List<Hook> hooks, String containerName) {
    String name = Selection.stripSlash(containerName);
    return hooks.stream().filter(h -> h.container().map(name::equals).orElse(true)).collect(
        java.util.stream.Collectors.toUnmodifiableList());
  }
}
