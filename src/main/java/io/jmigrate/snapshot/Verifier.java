package io.jmigrate.snapshot;

import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Re-reads every object of snapshots and checks each digest: manifests, the document, the image config, and each
 * layer and volume both as stored and uncompressed. A blob shared by several snapshots is read once.
 */
public final class Verifier {
  private final SnapshotRepository repo;
  private final Set<Digest> good = new HashSet<>();

  public Verifier(SnapshotRepository repo) {
    this.repo = repo;
  }

  /** The outcome for one snapshot: the problems found (empty when sound), objects and bytes read. */
  public record Report(SnapshotSummary snapshot, List<String> problems, int objects, long bytes) {
    public boolean ok() {
      return problems.isEmpty();
    }
  }

  /** Verifies one snapshot; problems are collected, not thrown, so that one bad blob does not hide another. */
  public Report verify(SnapshotSummary s) throws StoreException {
    List<String> problems = new ArrayList<>();
    Snapshot snap;
    try {
      snap = repo.load(s);
    } catch (SnapshotException e) {
      problems.add(e.getMessage());
      return new Report(s, problems, 0, 0);
    } catch (StoreException e) {
      // A missing or damaged index, manifest or document makes the snapshot unreadable: corrupt, and the other
      // snapshots are still verified. A repository that cannot be reached is not a verdict on the snapshot.
      if (e.kind() != StoreException.Kind.NOT_FOUND && e.kind() != StoreException.Kind.CORRUPT
          && e.kind() != StoreException.Kind.INVALID) {
        throw e;
      }
      problems.add("cannot read snapshot " + s.shortId() + ": " + e.getMessage());
      return new Report(s, problems, 0, 0);
    }
    Store store = repo.store();
    String id = s.shortId();
    int objects = 0;
    long bytes = 0;
    for (Snapshot.Part p : snap.parts()) {
      Descriptor d = p.descriptor();
      objects++;
      if (good.contains(d.digest())) {
        continue;
      }
      String what = p.role() + " of snapshot " + id;
      try {
        if (p.manifest()) {
          store.getManifest(d.digest());
        } else if (p.isContent()) {
          try (InputStream in = Contents.open(store, d, p.diffId(), p.uncompressedSize(), what)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
          }
        } else {
          try (InputStream in = store.openBlob(d.digest(), d.size(), what)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
          }
        }
        good.add(d.digest());
        bytes += d.size();
      } catch (IOException | StoreException e) {
        String m = String.valueOf(e.getMessage());
        problems.add(m.contains(what) ? m : what + ": " + m);
      }
    }
    return new Report(s, problems, objects, bytes);
  }
}
