package io.jmigrate.archive;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import jnr.constants.platform.Errno;
import jnr.constants.platform.OpenFlags;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;
import jnr.posix.FileStat;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import jnr.posix.util.DefaultPOSIXHandler;

/**
 * The POSIX calls volume archives need, with errors turned into {@link IOException}s that name the call, the
 * path and the errno text. jnr-posix covers stat, chown, chmod, fifos and utimensat; the xattr calls and mknod,
 * which it lacks, are bound from libc with jnr-ffi (glibc 2.33+ exports mknod directly).
 *
 * <p>Paths cross into native code in the JVM's file-name encoding, which {@link #checkUtf8FileNames} requires
 * to be UTF-8 so that unicode names survive.
 */
final class Posix {
  static final int S_IFMT = 0170000;
  static final int S_IFSOCK = 0140000;
  static final int S_IFLNK = 0120000;
  static final int S_IFREG = 0100000;
  static final int S_IFBLK = 0060000;
  static final int S_IFDIR = 0040000;
  static final int S_IFCHR = 0020000;
  static final int S_IFIFO = 0010000;

  private static final int AT_FDCWD = -100;
  private static final int AT_SYMLINK_NOFOLLOW = 0x100;
  private static final int ENODATA = 61;
  private static final int ERANGE = 34;
  private static final int ENOTSUP = 95;

  /** libc functions jnr-posix does not offer. */
  public interface LibC {
    @SaveError
    long llistxattr(String path, @Out byte[] list, long size);

    @SaveError
    long lgetxattr(String path, String name, @Out byte[] value, long size);

    @SaveError
    int lsetxattr(String path, String name, @In byte[] value, long size, int flags);

    @SaveError
    int mknod(String path, int mode, long dev);
  }

  private static final POSIX POSIX = POSIXFactory.getPOSIX(new DefaultPOSIXHandler(), true);
  private static final LibC LIBC = LibraryLoader.create(LibC.class).load("c");
  private static final Runtime RUNTIME = Runtime.getRuntime(LIBC);

  private Posix() {}

  /** Fails when the JVM cannot represent non-ASCII file names (it then mangles them to '?'). */
  static void checkUtf8FileNames() throws IOException {
    String enc = System.getProperty("sun.jnu.encoding", "");
    if (!enc.equalsIgnoreCase("UTF-8") && !enc.equalsIgnoreCase("UTF8")) {
      throw new IOException("file names would be mangled: the JVM's file-name encoding is " + enc
          + ", not UTF-8; run jmigrate with a UTF-8 locale (e.g. LANG=C.UTF-8)");
    }
  }

  static final int EPERM = 1;
  static final int EACCES = 13;
  static final int EINVAL = 22;
  static final int E2BIG = 7;

  /** A failed call, with its errno, so that callers can tell "the filesystem cannot" from real failures. */
  static final class ErrnoException extends IOException {
    private static final long serialVersionUID = 1L;
    final int errno;
    /** The errno's text alone, e.g. "Operation not supported". */
    final String reason;

    ErrnoException(String message, int errno, String reason) {
      super(message);
      this.errno = errno;
      this.reason = reason;
    }

    /** The filesystem does not support the call (EOPNOTSUPP), or refuses it even to root (EPERM, EACCES). */
    boolean unsupportedOrRefused() {
      return errno == ENOTSUP || errno == EPERM || errno == EACCES;
    }
  }

  private static ErrnoException error(String call, String path, int errno) {
    String text;
    try {
      text = Errno.valueOf(errno).description();
    } catch (RuntimeException e) {
      text = "errno " + errno;
    }
    return new ErrnoException(call + " " + path + ": " + text, errno, text);
  }

  /** lstat; the result carries nanosecond times (LinuxFileStat64 is a NanosecondFileStat). */
  static FileStat lstat(String path) throws IOException {
    FileStat st = POSIX.allocateStat();
    if (POSIX.lstat(path, st) < 0) {
      throw error("lstat", path, POSIX.errno());
    }
    return st;
  }

