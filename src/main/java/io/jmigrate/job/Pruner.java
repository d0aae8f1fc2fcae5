package io.jmigrate.job;

import com.fasterxml.jackson.databind.JsonNode;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.Json;
import io.jmigrate.snapshot.Retention;
import io.jmigrate.snapshot.RetentionPlan;
import io.jmigrate.snapshot.RetentionPolicy;
import io.jmigrate.snapshot.RetentionSnapshot;
import io.jmigrate.snapshot.Snapshot;
import io.jmigrate.snapshot.SnapshotException;
import io.jmigrate.snapshot.SnapshotRepository;
import io.jmigrate.snapshot.SnapshotSummary;
import io.jmigrate.store.BlobInfo;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import io.jmigrate.store.StoreLock;
import io.jmigrate.store.Tag;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prunes one repository in two steps, under its EXCLUSIVE lock:
 * <ol>
 *   <li><b>Forget</b>: apply retention per container (docs/retention.md) and delete the tags of the snapshots no
 *       rule keeps. With several scopes (one per job that writes here), a snapshot is forgotten only when no scope
 *       that covers its container keeps it.
 *   <li><b>Collect</b>: delete the blobs that no remaining tag reaches (walking every tagged index and manifest:
 *       configs, layers, volumes, nested manifests).
 * </ol>
 *
 * <p>Safety while a backup runs: a backup holds the repository's SHARED lock, so prune (EXCLUSIVE) waits for it
 * or fails naming it. As a second line of defence, a blob written less than the grace period ago is never deleted,
 * even when unreferenced: it may belong to a snapshot that is not published yet. The blobs are listed before the
 * tags are read, so a snapshot published meanwhile is seen. What the grace cannot protect is an old unreferenced
 * blob that a backup re-uses (deduplication) while prune runs without the lock: that is why the lock is taken.
 *
 * <p>A store that cannot list its blobs (an OCI registry) gets the forget step only; its blobs are freed by the
 * registry's own garbage collection.
 */
public final class Pruner {
  private static final Logger LOG = LoggerFactory.getLogger(Pruner.class);

  /**
   * Which snapshots one retention policy covers.
   *
   * @param name for messages, e.g. {@code job nightly} or {@code --keep-* flags}
   * @param policy the rules; {@link RetentionPolicy#keepAll()} forgets nothing
   * @param zone where days, weeks, months and years begin
   * @param containers which containers' snapshots it applies to (by name)
   */
  public record Scope(String name, RetentionPolicy policy, ZoneId zone, Predicate<String> containers) {
    public Scope {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(policy, "policy");
      Objects.requireNonNull(zone, "zone");
      Objects.requireNonNull(containers, "containers");
    }
  }

  /**
   * How to prune.
   *
   * @param dryRun report what would be forgotten and deleted, change nothing
   * @param gcGrace unreferenced blobs younger than this are kept
   * @param lockWait how long to wait for the repository lock (backups hold it shared)
   * @param clock what "now" is for the grace period
   */
  public record Options(boolean dryRun, Duration gcGrace, Duration lockWait, Clock clock) {
    public Options {
      Objects.requireNonNull(gcGrace, "gcGrace");
      if (gcGrace.isNegative()) {
        throw new IllegalArgumentException("the garbage-collection grace must not be negative: " + gcGrace);
      }
      Objects.requireNonNull(lockWait, "lockWait");
      clock = clock == null ? Clock.systemUTC() : clock;
    }
  }

  /** A snapshot that was (or would be) forgotten. */
  public record Forgotten(SnapshotSummary snapshot, String scope) {}

  /**
   * What a prune did (or would do, in a dry run).
   *
   * @param location the repository
   * @param forgotten snapshots removed, oldest first
   * @param kept snapshots that stay, per container, with their reasons (only containers a scope covers)
   * @param blobsDeleted unreferenced blobs deleted
   * @param bytesFreed their stored size
   * @param youngKept unreferenced blobs kept because they are younger than the grace period
   * @param youngBytes their size
   * @param stagingRemoved stale staged files removed
   * @param gcNote why garbage was not collected (a registry), or null
   */
  public record Report(String location, boolean dryRun, List<Forgotten> forgotten,
      Map<String, List<RetentionPlan.Decision>> kept, int blobsDeleted, long bytesFreed, int youngKept, long youngBytes,
      int stagingRemoved, String gcNote) {}

  private final Options options;

  public Pruner(Options options) {
    this.options = Objects.requireNonNull(options, "options");
  }

  /**
   * Prunes {@code store}: forget per the scopes, then collect garbage.
   *
   * @throws StoreException LOCKED when a backup or run holds the repository; any store failure (then nothing more
   *     is deleted)
   * @throws JobException when a tagged snapshot cannot be read, so garbage collection would be unsafe
   */
  public Report prune(Store store, List<Scope> scopes) throws StoreException, JobException {
    try (StoreLock lock = store.lock(Store.LockMode.EXCLUSIVE, "prune", options.lockWait())) {
      LOG.debug("locked {} for prune ({})", store.location(), lock.holder());
      return pruneLocked(store, scopes);
    }
  }

