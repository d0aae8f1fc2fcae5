package io.jmigrate.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Test images, made without pulling anything: a busybox-static rootfs tar built once per test run and imported
 * with {@code docker import} as {@link #BASE}; derived images get an extra layer through {@code docker commit}.
 *
 * <p>The rootfs tar is byte-for-byte deterministic (fixed mtimes, root ownership, sorted applets), so the base
 * layer has the same diffID, and so the same chain id, on every daemon and in every run: thin loads onto a host
 * that already holds the base can be tested.
 */
public final class TestImages {
  /** The base test image: busybox with every applet linked in /bin, /etc/passwd with root and user (uid 1000). */
  public static final String BASE = "jmigrate-test/busybox:1";

  private static final Instant MTIME = Instant.parse("2020-01-01T00:00:00Z");
  private static final String PASSWD =
      "root:x:0:0:root:/root:/bin/sh\n"
          + "user:x:1000:1000:user:/home/user:/bin/sh\n"
          + "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
  private static final String GROUP = "root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n";

  private static Path rootfsTar;

  private TestImages() {}

  /** The busybox rootfs tar, built once per JVM (deleted at exit). */
  public static synchronized Path rootfsTar() {
    if (rootfsTar != null && Files.isRegularFile(rootfsTar)) {
      return rootfsTar;
    }
    Path busybox = Path.of("/bin/busybox");
    if (!Files.isRegularFile(busybox) || !isStatic(busybox)) {
      throw new IllegalStateException(
          "/bin/busybox is missing or not statically linked: install busybox-static "
              + "(apt-get install -y busybox-static), or run bin/test which installs it");
    }
    try {
      Path dir = Files.createTempDirectory(Path.of("/tmp"), "jm-img-");
      Path tar = dir.resolve("busybox-rootfs.tar");
      writeRootfs(busybox, applets(busybox), tar);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> DockerDaemon.deleteTree(dir)));
      rootfsTar = tar;
      return tar;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot build the busybox rootfs tar", e);
    }
  }

  /** Imports {@link #BASE} on {@code daemon} unless it is there already; returns its image id. */
  public static String base(DockerDaemon daemon) {
    synchronized (daemon) {
      DockerDaemon.Result r = daemon.run(null, "image", "inspect", "--format", "{{.Id}}", BASE);
      if (r.exitCode == 0) {
        return r.stdout.strip();
      }
      daemon.docker("import", "--change", "CMD [\"/bin/sh\"]", rootfsTar().toString(), BASE);
      return daemon.docker("image", "inspect", "--format", "{{.Id}}", BASE).strip();
    }
  }

  /**
   * An image {@code name} (repo:tag) with one layer more than {@link #BASE}: a container runs {@code script} with
   * {@code sh -c} and is committed. Returns the image id; when {@code name} exists already, its id.
   */
  public static String derived(DockerDaemon daemon, String name, String script) {
    base(daemon);
    synchronized (daemon) {
      DockerDaemon.Result r = daemon.run(null, "image", "inspect", "--format", "{{.Id}}", name);
      if (r.exitCode == 0) {
        return r.stdout.strip();
      }
      String container = "jm-derive-" + UUID.randomUUID().toString().substring(0, 8);
      try {
        daemon.docker("run", "--name", container, "--network", "none", BASE, "sh", "-c", script);
        return daemon.docker("commit", container, name).strip();
      } finally {
        daemon.run(null, "rm", "-f", container);
      }
    }
  }

  private static List<String> applets(Path busybox) throws IOException {
    Process p = new ProcessBuilder(busybox.toString(), "--list").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("busybox --list failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    List<String> names = new ArrayList<>();
    for (String line : out.split("\n")) {
      String n = line.strip();
      if (!n.isEmpty() && !n.equals("busybox") && !n.contains("/")) {
        names.add(n);
      }
    }
    names.sort(null);
    if (!names.contains("sh") || !names.contains("gzip") || !names.contains("tar")) {
      throw new IllegalStateException("busybox lacks sh, tar or gzip applets: " + names);
    }
    return names;
  }

  private static void writeRootfs(Path busybox, List<String> applets, Path tar) throws IOException {
    try (OutputStream fo = Files.newOutputStream(tar);
        TarArchiveOutputStream out = new TarArchiveOutputStream(fo)) {
      out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      dir(out, "bin/", 0755, 0);
      TarArchiveEntry bb = entry("bin/busybox", TarArchiveEntry.LF_NORMAL, 0755, 0);
      bb.setSize(Files.size(busybox));
      out.putArchiveEntry(bb);
      Files.copy(busybox, out);
      out.closeArchiveEntry();
      for (String a : applets) {
        TarArchiveEntry link = entry("bin/" + a, TarArchiveEntry.LF_SYMLINK, 0777, 0);
        link.setLinkName("busybox");
        out.putArchiveEntry(link);
        out.closeArchiveEntry();
      }
      dir(out, "dev/", 0755, 0);
      dir(out, "etc/", 0755, 0);
      file(out, "etc/group", GROUP, 0644);
      file(out, "etc/passwd", PASSWD, 0644);
      dir(out, "home/", 0755, 0);
      dir(out, "home/user/", 0755, 1000);
      dir(out, "proc/", 0755, 0);
      dir(out, "root/", 0700, 0);
      dir(out, "sys/", 0755, 0);
      dir(out, "tmp/", 01777, 0);
      dir(out, "usr/", 0755, 0);
      dir(out, "var/", 0755, 0);
      out.finish();
    }
  }

  private static TarArchiveEntry entry(String name, byte type, int mode, int owner) {
    TarArchiveEntry e = new TarArchiveEntry(name, type);
    e.setMode((type == TarArchiveEntry.LF_DIR ? 040000 : type == TarArchiveEntry.LF_SYMLINK ? 0120000 : 0100000) | mode);
    e.setUserId(owner);
    e.setGroupId(owner);
    e.setUserName("");
    e.setGroupName("");
    e.setModTime(Date.from(MTIME));
    return e;
  }

  private static void dir(TarArchiveOutputStream out, String name, int mode, int owner) throws IOException {
    out.putArchiveEntry(entry(name, TarArchiveEntry.LF_DIR, mode, owner));
    out.closeArchiveEntry();
  }

  private static void file(TarArchiveOutputStream out, String name, String content, int mode) throws IOException {
    byte[] b = content.getBytes(StandardCharsets.UTF_8);
    TarArchiveEntry e = entry(name, TarArchiveEntry.LF_NORMAL, mode, 0);
    e.setSize(b.length);
    out.putArchiveEntry(e);
    out.write(b);
    out.closeArchiveEntry();
  }

  /** True when the ELF file has no PT_INTERP program header, i.e. it needs no dynamic loader. */
  static boolean isStatic(Path elf) {
    try (RandomAccessFile f = new RandomAccessFile(elf.toFile(), "r")) {
      byte[] ident = new byte[64];
      f.readFully(ident);
      if (ident[0] != 0x7f || ident[1] != 'E' || ident[2] != 'L' || ident[3] != 'F' || ident[4] != 2) {
        return false; // not a 64-bit ELF
      }
      ByteBuffer h = ByteBuffer.wrap(ident).order(ident[5] == 1 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
      long phoff = h.getLong(0x20);
      int phentsize = Short.toUnsignedInt(h.getShort(0x36));
      int phnum = Short.toUnsignedInt(h.getShort(0x38));
      byte[] ph = new byte[phentsize];
      for (int i = 0; i < phnum; i++) {
        f.seek(phoff + (long) i * phentsize);
        f.readFully(ph);
        int type = ByteBuffer.wrap(ph).order(h.order()).getInt(0);
        if (type == 3) { // PT_INTERP
          return false;
        }
      }
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
