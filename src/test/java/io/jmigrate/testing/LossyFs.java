package io.jmigrate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real filesystem that silently drops metadata, for tests run as root: an ext4 image with 128-byte inodes (it
 * keeps whole-second mtimes only) mounted on a loop device, seen through bindfs with {@code --chown-ignore
 * --chgrp-ignore --chmod-ignore --xattr-none}, so that chown and chmod succeed without effect (as on NFS with
 * root_squash or vfat) and xattrs and ACLs are refused (EOPNOTSUPP). {@link #attach} bind-mounts it over a
 * directory, e.g. a stopped daemon's {@code <data-root>/volumes}. Needs the Debian packages e2fsprogs and bindfs
 * (bin/test installs bindfs).
 */
public final class LossyFs implements AutoCloseable {
  private final Path dir;
  private final List<Path> bound = new ArrayList<>();
  private boolean closed;

  private LossyFs(Path dir) {
    this.dir = dir;
  }

  /** Creates and mounts it under a fresh directory in /tmp. */
  public static LossyFs create() {
    if (DockerDaemon.findExecutable("bindfs") == null) {
      throw new IllegalStateException("bindfs is not installed: apt-get install -y bindfs (bin/test installs it)");
    }
    Path dir;
    try {
      dir = Files.createTempDirectory(Path.of("/tmp"), "jm-lossy-");
      Files.createDirectories(dir.resolve("lower"));
      Files.createDirectories(dir.resolve("mnt"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    LossyFs fs = new LossyFs(dir);
    try {
      run("truncate", "-s", "256M", dir.resolve("img").toString());
      run("mkfs.ext4", "-q", "-F", "-I", "128", dir.resolve("img").toString());
      run("mount", "-o", "loop", dir.resolve("img").toString(), dir.resolve("lower").toString());
      run("bindfs", "-o", "allow_other", "--chown-ignore", "--chgrp-ignore", "--chmod-ignore", "--xattr-none",
          dir.resolve("lower").toString(), dir.resolve("mnt").toString());
    } catch (RuntimeException e) {
      fs.close();
      throw e;
    }
    return fs;
  }

  /** Bind-mounts the lossy filesystem over {@code target} (an existing directory). */
  public void attach(Path target) {
    run("mount", "--bind", dir.resolve("mnt").toString(), target.toString());
    bound.add(target);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Path b : bound) {
      quiet("umount", "-l", b.toString());
    }
    quiet("umount", dir.resolve("mnt").toString());
    // bindfs exits after its unmount; a lazy unmount lets the loop device go once it has.
    quiet("umount", "-l", dir.resolve("lower").toString());
    DockerDaemon.deleteTree(dir);
  }

  private static void run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out.strip());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void quiet(String... cmd) {
    try {
      run(cmd);
    } catch (RuntimeException e) {
      // Best effort at cleanup; what is left shows in the mount table.
    }
  }
}
