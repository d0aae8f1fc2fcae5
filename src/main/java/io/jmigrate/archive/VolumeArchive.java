package io.jmigrate.archive;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Set;

/**
 * Volume contents as tar streams.
 *
 * <p>{@link #write} reads a directory directly (jmigrate as root on the engine's host) and produces a
 * deterministic PAX tar: entries sorted by name, numeric uid/gid without names, nanosecond mtimes, xattrs
 * (including POSIX ACLs and security.*), hard links, symlinks, device nodes and fifos; no atime or ctime. The same
 * tree always gives the same bytes, hence the same digest, so an unchanged volume is never stored twice.
 *
 * <p>{@link #extract} is its inverse, into an empty directory, restoring owners, modes, mtimes and xattrs.
 *
 * <p>{@link #rebase} turns what the engine's archive API returns (top entry named after the mount's last path
 * element, nested mounts included) into the same volume-relative form.
 */
public final class VolumeArchive {
  // TODO(archive): implemented by the archive work.
  private VolumeArchive() {}

  /**
   * Writes the tree under {@code dir} to {@code out}, skipping the relative paths in {@code exclude} (nested
   * mount points) and sockets (logged). Does not close {@code out}. Returns the number of entries and bytes.
   */
  public static Stats write(Path dir, Set<String> exclude, OutputStream out) throws IOException {
    throw new UnsupportedOperationException("VolumeArchive.write");
  }

  /**
   * Extracts into {@code dir}, which should be empty. Refuses entries that would land outside {@code dir}
   * (absolute paths, "..", links through symlinks). Does not close {@code in}.
   */
  public static Stats extract(InputStream in, Path dir) throws IOException {
    throw new UnsupportedOperationException("VolumeArchive.extract");
  }

  /**
   * Rewrites an archive-API tar whose entries start with {@code topName}/ to volume-relative entries, dropping
   * the relative subtrees in {@code exclude}. Does not close either stream.
   */
  public static Stats rebase(InputStream apiTar, String topName, Set<String> exclude, OutputStream out)
      throws IOException {
    throw new UnsupportedOperationException("VolumeArchive.rebase");
  }

  /** Counts of what went through. */
  public static final class Stats {
    private final long entries;
    private final long bytes;

    private Stats(long entries, long bytes) {
      this.entries = entries;
      this.bytes = bytes;
    }

    public static Stats of(long entries, long bytes) {
      return new Stats(entries, bytes);
    }

    public long entries() {
      return entries;
    }

    /** File content bytes (not tar bytes). */
    public long bytes() {
      return bytes;
    }
  }
}
