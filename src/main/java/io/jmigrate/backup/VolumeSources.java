package io.jmigrate.backup;

import io.jmigrate.archive.VolumeArchive;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.snapshot.Contents;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a mount's contents are read from. Reading the host directory directly (jmigrate as root on the engine's
 * host) is about 8 times faster than the engine's archive API and keeps nanosecond mtimes, xattrs and ACLs
 * (docs/engine-notes.md); the archive API works everywhere else: remote engines, other users.
 */
public final class VolumeSources {
  /** Which reader to use: AUTO picks direct when it can. */
  public enum Reader {
    AUTO,
    DIRECT,
    ARCHIVE
  }

  private VolumeSources() {}

  /** True when {@code reader} resolves to reading the host path of {@code mount} directly. */
  public static boolean direct(Engine engine, MountPlan.Mount mount, Reader reader) {
    if (reader == Reader.ARCHIVE) {
      return false;
    }
    boolean readable = engine.isLocal() && Files.isDirectory(Path.of(mount.source()))
        && Files.isReadable(Path.of(mount.source()));
    if (reader == Reader.DIRECT && !readable) {
      throw new IllegalStateException("cannot read " + mount.describe() + " directly at " + mount.source()
          + ": not a readable local directory; use the archive reader");
    }
    return readable;
  }

  /**
   * The tar content of a mount, relative to the mount's root, leaving out nested mounts. It can be written
   * several times (a hashing pass, then an upload pass). {@code container} is the container's id.
   */
  public static Contents.Source of(Engine engine, String container, MountPlan.Mount mount, Reader reader) {
    if (direct(engine, mount, reader)) {
      Path dir = Path.of(mount.source());
      return out -> VolumeArchive.write(dir, mount.nested(), out);
    }
    String top = Path.of(mount.destination()).getFileName() == null ? "/"
        : Path.of(mount.destination()).getFileName().toString();
    return out -> {
      try (InputStream in = engine.getArchive(container, mount.destination())) {
        VolumeArchive.rebase(in, top, mount.nested(), out);
      } catch (EngineException e) {
        throw new IOException(e.getMessage(), e);
      }
    };
  }
}