  /** lstat, or null when nothing is there. */
  static FileStat lstatOrNull(String path) throws IOException {
    FileStat st = POSIX.allocateStat();
    if (POSIX.lstat(path, st) < 0) {
      int errno = POSIX.errno();
      if (errno == Errno.ENOENT.intValue()) {
        return null;
      }
      throw error("lstat", path, errno);
    }
    return st;
  }

  static void lchown(String path, int uid, int gid) throws IOException {
    if (POSIX.lchown(path, uid, gid) < 0) {
      throw error("lchown " + uid + ":" + gid, path, POSIX.errno());
    }
  }

  static void chmod(String path, int mode) throws IOException {
    if (POSIX.chmod(path, mode) < 0) {
      throw error("chmod " + Integer.toOctalString(mode), path, POSIX.errno());
    }
  }

  static void mkfifo(String path, int mode) throws IOException {
    if (POSIX.mkfifo(path, mode) < 0) {
      throw error("mkfifo", path, POSIX.errno());
    }
  }

  /** Creates a symlink whose target is {@code target} byte for byte (no path normalization). */
  static void symlink(String target, String path) throws IOException {
    if (POSIX.symlink(target, path) < 0) {
      throw error("symlink -> " + target, path, POSIX.errno());
    }
  }

  /** A symlink's target, verbatim. */
  static String readlink(String path) throws IOException {
    String t = POSIX.readlink(path);
    if (t == null) {
      throw error("readlink", path, POSIX.errno());
    }
    return t;
  }

  static void mkdir(String path, int mode) throws IOException {
    if (POSIX.mkdir(path, mode) < 0) {
      throw error("mkdir", path, POSIX.errno());
    }
  }

  /** mknod for character and block devices; {@code type} is S_IFCHR or S_IFBLK. */
  static void mknod(String path, int type, int mode, long major, long minor) throws IOException {
    if (LIBC.mknod(path, type | (mode & 07777), makedev(major, minor)) < 0) {
      throw error("mknod " + major + ":" + minor, path, LastError.getLastError(RUNTIME));
    }
  }

  /** Sets mtime with nanoseconds on the path itself (never a symlink's target); atime is left alone. */
  static void setMtime(String path, long seconds, long nanos) throws IOException {
    long utimeOmit = (1L << 30) - 2;
    if (POSIX.utimensat(AT_FDCWD, path, new long[] {0, utimeOmit}, new long[] {seconds, nanos},
        AT_SYMLINK_NOFOLLOW) < 0) {
      throw error("utimensat", path, POSIX.errno());
    }
  }

  /** lseek whence values of Linux (unistd.h): the next data at or after an offset, the next hole. */
  private static final int SEEK_DATA = 3;
  private static final int SEEK_HOLE = 4;

  /** Opens {@code path} read-only, never through a symlink; returns the descriptor, to be {@link #close}d. */
  static int openForReading(String path) throws IOException {
    int flags = OpenFlags.O_RDONLY.intValue() | OpenFlags.O_NOFOLLOW.intValue()
        | (OpenFlags.O_CLOEXEC.defined() ? OpenFlags.O_CLOEXEC.intValue() : 0);
    int fd = POSIX.open(path, flags, 0);
    if (fd < 0) {
      throw error("open", path, POSIX.errno());
    }
    return fd;
  }

  static void close(int fd) {
    POSIX.close(fd);
  }

  /**
   * lseek(SEEK_DATA): the offset of the first data at or after {@code from}, or -1 when only a hole follows
   * (ENXIO). A filesystem without hole support reports the whole file as data (Linux generic_file_llseek).
   */
  static long seekData(int fd, long from, String path) throws IOException {
    long r = POSIX.lseekLong(fd, from, SEEK_DATA);
    if (r < 0) {
      int errno = POSIX.errno();
      if (errno == Errno.ENXIO.intValue()) {
        return -1;
      }
      throw error("lseek SEEK_DATA " + from, path, errno);
    }
    return r;
  }

