package io.jmigrate.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.MediaTypes;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The repository lock of a registry, made of tags, since a registry has no other small mutable objects: each
 * holder tags a tiny artifact manifest {@code _jmigrate-lock-<mode>-<uuid>} whose config blob is the holder JSON
 * (command, host, pid, since, last refresh). Taking the lock:
 * <ol>
 *   <li>list the lock tags; if a live conflicting holder exists, wait and look again;
 *   <li>write our tag, then list again: a conflicting holder that appeared meanwhile makes us remove ours and
 *       wait (with jitter, so that two contenders do not keep colliding).
 * </ol>
 * SHARED conflicts with EXCLUSIVE; EXCLUSIVE with any. A holder refreshes its tag every few minutes; one not
 * refreshed for {@link RegistryStore.Settings#lockStaleAfter} (30 minutes) is stale: ignored and removed.
 * Releasing deletes the manifest (and so the tag); where the registry forbids deletes, the tag is re-pointed at a
 * "released" holder instead. Lock tags are hidden from {@link Store#listTags()}.
 */
final class RegistryLock implements StoreLock {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryLock.class);
  static final String ARTIFACT_TYPE = "application/vnd.jmigrate.lock.v1";
  static final String HOLDER_TYPE = "application/vnd.jmigrate.lock.v1+json";
  private static final byte[] EMPTY = "{}".getBytes(StandardCharsets.UTF_8);

  /** A lock holder as written in its config blob. */
  static final class Holder {
    final String id;
    final Store.LockMode mode;
    final String purpose;
    final String host;
    final long pid;
    final Instant since;
    final Instant refreshed;
    final boolean released;

    Holder(String id, Store.LockMode mode, String purpose, String host, long pid, Instant since, Instant refreshed,
        boolean released) {
      this.id = id;
      this.mode = mode;
      this.purpose = purpose;
      this.host = host;
      this.pid = pid;
      this.since = since;
      this.refreshed = refreshed;
      this.released = released;
    }

    Holder refreshedAt(Instant t) {
      return new Holder(id, mode, purpose, host, pid, since, t, false);
    }

    Holder releasedAt(Instant t) {
      return new Holder(id, mode, purpose, host, pid, since, t, true);
    }

    byte[] json() {
      ObjectNode n = RegistryStore.JSON.createObjectNode();
      n.put("id", id);
      n.put("mode", mode.name());
      n.put("purpose", purpose);
      n.put("host", host);
      n.put("pid", pid);
      n.put("since", since.toString());
      n.put("refreshed", refreshed.toString());
      n.put("released", released);
      try {
        return RegistryStore.JSON.writeValueAsBytes(n);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }

    static Holder parse(byte[] json) throws IOException {
      JsonNode n = RegistryStore.JSON.readTree(json);
      try {
        return new Holder(n.path("id").asText(), Store.LockMode.valueOf(n.path("mode").asText()),
            n.path("purpose").asText("?"), n.path("host").asText("?"), n.path("pid").asLong(-1),
            Instant.parse(n.path("since").asText()), Instant.parse(n.path("refreshed").asText()),
            n.path("released").asBoolean(false));
      } catch (IllegalArgumentException | DateTimeParseException e) {
        throw new IOException("not a jmigrate lock holder: " + e.getMessage(), e);
      }
    }

    String describe() {
      String command = purpose.startsWith("jmigrate") ? purpose : "jmigrate " + purpose;
      return command + " (" + mode.name().toLowerCase(Locale.ROOT) + "), pid " + pid + " on " + host + ", since "
          + since;
    }
  }

  private final RegistryStore store;
  private final String tag;
  private final ScheduledExecutorService refresher;
  private Holder holder;
  private Digest current;
  private boolean closed;

  private RegistryLock(RegistryStore store, String tag, Holder holder, Digest current) {
    this.store = store;
    this.tag = tag;
    this.holder = holder;
    this.current = current;
    this.refresher = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("jmigrate-lock-refresh"));
    long every = store.settings().lockRefreshEvery.toMillis();
    refresher.scheduleWithFixedDelay(this::refresh, every, every, TimeUnit.MILLISECONDS);
  }

  static StoreLock acquire(RegistryStore store, Store.LockMode mode, String purpose, Duration wait)
      throws StoreException {
    String id = UUID.randomUUID().toString();
    String tag = RegistryStore.LOCK_TAG_PREFIX + mode.name().toLowerCase(Locale.ROOT) + "-" + id;
    Instant since = Instant.now();
    Holder me = new Holder(id, mode, purpose, hostName(), ProcessHandle.current().pid(), since, since, false);
    Instant deadline = since.plus(wait == null ? Duration.ZERO : wait);
    RegistryStore.Settings s = store.settings();
    while (true) {
      List<Holder> conflicts = conflicts(store, mode, id);
      if (conflicts.isEmpty()) {
        Digest written = write(store, tag, me.refreshedAt(Instant.now()));
        conflicts = conflicts(store, mode, id);
        if (conflicts.isEmpty()) {
          LOG.debug("took the {} lock of {} as {}", mode, store.location(), tag);
          return new RegistryLock(store, tag, me, written);
        }
        remove(store, tag, written, me);
      }
      Instant now = Instant.now();
      if (!now.isBefore(deadline)) {
        throw new StoreException(StoreException.Kind.LOCKED, "repository " + store.location() + " is locked by "
            + conflicts.get(0).describe() + (conflicts.size() > 1 ? " and " + (conflicts.size() - 1) + " more" : "")
            + "; try again when it has finished (a lock not refreshed for "
            + s.lockStaleAfter.toMinutes() + " minutes is ignored)");
      }
      long poll = s.lockPollEvery.toMillis();
      long pause = Math.min(poll + ThreadLocalRandom.current().nextLong(poll + 1),
          Duration.between(now, deadline).toMillis() + 1);
      try {
        Thread.sleep(pause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException(StoreException.Kind.LOCKED, "interrupted while waiting for the lock of "
            + store.location());
      }
    }
  }

  /** The live holders that conflict with {@code mode}, other than {@code myId}; stale ones are removed. */
  static List<Holder> conflicts(RegistryStore store, Store.LockMode mode, String myId) throws StoreException {
    List<Holder> found = new ArrayList<>();
    for (String name : store.listTagNames()) {
      if (!name.startsWith(RegistryStore.LOCK_TAG_PREFIX) || name.endsWith(myId)) {
        continue;
      }
      boolean otherShared = name.startsWith(RegistryStore.LOCK_TAG_PREFIX + "shared-");
      if (mode == Store.LockMode.SHARED && otherShared) {
        continue;
      }
      Optional<RegistryStore.Manifest> m = store.manifestByReference(name);
      if (m.isEmpty()) {
        continue;
      }
      Holder h;
      try {
        h = readHolder(store, m.get());
      } catch (IOException e) {
        LOG.warn("ignoring lock tag {} in {}: {}", name, store.location(), e.getMessage());
        continue;
      }
      if (h.released) {
        continue;
      }
      if (h.refreshed.plus(store.settings().lockStaleAfter).isBefore(Instant.now())) {
        LOG.info("removing the stale lock of {} from {} (not refreshed since {})", h.describe(), store.location(),
            h.refreshed);
        try {
          remove(store, name, m.get().digest, h);
        } catch (StoreException e) {
          LOG.warn("could not remove stale lock tag {} from {}: {}", name, store.location(), e.getMessage());
        }
        continue;
      }
      if (mode == Store.LockMode.EXCLUSIVE || h.mode == Store.LockMode.EXCLUSIVE) {
        found.add(h);
      }
    }
    return found;
  }

  private static Holder readHolder(RegistryStore store, RegistryStore.Manifest m) throws IOException,
      StoreException {
    JsonNode config = m.json().path("config");
    if (!HOLDER_TYPE.equals(config.path("mediaType").asText()) || !Digest.isValid(config.path("digest").asText())) {
      throw new IOException("its manifest has no lock holder config");
    }
    try (InputStream in = store.openBlob(Digest.parse(config.path("digest").asText()),
        config.path("size").asLong(-1), "lock holder")) {
      return Holder.parse(in.readNBytes(1 << 16));
    }
  }

  /** Stores the holder blob and a manifest for it under {@code tag}; returns the manifest digest. */
  static Digest write(RegistryStore store, String tag, Holder h) throws StoreException {
    Descriptor empty = store.putBlob(MediaTypes.OCI_EMPTY, EMPTY);
    Descriptor config = store.putBlob(HOLDER_TYPE, h.json());
    ObjectNode manifest = RegistryStore.JSON.createObjectNode();
    manifest.put("schemaVersion", 2);
    manifest.put("mediaType", MediaTypes.OCI_MANIFEST);
    manifest.put("artifactType", ARTIFACT_TYPE);
    manifest.set("config", RegistryStore.JSON.valueToTree(config));
    manifest.putArray("layers").add(RegistryStore.JSON.valueToTree(empty));
    byte[] bytes;
    try {
      bytes = RegistryStore.JSON.writeValueAsBytes(manifest);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    Digest digest = Digest.of(bytes);
    store.putManifestAs(tag, MediaTypes.OCI_MANIFEST, bytes, digest, "write lock tag " + tag);
    return digest;
  }

  /** Deletes the lock manifest (and so its tag); where deletes are forbidden, marks the tag released. */
  private static void remove(RegistryStore store, String tag, Digest digest, Holder h) throws StoreException {
    if (!store.deleteManifestIfAllowed(digest, "remove lock tag " + tag)) {
      write(store, tag, h.releasedAt(Instant.now()));
    }
  }

  private synchronized void refresh() {
    if (closed) {
      return;
    }
    try {
      Holder next = holder.refreshedAt(Instant.now());
      Digest previous = current;
      current = write(store, tag, next);
      holder = next;
      if (!previous.equals(current)) {
        store.deleteManifestIfAllowed(previous, "remove an old revision of lock tag " + tag);
      }
    } catch (StoreException | RuntimeException e) {
      LOG.warn("could not refresh the lock of {}: {}; other processes will ignore it once it is {} minutes old",
          store.location(), e.getMessage(), store.settings().lockStaleAfter.toMinutes());
    }
  }

  @Override
  public String holder() {
    return holder.describe();
  }

  /** The lock's tag name, for tests. */
  String tag() {
    return tag;
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    refresher.shutdownNow();
    synchronized (this) {
      try {
        remove(store, tag, current, holder);
      } catch (StoreException e) {
        LOG.warn("could not release the lock of {} (tag {}): {}; it is ignored once {} minutes old",
            store.location(), tag, e.getMessage(), store.settings().lockStaleAfter.toMinutes());
      }
    }
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      String h = System.getenv("HOSTNAME");
      return h == null || h.isBlank() ? "unknown-host" : h;
    }
  }
}
