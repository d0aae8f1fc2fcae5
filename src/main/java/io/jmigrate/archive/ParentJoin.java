package io.jmigrate.archive;

import java.io.IOException;

/**
 * The merge join of a backup's walk with its parent's metadata stream (docs/repository-format.md, "Change
 * detection"). Both come in tar order ({@link TarOrder}), so for each entry of the walk the parent's record of
 * the same path, if any, is found by moving forward through the parent stream only: one parent record is held
 * at a time, never a map of the parent.
 *
 * <p>{@link #unchanged} is the rule that lets a file reuse its parent's chunk refs without being read.
 */
public final class ParentJoin {
  private final TreeRecord.Source parents;
  private TreeRecord head;
  private boolean started;
  private String lastPath;

  /** Joins against {@code parents} (a {@link TreeStreamReader} of the parent snapshot's stream). */
  public ParentJoin(TreeRecord.Source parents) {
    this.parents = parents;
  }

  /** A join without a parent: every {@link #match} is null (a first backup, or {@code --force-read}). */
  public static ParentJoin none() {
    return new ParentJoin(() -> null);
  }

  /**
   * The parent's record for {@code path}, or null when the parent has none. Paths must come in strictly
   * increasing tar order (IllegalArgumentException otherwise); parent records before {@code path} are skipped
   * for good.
   */
  public TreeRecord match(String path) throws IOException {
    if (lastPath != null && TarOrder.compare(lastPath, path) >= 0) {
      throw new IllegalArgumentException("walk entry '" + path + "' comes after '" + lastPath
          + "': the walk must be in tar order, each path once");
    }
    lastPath = path;
    if (!started) {
      head = parents.next();
      started = true;
    }
    while (head != null && TarOrder.compare(head.path(), path) < 0) {
      head = parents.next();
    }
    return head != null && head.path().equals(path) ? head : null;
  }

  /**
   * True when {@code current}, a regular file as the walk found it, may reuse {@code parent}'s extents and chunk
   * refs without being read: both are regular files with full change-detection fields, and size, mtime, ctime,
   * inode and device are equal.
   *
   * <p>ctime is what makes this safe: a program can set mtime back ({@code touch -d}, {@code tar x},
   * {@code rsync -t}) but any write or metadata change sets ctime to the current time, and only changing the
   * clock sets it back (inode(7), "Last status change timestamp"). Size and mtime alone would miss a same-size
   * edit with its mtime restored; inode and device catch a file replaced by another (rename over it) with equal times. A record
   * without ctime or inode (0: the engine's archive API gives neither) is never unchanged, so such files are
   * always read. Owner, mode and xattrs are not compared: the new record takes them from the walk, and only the
   * data is reused.
   */
  public static boolean unchanged(TreeRecord parent, TreeRecord current) {
    if (parent == null || current == null) {
      return false;
    }
    if (parent.type() != TreeRecord.Type.FILE || current.type() != TreeRecord.Type.FILE) {
      return false;
    }
    if (!hasChangeDetection(parent) || !hasChangeDetection(current)) {
      return false;
    }
    if (parent.dataLength() > 0 && parent.chunkCount() == 0) {
      return false; // nothing to reuse (a record the writer would have refused)
    }
    return parent.size() == current.size()
        && parent.mtimeSeconds() == current.mtimeSeconds() && parent.mtimeNanos() == current.mtimeNanos()
        && parent.ctimeSeconds() == current.ctimeSeconds() && parent.ctimeNanos() == current.ctimeNanos()
        && parent.ino() == current.ino() && parent.dev() == current.dev();
  }

  /** ctime, inode and device all known: device 0:0 and inode 0 are never assigned, ctime 0 is 1970. */
  private static boolean hasChangeDetection(TreeRecord r) {
    return (r.ctimeSeconds() != 0 || r.ctimeNanos() != 0) && r.ino() != 0 && r.dev() != 0;
  }
}
