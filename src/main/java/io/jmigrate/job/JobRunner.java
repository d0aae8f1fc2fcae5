package io.jmigrate.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.backup.BackupRunner;
import io.jmigrate.backup.VolumeSources;
import io.jmigrate.blob.TransferListener;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.engine.HostSpec;
import io.jmigrate.snapshot.SnapshotCopier;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import io.jmigrate.store.StoreLock;
import io.jmigrate.store.Stores;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one job once, as {@code jmigrate run} and the scheduler do:
 * <ol>
 *   <li>open every repository of the job and take its SHARED lock, as a backup does: any number of runs, from any
 *       number of hosts, back up into one repository at once; only prune's deletion excludes them (it waits up to
 *       {@link Settings#lockWait()} for them, and they for it);
 *   <li>connect to the job's engine and resolve the selection there (names, label selector or compose project;
 *       containers labelled {@code jmigrate.exclude=true}, drill clones and jmigrate's helpers are skipped);
 *   <li>for each container: run its pre hooks, back it up to every repository ({@link BackupRunner} once per
 *       repository), run its post hooks;
 *   <li>apply the job's retention (forget) to the containers backed up in each repository, on this run's engine
 *       host only: forgetting removes one tag per snapshot, so it is safe beside other hosts' runs and backups;
 *   <li>release the locks and POST the summary to the job's webhook if its policy says so.
 * </ol>
 *
 * <p>Several repositories: the container is backed up once, into the first repository that takes it, and that
 * snapshot is copied into the others ({@link SnapshotCopier}: same blobs, same id, only what each lacks sent), so
 * it is frozen and read once. A repository whose store compresses differently (a registry), or every repository
 * when the job says {@code freeze-per-repository: true}, gets a backup of its own. Hooks run once around the whole
 * group.
 *
 * <p>Never throws for a failed container or repository: every failure becomes a result in the
 * {@link RunSummary}, with its cause kept in {@link Outcome#causes()} for the exit code.
 */
public final class JobRunner {
  private static final Logger LOG = LoggerFactory.getLogger(JobRunner.class);
  /** Label on the containers a drill creates; they are never backed up. */
  public static final String DRILL_LABEL = "io.jmigrate.drill";
  /** Label on jmigrate's helper containers (restore's volume filler). */
  public static final String HELPER_LABEL = "io.jmigrate.helper";

  /**
   * How to run.
   *
   * @param lockWait how long to wait for another holder of a repository lock (zero: fail at once)
   * @param overrides command-line flags that override labels and the job
   * @param toolVersion recorded in each snapshot
   * @param progress hears volume and layer transfers
   * @param stopRequested polled between containers and repositories: once true, the rest is skipped
   * @param clock the run's start and end times
   * @param notifier posts the summary; null sends nothing
   */
  public record Settings(Duration lockWait, EffectiveSettings.Overrides overrides, String toolVersion,
      TransferListener progress, BooleanSupplier stopRequested, Clock clock, WebhookNotifier notifier) {
    public Settings {
      Objects.requireNonNull(lockWait, "lockWait");
      Objects.requireNonNull(overrides, "overrides");
      Objects.requireNonNull(toolVersion, "toolVersion");
      progress = progress == null ? TransferListener.NONE : progress;
      stopRequested = stopRequested == null ? () -> false : stopRequested;
      clock = clock == null ? Clock.systemUTC() : clock;
    }

    /** Defaults: fail at once on a held lock, no overrides, no progress, real clock, webhooks sent. */
    public static Settings defaults(String toolVersion) {
      return new Settings(Duration.ZERO, EffectiveSettings.Overrides.NONE, toolVersion, TransferListener.NONE, null,
          Clock.systemUTC(), new WebhookNotifier());
    }

    public Settings withLockWait(Duration d) {
      return new Settings(d, overrides, toolVersion, progress, stopRequested, clock, notifier);
    }

    public Settings withProgress(TransferListener p) {
      return new Settings(lockWait, overrides, toolVersion, p, stopRequested, clock, notifier);
    }

    public Settings withStopRequested(BooleanSupplier s) {
      return new Settings(lockWait, overrides, toolVersion, progress, s, clock, notifier);
    }

    public Settings withOverrides(EffectiveSettings.Overrides o) {
      return new Settings(lockWait, o, toolVersion, progress, stopRequested, clock, notifier);
    }

    public Settings withNotifier(WebhookNotifier n) {
      return new Settings(lockWait, overrides, toolVersion, progress, stopRequested, clock, n);
    }
  }

  /**
   * What a run did.
   *
   * @param summary the run summary (also what the webhook received)
   * @param causes the exception behind each failed result and the run-level error, in order, so that the
   *     command line can tell "everything failed the same way" (e.g. every repository locked) from a mix
   */
  public record Outcome(RunSummary summary, List<Throwable> causes) {
    public Outcome {
      causes = List.copyOf(causes);
    }
  }

  /** A selected container as the engine listed it. */
  record Selected(String id, String name, Map<String, String> labels, boolean running, boolean paused,
      EngineException missing) {}

  /** One repository of the run: opened and locked, or why not. */
  private static final class Repo {
    final RepositoryConfig config;
    Store store;
    StoreLock lock;
    Exception failure;

    Repo(RepositoryConfig config) {
      this.config = config;
    }

    boolean usable() {
      return failure == null;
    }

    String location() {
      return config.url();
    }
  }

  private final Settings settings;

  public JobRunner(Settings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  /** Runs {@code job} once; see the class comment. */
  public Outcome run(Job job) {
    Clock clock = settings.clock();
    Instant started = clock.instant();
    List<String> locations = job.repositories().stream().map(RepositoryConfig::url).collect(Collectors.toList());
    RunSummary.Builder summary = RunSummary.builder(job.name()).host(job.host().orElse(null))
        .repositories(locations).started(started);
    List<RunSummary.ContainerResult> results = new ArrayList<>();
    List<Throwable> causes = new ArrayList<>();
    List<String> runErrors = new ArrayList<>();
    List<Repo> repos = new ArrayList<>();
    LOG.info("job {}: {} on {} to {}", job.name(), job.selection().display(), job.host().orElse("the default engine"),
        String.join(", ", locations));
    try {
      for (RepositoryConfig rc : job.repositories()) {
        repos.add(open(job, rc));
      }
      List<Repo> usable = repos.stream().filter(Repo::usable).collect(Collectors.toList());
      if (usable.isEmpty()) {
        for (Repo r : repos) {
          runErrors.add(message(r.failure));
          causes.add(r.failure);
        }
      } else {
        try (Engine engine = Engine.connect(HostSpec.resolve(job.host().orElse(null), System.getenv(), null))) {
          backUpAll(job, engine, repos, results, causes, runErrors);
        } catch (EngineException e) {
          runErrors.add("job " + job.name() + ": " + e.getMessage());
          causes.add(e);
        }
        for (Repo r : repos) {
          if (r.usable()) {
            applyRetention(job, r, results, runErrors, causes);
          }
        }
      }
    } finally {
      for (Repo r : repos) {
        if (r.lock != null) {
          r.lock.close();
        }
        if (r.store != null) {
          r.store.close();
        }
      }
    }
    results.forEach(summary::add);
    RunSummary done = summary.error(runErrors.isEmpty() ? null : String.join("; ", runErrors))
        .finished(later(started, clock.instant())).build();
    LOG.info("{}", done);
    if (job.notification().isPresent() && settings.notifier() != null) {
      settings.notifier().notify(job.notification().get(), done);
    }
    return new Outcome(done, causes);
  }

  private static Instant later(Instant a, Instant b) {
    return b.isBefore(a) ? a : b;
  }

  private Repo open(Job job, RepositoryConfig rc) {
    Repo r = new Repo(rc);
    try {
      r.store = Stores.open(rc.url(), rc.storeOptions());
      r.lock = r.store.lock(Store.LockMode.SHARED, "run " + job.name(), settings.lockWait());
    } catch (StoreException e) {
      r.failure = e;
      LOG.debug("job {}: repository {} unusable: {}", job.name(), rc.url(), e.getMessage());
    }
    return r;
  }

  private void backUpAll(Job job, Engine engine, List<Repo> repos, List<RunSummary.ContainerResult> summary, List<Throwable> causes,
      List<String> runErrors) throws EngineException {
    List<Selected> selected = select(engine, job);
    if (selected.isEmpty()) {
      String m = "job " + job.name() + " selected no container on " + engine.display() + " (" + job.selection()
          .display() + "); check the selection with `docker ps -a`";
      runErrors.add(m);
      causes.add(new JobException(m));
      return;
    }
    HookRunner hooks = new HookRunner(engine);
    for (Selected c : selected) {
      backUpOne(job, engine, hooks, c, repos, summary, causes);
    }
  }

  private void backUpOne(Job job, Engine engine, HookRunner hooks, Selected c, List<Repo> repos,
      List<RunSummary.ContainerResult> summary, List<Throwable> causes) {
    Clock clock = settings.clock();
    Instant t0 = clock.instant();
    if (c.missing() != null) {
      failAll(c.name(), repos, t0, c.missing(), summary, causes);
      return;
    }
    EffectiveSettings s;
    try {
      s = EffectiveSettings.resolve(job, c.name(), c.labels(), settings.overrides());
    } catch (ConfigException e) {
      failAll(c.name(), repos, t0, e, summary, causes);
      return;
    }
    s.warnings().forEach(LOG::warn);
    if (s.excluded()) {
      LOG.info("{}: excluded ({}), not backed up", c.name(), s.source("exclude").name().toLowerCase(java.util.Locale.ROOT));
      return;
    }
    if (settings.stopRequested().getAsBoolean()) {
      failAll(c.name(), repos, t0, new JobException(stopMessage(c.name())), summary, causes);
      return;
    }
    for (Repo r : repos) {
      if (!r.usable()) {
        summary.add(RunSummary.ContainerResult.failure(c.name(), r.location(), Duration.ZERO, message(r.failure)));
        causes.add(r.failure);
      }
    }
    List<Repo> usable = repos.stream().filter(Repo::usable).collect(Collectors.toList());
    boolean canExec = c.running() && !c.paused();
    if (!canExec && (!s.preHooks().isEmpty() || !s.postHooks().isEmpty())) {
      LOG.info("{}: not running, so its hooks are not run (a stopped container is consistent as it is)", c.name());
    }
    if (canExec) {
      Optional<String> abort = hooks.run("pre", c.name(), c.id(), s.preHooks());
      if (abort.isPresent()) {
        String m = abort.get() + "; container " + c.name() + " was not backed up";
        LOG.warn("{}", m);
        for (Repo r : usable) {
          summary.add(RunSummary.ContainerResult.failure(c.name(), r.location(), since(t0), m));
          causes.add(new JobException(m));
        }
        return;
      }
    }
    BackupRunner.Options options = new BackupRunner.Options(s.consistency(), s.includeBinds(), null,
        VolumeSources.Reader.AUTO, settings.toolVersion());
    List<Object[]> done = new ArrayList<>(); // {Repo, BackupRunner.Result or Exception}
    Repo first = null;
    BackupRunner.Result taken = null;
    for (Repo r : usable) {
      if (settings.stopRequested().getAsBoolean()) {
        done.add(new Object[] {r, new JobException(stopMessage(c.name()))});
        continue;
      }
      if (taken != null && canCopy(job, first, r, c.name())) {
        done.add(new Object[] {r, copy(c.name(), first, taken, r)});
        continue;
      }
      try {
        BackupRunner.Result res = new BackupRunner(engine, new SnapshotRepository(r.store), options,
            settings.progress()).backup(c.id());
        LOG.info("{}: backed up to {} as {} ({}, frozen {})", c.name(), r.location(), res.snapshot().shortId(),
            res.consistency(), Durations.format(res.frozen().withNanos(0)));
        done.add(new Object[] {r, res});
        if (taken == null) {
          first = r;
          taken = res;
        }
      } catch (Exception e) {
        LOG.warn("{}: backup to {} failed: {}", c.name(), r.location(), message(e));
        done.add(new Object[] {r, e});
      }
    }
    String postFailure = null;
    if (canExec) {
      postFailure = hooks.run("post", c.name(), c.id(), s.postHooks()).orElse(null);
      if (postFailure != null) {
        LOG.warn("{}", postFailure);
      }
    }
    Duration took = since(t0);
    for (Object[] d : done) {
      Repo r = (Repo) d[0];
      if (d[1] instanceof BackupRunner.Result) {
        SnapshotSummary snap = ((BackupRunner.Result) d[1]).snapshot();
        long bytes = Math.max(0, snap.size());
        if (postFailure == null) {
          summary.add(RunSummary.ContainerResult.success(c.name(), r.location(), snap.shortId(), bytes, took));
        } else {
          String m = postFailure + "; snapshot " + snap.shortId() + " was kept";
          summary.add(new RunSummary.ContainerResult(c.name(), r.location(), snap.shortId(), bytes, took, m));
          causes.add(new JobException(m));
        }
      } else {
        Exception e = (Exception) d[1];
        summary.add(RunSummary.ContainerResult.failure(c.name(), r.location(), took, message(e)));
        causes.add(e);
      }
    }
  }

  /**
   * Whether {@code to} gets a copy of the snapshot taken for {@code from} rather than a backup of its own: one
   * freeze and one read of the container for every repository, unless the job asks for a freeze per repository
   * or the stores compress differently (a registry keeps gzip layers so that engines can pull them; a copy is
   * byte-exact and would keep another store's zstd).
   */
  private static boolean canCopy(Job job, Repo from, Repo to, String container) {
    if (job.freezePerRepository()) {
      return false;
    }
    for (Store.ContentKind k : Store.ContentKind.values()) {
      if (from.store.compression(k) != to.store.compression(k)) {
        LOG.info("{}: {} compresses {} as {}, {} as {}: backed up on its own, with its own freeze", container,
            to.location(), k.name().toLowerCase(java.util.Locale.ROOT), to.store.compression(k), from.location(),
            from.store.compression(k));
        return false;
      }
    }
    return true;
  }

  /** Copies the snapshot just taken for {@code from} into {@code to}: the result, or why it failed. */
  private static Object copy(String container, Repo from, BackupRunner.Result taken, Repo to) {
    try {
      SnapshotCopier.Result c = new SnapshotCopier(new SnapshotRepository(from.store), to.store)
          .copy(taken.snapshot());
      LOG.info("{}: copied to {} as {} from {} (one freeze for both; {} object(s), {} sent)", container, to.location(),
          c.snapshot().shortId(), from.location(), c.objectsSent(), Scheduler.bytes(c.bytesSent()));
      return new BackupRunner.Result(taken.container(), c.snapshot(), taken.consistency(), c.bytesSent(),
          taken.bytesWritten() + taken.bytesReused() - c.bytesSent(), taken.frozen(), taken.total());
    } catch (Exception e) {
      LOG.warn("{}: copy of snapshot {} to {} failed: {}", container, taken.snapshot().shortId(), to.location(),
          message(e));
      return e;
    }
  }

  private static String stopMessage(String name) {
    return "container " + name + " was not backed up: jmigrate is stopping; it is backed up at the next run";
  }

  private void failAll(String name, List<Repo> repos, Instant t0, Exception e,
      List<RunSummary.ContainerResult> summary, List<Throwable> causes) {
    LOG.warn("{}: {}", name, message(e));
    for (Repo r : repos) {
      Exception cause = r.usable() ? e : r.failure;
      summary.add(RunSummary.ContainerResult.failure(name, r.location(), since(t0), message(cause)));
      causes.add(cause);
    }
  }

  private Duration since(Instant t0) {
    Duration d = Duration.between(t0, settings.clock().instant());
    return d.isNegative() ? Duration.ZERO : d;
  }

  /**
   * The containers the job selects on {@code engine}: by name in the job's order (a missing name is kept with its
   * NOT_FOUND error, so it fails rather than vanishes), or by label or compose project sorted by name. Drill
   * clones and jmigrate's helper containers are never selected.
   */
  static List<Selected> select(Engine engine, Job job) throws EngineException {
    List<Selected> out = new ArrayList<>();
    Selection sel = job.selection();
    if (sel instanceof Selection.Names names) {
      for (String n : new LinkedHashSet<>(names.names())) {
        Optional<ObjectNode> c = engine.findContainer(n);
        if (c.isEmpty()) {
          out.add(new Selected(null, n, Map.of(), false, false, new EngineException(EngineException.Kind.NOT_FOUND,
              "no container '" + n + "' on " + engine.display() + " (job " + job.name()
                  + " names it); `docker ps -a` lists the containers there")));
          continue;
        }
        ObjectNode i = c.get();
        JsonNode state = i.path("State");
        out.add(new Selected(i.path("Id").asText(), Selection.stripSlash(i.path("Name").asText(n)),
            strings(i.path("Config").path("Labels")), state.path("Running").asBoolean(),
            state.path("Paused").asBoolean(), null));
      }
      return out;
    }
    List<String> filter = new ArrayList<>();
    if (sel instanceof Selection.Labels labels) {
      labels.selector().forEach((k, v) -> filter.add(v == null ? k : k + "=" + v));
    } else if (sel instanceof Selection.Project project) {
      filter.add(Selection.COMPOSE_PROJECT_LABEL + "=" + project.name());
    }
    Map<String, Selected> byName = new TreeMap<>();
    for (ObjectNode c : engine.listContainers(true, Map.of("label", filter))) {
      String name = Selection.stripSlash(c.path("Names").path(0).asText(c.path("Id").asText()));
      Map<String, String> labels = strings(c.path("Labels"));
      if (labels.containsKey(DRILL_LABEL) || labels.containsKey(HELPER_LABEL) || !sel.matches(name, labels)) {
        continue;
      }
      String st = c.path("State").asText("");
      byName.put(name, new Selected(c.path("Id").asText(), name, labels, "running".equals(st), "paused".equals(st),
          null));
    }
    out.addAll(byName.values());
    return out;
  }

  private static Map<String, String> strings(JsonNode n) {
    Map<String, String> m = new HashMap<>();
    if (n != null && n.isObject()) {
      n.properties().forEach(e -> m.put(e.getKey(), e.getValue().asText()));
    }
    return m;
  }

  /** Forgets, per container backed up in this run, the snapshots the job's retention does not keep. */
  private void applyRetention(Job job, Repo r, List<RunSummary.ContainerResult> results, List<String> runErrors,
      List<Throwable> causes) {
    if (!job.retention().hasRules()) {
      return;
    }
    Set<String> containers = new LinkedHashSet<>();
    Set<String> made = new HashSet<>();
    for (RunSummary.ContainerResult res : results) {
      // Only containers that got a new snapshot here: a failing backup never thins out the older ones.
      if (res.repository().equals(r.location()) && res.snapshot() != null) {
        containers.add(res.container());
        made.add(res.snapshot());
      }
    }
    if (containers.isEmpty()) {
      return;
    }
    try {
      SnapshotRepository repo = new SnapshotRepository(r.store);
      List<SnapshotSummary> all = repo.list();
      // Only this engine host's history: another host's container of the same name is that host's to thin out,
      // with its own job (RetentionSnapshot groups by host too).
      Set<String> hosts = all.stream().filter(s -> made.contains(s.shortId())).map(SnapshotSummary::hostname)
          .collect(Collectors.toSet());
      List<SnapshotSummary> ours = all.stream().filter(s -> hosts.contains(s.hostname())).collect(Collectors.toList());
      List<Pruner.Forgotten> remove = Pruner.plan(ours, List.of(new Pruner.Scope("job " + job.name() + " ("
          + job.retention() + ")", job.retention(), job.timezone(), containers::contains)), new LinkedHashMap<>());
      for (Pruner.Forgotten f : remove) {
        SnapshotSummary s = f.snapshot();
        repo.forget(s);
        LOG.info("{}: forgot snapshot {} of {} ({}): no rule of {} keeps it", r.location(), s.shortId(),
            s.container(), s.created(), f.scope());
      }
      if (!remove.isEmpty()) {
        LOG.info("{}: retention forgot {} snapshot(s); `jmigrate prune` frees their space", r.location(),
            remove.size());
      }
    } catch (StoreException e) {
      String m = "retention of job " + job.name() + " in " + r.location() + " failed: " + e.getMessage();
      LOG.warn("{}", m);
      runErrors.add(m);
      causes.add(e);
    }
  }

  static String message(Throwable e) {
    String m = e.getMessage();
    if (m == null || m.isBlank()) {
      m = e.getClass().getSimpleName() + (e.getCause() != null ? ": " + message(e.getCause()) : "");
    }
    return m.replaceAll("\\s*\\R\\s*", " ").trim();
  }
}