  /** As {@link #prune}, for a caller that holds the EXCLUSIVE lock already. */
  public Report pruneLocked(Store store, List<Scope> scopes) throws StoreException, JobException {
    SnapshotRepository repo = new SnapshotRepository(store);
    SnapshotRepository.Listing listing = repo.listing();
    if (!listing.unreadable().isEmpty()) {
      // The blobs of a snapshot whose tag cannot be read look unreferenced: collecting garbage would delete them.
      throw new JobException("cannot prune " + store.location() + ": " + listing.unreadable().size()
          + " tag(s) cannot be read: " + listing.unreadable().stream().map(Object::toString)
              .collect(java.util.stream.Collectors.joining("; "))
          + "; nothing was forgotten or deleted; run `jmigrate verify`, then repair or delete those tags");
    }
    List<SnapshotSummary> all = listing.snapshots();
    Map<String, List<RetentionPlan.Decision>> kept = new LinkedHashMap<>();
    List<Forgotten> forget = plan(all, scopes, kept);
    for (Forgotten f : forget) {
      if (!options.dryRun()) {
        repo.forget(f.snapshot());
      }
      LOG.info("{} snapshot {} of {} ({}): no rule of {} keeps it", options.dryRun() ? "would forget" : "forgot",
          f.snapshot().shortId(), f.snapshot().container(), f.snapshot().created(), f.scope());
    }
    Set<String> forgottenTags = new HashSet<>();
    forget.forEach(f -> forgottenTags.add(f.snapshot().tag()));

    // Collect.
    List<BlobInfo> blobs;
    try {
      blobs = store.listBlobs();
    } catch (StoreException e) {
      if (e.kind() != StoreException.Kind.INVALID) {
        throw e;
      }
      String note = "snapshot tags only " + (options.dryRun() ? "would be" : "were") + " removed: " + e.getMessage()
          + " (e.g. `registry garbage-collect CONFIG.yml`, with storage.delete.enabled)";
      return new Report(store.location(), options.dryRun(), forget, kept, 0, 0, 0, 0, 0, note);
    }
    List<Tag> tags = new ArrayList<>();
    for (Tag t : store.listTags()) {
      if (!forgottenTags.contains(t.name())) {
        tags.add(t);
      }
    }
    Set<Digest> referenced = referenced(store, tags);
    Instant cutoff = options.clock().instant().minus(options.gcGrace());
    int deleted = 0;
    long freed = 0;
    int young = 0;
    long youngBytes = 0;
    for (BlobInfo b : blobs) {
      if (referenced.contains(b.digest())) {
        continue;
      }
      if (b.modified() == null || b.modified().isAfter(cutoff)) {
        young++;
        youngBytes += b.size();
        LOG.debug("kept unreferenced blob {} ({} bytes): written within the grace period", b.digest(), b.size());
        continue;
      }
      if (!options.dryRun()) {
        store.deleteBlob(b.digest());
      }
      deleted++;
      freed += b.size();
      LOG.debug("{} unreferenced blob {} ({} bytes)", options.dryRun() ? "would delete" : "deleted", b.digest(),
          b.size());
    }
    int staging = options.dryRun() ? 0 : store.cleanStaging(options.gcGrace());
    return new Report(store.location(), options.dryRun(), forget, kept, deleted, freed, young, youngBytes, staging,
        null);
  }

  /** The snapshots to forget: removed by some scope covering their container and kept by none. */
  static List<Forgotten> plan(List<SnapshotSummary> all, List<Scope> scopes,
      Map<String, List<RetentionPlan.Decision>> keptOut) {
    Map<String, SnapshotSummary> byId = new HashMap<>();
    for (SnapshotSummary s : all) {
      byId.put(s.id().toString() + " " + s.tag(), s);
    }
    Map<String, String> removedBy = new LinkedHashMap<>();
    Set<String> keptByAny = new HashSet<>();
    Map<String, List<RetentionPlan.Decision>> kept = new LinkedHashMap<>();
    for (Scope scope : scopes) {
      List<RetentionSnapshot> covered = new ArrayList<>();
      for (SnapshotSummary s : all) {
        if (scope.containers().test(s.container())) {
          // The tag makes the id unique even when two tags name the same index.
          covered.add(new RetentionSnapshot(s.id().toString() + " " + s.tag(), s.container(), s.hostname(),
              s.created()));
        }
      }
      RetentionPlan plan = Retention.plan(covered, scope.policy(), scope.zone());
      for (RetentionPlan.Decision d : plan.decisions()) {
        if (d.keep()) {
          keptByAny.add(d.snapshot().id());
          kept.computeIfAbsent(d.snapshot().container(), k -> new ArrayList<>()).add(d);
        } else {
          removedBy.putIfAbsent(d.snapshot().id(), scope.name());
        }
      }
    }
    List<Forgotten> out = new ArrayList<>();
    removedBy.forEach((id, scope) -> {
      if (!keptByAny.contains(id)) {
        out.add(new Forgotten(byId.get(id), scope));
      }
    });
    out.sort(Comparator.comparing((Forgotten f) -> f.snapshot().created()).thenComparing(f -> f.snapshot().tag()));
    keptOut.putAll(kept);
    return out;
  }