  /** lseek(SEEK_HOLE): the offset of the first hole at or after {@code from} (the end of the file counts as one). */
  static long seekHole(int fd, long from, String path) throws IOException {
    long r = POSIX.lseekLong(fd, from, SEEK_HOLE);
    if (r < 0) {
      throw error("lseek SEEK_HOLE " + from, path, POSIX.errno());
    }
    return r;
  }

  /** Sets a file's size; growing it adds a hole, which allocates nothing. */
  static void truncate(String path, long size) throws IOException {
    if (POSIX.truncate(path, size) < 0) {
      throw error("truncate " + size, path, POSIX.errno());
    }
  }

  /** glibc's gnu_dev_major / gnu_dev_minor. */
  static long major(long dev) {
    return ((dev >>> 8) & 0xfffL) | ((dev >>> 32) & ~0xfffL);
  }

  static long minor(long dev) {
    return (dev & 0xffL) | ((dev >>> 12) & ~0xffL);
  }

  static long makedev(long major, long minor) {
    return ((major & 0xfffL) << 8) | ((major & ~0xfffL) << 32) | (minor & 0xffL) | ((minor & ~0xffL) << 12);
  }

  /** The extended attribute names of the path itself (not a symlink's target), in the kernel's order. */
  static List<String> listXattrs(String path) throws IOException {
    for (int attempt = 0; attempt < 8; attempt++) {
      long size = LIBC.llistxattr(path, null, 0);
      if (size < 0) {
        int errno = LastError.getLastError(RUNTIME);
        if (errno == ENOTSUP) {
          return List.of();
        }
        throw error("llistxattr", path, errno);
      }
      if (size == 0) {
        return List.of();
      }
      byte[] buf = new byte[(int) size];
      long n = LIBC.llistxattr(path, buf, size);
      if (n < 0) {
        int errno = LastError.getLastError(RUNTIME);
        if (errno == ERANGE) {
          continue; // grew between the calls
        }
        throw error("llistxattr", path, errno);
      }
      List<String> names = new ArrayList<>();
      int start = 0;
      for (int i = 0; i < n; i++) {
        if (buf[i] == 0) {
          if (i > start) {
            names.add(new String(buf, start, i - start, StandardCharsets.UTF_8));
          }
          start = i + 1;
        }
      }
      return names;
    }
    throw new IOException("llistxattr " + path + ": the attribute list keeps changing");
  }

  /** One attribute's value, or null when it vanished meanwhile. */
  static byte[] getXattr(String path, String name) throws IOException {
    for (int attempt = 0; attempt < 8; attempt++) {
      long size = LIBC.lgetxattr(path, name, null, 0);
      if (size < 0) {
        int errno = LastError.getLastError(RUNTIME);
        if (errno == ENODATA) {
          return null;
        }
        throw error("lgetxattr " + name, path, errno);
      }
      byte[] buf = new byte[(int) size];
      long n = size == 0 ? 0 : LIBC.lgetxattr(path, name, buf, size);
      if (n < 0) {
        int errno = LastError.getLastError(RUNTIME);
        if (errno == ERANGE) {
          continue;
        }
        if (errno == ENODATA) {
          return null;
        }
        throw error("lgetxattr " + name, path, errno);
      }
      return n == size ? buf : java.util.Arrays.copyOf(buf, (int) n);
    }
    throw new IOException("lgetxattr " + name + " " + path + ": the value keeps changing");
  }

  static void setXattr(String path, String name, byte[] value) throws IOException {
    if (LIBC.lsetxattr(path, name, value, value.length, 0) < 0) {
      throw error("lsetxattr " + name, path, LastError.getLastError(RUNTIME));
    }
  }
}