  /**
   * Every digest reachable from {@code tags}: the tagged indexes and manifests, and every config, layer and
   * manifest they name (OCI image-spec: {@code config}, {@code layers[]}, {@code manifests[]}, {@code subject}).
   *
   * @throws JobException when a manifest cannot be read: collecting garbage without knowing what it references
   *     could delete data, so nothing is deleted
   */
  static Set<Digest> referenced(Store store, Collection<Tag> tags) throws StoreException, JobException {
    Set<Digest> seen = new HashSet<>();
    Deque<Digest> manifests = new ArrayDeque<>();
    Map<Digest, String> via = new HashMap<>();
    for (Tag t : tags) {
      Digest d = t.target().digest();
      if (seen.add(d)) {
        manifests.push(d);
        via.put(d, t.name());
      }
    }
    while (!manifests.isEmpty()) {
      Digest d = manifests.pop();
      JsonNode m;
      try {
        m = Json.tree(store.getManifest(d), "manifest " + d);
      } catch (StoreException | IOException e) {
        throw new JobException("cannot read manifest " + d + " of tag " + via.get(d) + " in " + store.location()
            + ": " + JobRunner.message(e) + "; garbage collection skipped, nothing was deleted; run `jmigrate verify`",
            e);
      }
      List<JsonNode> refs = new ArrayList<>();
      refs.add(m.path("config"));
      m.path("layers").forEach(refs::add);
      m.path("blobs").forEach(refs::add);
      m.path("manifests").forEach(refs::add);
      refs.add(m.path("subject"));
      for (JsonNode r : refs) {
        if (!r.isObject() || !r.hasNonNull("digest")) {
          continue;
        }
        Digest child;
        try {
          child = Digest.parse(r.path("digest").asText());
        } catch (IllegalArgumentException e) {
          throw new JobException("manifest " + d + " in " + store.location() + " names a malformed digest "
              + r.path("digest").asText() + "; garbage collection skipped, nothing was deleted", e);
        }
        if (seen.add(child) && isManifest(r.path("mediaType").asText(""))) {
          manifests.push(child);
          via.put(child, via.get(d));
        }
      }
    }
    return seen;
  }

  private static boolean isManifest(String mediaType) {
    return mediaType.endsWith(".manifest.v1+json") || mediaType.endsWith(".index.v1+json")
        || mediaType.endsWith("manifest.v2+json") || mediaType.endsWith("manifest.list.v2+json");
  }

  /**
   * The scope of a job in a repository: its retention and zone, over the containers it selects. Selection by
   * name needs nothing more; a label or project selection is checked against the labels recorded in each
   * container's latest snapshot (so a container that no longer exists is still covered). Containers excluded by
   * the job or by a {@code jmigrate.exclude=true} label are not covered.
   */
  public static Scope forJob(Job job, SnapshotRepository repo) {
    Map<String, Boolean> cache = new HashMap<>();
    Predicate<String> covers = name -> cache.computeIfAbsent(name, n -> {
      try {
        Map<String, String> labels = Map.of();
        if (!(job.selection() instanceof Selection.Names)) {
          labels = latestLabels(repo, n);
        }
        if (!job.selection().matches(n, labels) || labels.containsKey(JobRunner.DRILL_LABEL)) {
          return false;
        }
        return !EffectiveSettings.resolve(job, n, labels).excluded();
      } catch (ConfigException | StoreException | SnapshotException e) {
        LOG.warn("prune: cannot tell whether job {} covers container {} ({}); its snapshots are kept", job.name(), n,
            JobRunner.message(e));
        return false;
      }
    });
    return new Scope("job " + job.name() + " (" + job.retention() + ")", job.retention(), job.timezone(), covers);
  }

  private static Map<String, String> latestLabels(SnapshotRepository repo, String container)
      throws StoreException, SnapshotException {
    var latest = repo.latest(container);
    if (latest.isEmpty()) {
      return Map.of();
    }
    Snapshot s = repo.load(latest.get());
    Map<String, String> labels = new HashMap<>();
    s.document().container().inspect().path("Config").path("Labels").properties()
        .forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
    return labels;
  }
}
