package io.jmigrate.archive;

import io.jmigrate.blob.NonClosingOutputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jnr.posix.FileStat;
import jnr.posix.NanosecondFileStat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 *
 * <h2>The archive form (see docs/archive.md)</h2>
 * <ul>
 *   <li>Names are relative to the volume root, with a {@code ./} prefix: the root itself is {@code ./}, a
 *       directory {@code ./a/} (trailing slash), anything else {@code ./a/b}. Order: depth first, each
 *       directory's children sorted by the bytes of their UTF-8 names (as GNU tar {@code --sort=name}), so a
 *       directory always precedes its contents.
 *   <li>ustar header fields: mode with setuid/setgid/sticky, numeric uid/gid, empty uname/gname, size, mtime
 *       in whole seconds; device major/minor for character and block devices.
 *   <li>A pax 'x' header, only when needed: {@code mtime} as seconds with 9 fractional digits when the
 *       nanoseconds are not zero; {@code path}/{@code linkpath} for names over 100 bytes or non-ASCII;
 *       {@code size} for files of 8 GiB and more; {@code uid}/{@code gid} over 2097151;
 *       {@code SCHILY.xattr.<name>} with the raw value for every extended attribute (user.*, trusted.*,
 *       security.capability, system.posix_acl_access/default...).
 *   <li>Hard links (same device and inode): the first name in archive order is a regular file, later names are
 *       link entries ('1') whose target is that first name in the same {@code ./} form.
 *   <li>A regular file with holes ({@link DataExtents}) is a GNU sparse 1.0 entry: its map of data extents at the
 *       start of the content, then only their data; {@link #extract} leaves the holes as holes. A file without
 *       holes is an ordinary entry.
 *   <li>Sockets are skipped with a warning: they cannot be recreated meaningfully.
 * </ul>
 */
public final class VolumeArchive {
  private static final Logger LOG = LoggerFactory.getLogger(VolumeArchive.class);
  private static final int BUFFER = 1 << 20;
  /** The most data extents recorded for one sparse file (1 MiB of offsets in memory); see {@code Writer.holes}. */
  static final int MAX_EXTENTS = 1 << 16;
  private static final Comparator<String> BY_UTF8_BYTES = (a, b) ->
      Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

  private VolumeArchive() {}

  /**
   * Writes the tree under {@code dir} to {@code out}, skipping the relative paths in {@code exclude} (nested
   * mount points) and sockets (logged). Does not close {@code out}. Returns the number of entries and bytes.
   */
  public static Stats write(Path dir, Set<String> exclude, OutputStream out) throws IOException {
    Posix.checkUtf8FileNames();
    FileStat root = Posix.lstat(dir.toString());
    if (!root.isDirectory()) {
      throw new IOException("cannot archive " + dir + ": not a directory");
    }
    Writer w = new Writer(new BufferedOutputStream(new NonClosingOutputStream(out), 1 << 16), normalizeAll(exclude));
    w.walk(dir, "", root);
    w.tar.finish();
    return Stats.of(w.entries, w.tar.contentBytes());
  }

  private static final class Writer {
    final TarWriter tar;
    final Set<String> exclude;
    final Map<String, String> firstNameByInode = new HashMap<>();
    final byte[] buf = new byte[BUFFER];
    final ByteBuffer bb = ByteBuffer.wrap(buf);
    long entries;

    Writer(OutputStream out, Set<String> exclude) {
      this.tar = new TarWriter(out);
      this.exclude = exclude;
    }

    /** Writes {@code path} (relative name {@code rel}, "" for the root) and, for a directory, its tree. */
    void walk(Path path, String rel, FileStat st) throws IOException {
      String p = path.toString();
      int fmt = st.mode() & Posix.S_IFMT;
      if (fmt == Posix.S_IFSOCK) {
        LOG.warn("skipping socket {}: sockets cannot be archived", p);
        return;
      }
      TarEntry e = new TarEntry();
      e.name = fmt == Posix.S_IFDIR ? (rel.isEmpty() ? "./" : "./" + rel + "/") : "./" + rel;
      e.mode = st.mode() & 07777;
      e.uid = Integer.toUnsignedLong(st.uid());
      e.gid = Integer.toUnsignedLong(st.gid());
      e.mtimeSeconds = st.mtime();
      e.mtimeNanos = (int) ((NanosecondFileStat) st).mTimeNanoSecs();
      for (String x : Posix.listXattrs(p)) {
        byte[] v = Posix.getXattr(p, x);
        if (v != null) {
          e.xattrs.put(x, v);
        }
      }
      boolean content = false;
      if (fmt != Posix.S_IFDIR && st.nlink() > 1) {
        String key = st.dev() + ":" + st.ino();
        String first = firstNameByInode.putIfAbsent(key, e.name);
        if (first != null) {
          e.type = TarEntry.HARDLINK;
          e.linkName = first;
          tar.putEntry(e);
          entries++;
          return;
        }
      }
      switch (fmt) {
        case Posix.S_IFDIR:
          e.type = TarEntry.DIR;
          break;
        case Posix.S_IFREG:
          e.type = TarEntry.FILE;
          e.size = st.st_size();
          // A file with as many blocks as bytes has no hole: no need to ask (saves an open and two lseeks per file).
          e.sparse = st.blocks() * 512 < e.size ? holes(path, e.size) : null;
          content = true;
          break;
        case Posix.S_IFLNK:
          e.type = TarEntry.SYMLINK;
          e.linkName = Posix.readlink(p);
          break;
        case Posix.S_IFCHR:
        case Posix.S_IFBLK:
          e.type = fmt == Posix.S_IFCHR ? TarEntry.CHAR : TarEntry.BLOCK;
          e.devMajor = Posix.major(st.rdev());
          e.devMinor = Posix.minor(st.rdev());
          break;
        case Posix.S_IFIFO:
          e.type = TarEntry.FIFO;
          break;
        default:
          LOG.warn("skipping {}: unknown file type {}", p, Integer.toOctalString(fmt));
          return;
      }
      tar.putEntry(e);
      entries++;
      if (content) {
        if (e.sparse != null) {
          copyExtents(path, e.sparse);
        } else {
          copyContent(path, e.size);
        }
        tar.closeEntry();
      }
      if (fmt == Posix.S_IFDIR) {
        List<String> children = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(path)) {
          for (Path c : ds) {
            children.add(c.getFileName().toString());
          }
        }
        children.sort(BY_UTF8_BYTES);
        for (String c : children) {
          String childRel = rel.isEmpty() ? c : rel + "/" + c;
          if (exclude.contains(childRel)) {
            continue;
          }
          Path child = path.resolve(c);
          FileStat cst = Posix.lstatOrNull(child.toString());
          if (cst == null) {
            LOG.warn("{} vanished while it was being archived", child);
            continue;
          }
          walk(child, childRel, cst);
        }
      }
    }

    /**
     * The data extents of a file that has holes, as offset, length pairs ({@link TarEntry#sparse}); null when it
     * has none (it is then archived as an ordinary file, as before sparse support, so its bytes do not change).
     * At most {@link #MAX_EXTENTS} extents are kept: past that, neighbours are merged two by two, their hole then
     * archived as the zeros it reads as, so the map stays bounded whatever the file.
     */
    private static long[] holes(Path path, long size) throws IOException {
      if (size == 0) {
        return null;
      }
      long[] ext = new long[64];
      int n = 0;
      try (DataExtents extents = DataExtents.open(path, size)) {
        DataExtents.Extent x;
        while ((x = extents.next()) != null) {
          if (n == 2 * MAX_EXTENTS) {
            n = mergePairs(ext, n);
          }
          if (n == ext.length) {
            ext = Arrays.copyOf(ext, Math.min(2 * ext.length, 2 * MAX_EXTENTS));
          }
          ext[n++] = x.offset();
          ext[n++] = x.length();
        }
      }
      if (n == 2 && ext[0] == 0 && ext[1] == size) {
        return null;
      }
      return Arrays.copyOf(ext, n);
    }

    /** Merges extents 0+1, 2+3, ... (offset, length pairs in {@code ext[0..n)}); returns the new length. */
    private static int mergePairs(long[] ext, int n) {
      int out = 0;
      for (int i = 0; i < n; i += 4) {
        long off = ext[i];
        long end = i + 2 < n ? ext[i + 2] + ext[i + 3] : ext[i] + ext[i + 1];
        ext[out++] = off;
        ext[out++] = end - off;
      }
      return out;
    }

    /**
     * Copies the bytes of each extent, read at its offset; a file that shrank meanwhile is padded with zeros
     * (logged), as {@link #copyContent} does.
     */
    private void copyExtents(Path path, long[] extents) throws IOException {
      long missing = 0;
      try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        for (int i = 0; i < extents.length; i += 2) {
          long pos = extents[i];
          long left = extents[i + 1];
          while (left > 0) {
            bb.clear();
            bb.limit((int) Math.min(buf.length, left));
            int n = ch.read(bb, pos);
            if (n < 0) {
              missing += left;
              Arrays.fill(buf, (byte) 0);
              while (left > 0) {
                int z = (int) Math.min(buf.length, left);
                tar.write(buf, 0, z);
                left -= z;
              }
              break;
            }
            tar.write(buf, 0, n);
            pos += n;
            left -= n;
          }
        }
      }
      if (missing > 0) {
        LOG.warn("{} shrank while it was being archived; padded with {} zero bytes", path, missing);
      }
    }

    /** Copies exactly {@code size} bytes: a file that grew is cut, one that shrank is padded with zeros. */
    private void copyContent(Path path, long size) throws IOException {
      long left = size;
      try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        while (left > 0) {
          bb.clear();
          bb.limit((int) Math.min(buf.length, left));
          int n = ch.read(bb);
          if (n < 0) {
            break;
          }
          tar.write(buf, 0, n);
          left -= n;
        }
      }
      if (left > 0) {
        LOG.warn("{} shrank while it was being archived; padded with {} zero bytes", path, left);
        Arrays.fill(buf, (byte) 0);
        while (left > 0) {
          int n = (int) Math.min(buf.length, left);
          tar.write(buf, 0, n);
          left -= n;
        }
      }
    }
  }

  /**
   * Extracts into {@code dir}, which should be empty. Refuses entries that would land outside {@code dir}
   * (absolute paths, "..", links through symlinks). Does not close {@code in}.
   *
   * <p>Runs as root: owners are set with lchown, then modes with chmod (chown clears setuid/setgid), then xattrs
   * (chown also clears security.capability), then mtimes with nanoseconds (utimensat, AT_SYMLINK_NOFOLLOW).
   * Directories get their metadata last, deepest first, so creating their children neither bumps their mtime nor
   * inherits their default ACL. Missing parent directories are created (0755, root) when an archive lacks them.
   *
   * <p>Then each entry is read back (lstat, lgetxattr) and compared, so that what the filesystem dropped is known:
   * {@link Stats#metadata()}. A chown or chmod the filesystem refuses (EPERM, EINVAL for an unmapped id) and an
   * xattr it does not support (EOPNOTSUPP, EPERM, EACCES, E2BIG, EINVAL) count as losses there, not as errors;
   * the caller decides whether a loss fails the restore.
   */
  public static Stats extract(InputStream in, Path dir) throws IOException {
    Posix.checkUtf8FileNames();
    FileStat st = Posix.lstat(dir.toString());
    if (!st.isDirectory()) {
      throw new IOException("cannot extract into " + dir + ": not a directory");
    }
    return new Extractor(dir).run(new TarReader(in));
  }

  private static final class Extractor {
    final Path root;
    final Set<String> realDirs = new HashSet<>();
    final List<TarEntry> dirs = new ArrayList<>();
    final byte[] buf = new byte[BUFFER];
    final MetadataCheck check = new MetadataCheck();
    long entries;
    long bytes;

    Extractor(Path root) {
      this.root = root;
      realDirs.add("");
    }

    Stats run(TarReader r) throws IOException {
      TarEntry e;
      while ((e = r.next()) != null) {
        String rel = safeRelative(e.name, e.name);
        entries++;
        if (rel.isEmpty()) {
          if (e.isDirectory()) {
            e.name = "";
            dirs.add(e);
            continue;
          }
          throw new IOException("tar entry '" + e.name + "' names the target directory itself but is not a"
              + " directory");
        }
        ensureParents(rel, e.name);
        Path target = root.resolve(rel);
        String t = target.toString();
        FileStat existing = Posix.lstatOrNull(t);
        if (existing != null && !(existing.isDirectory() && e.isDirectory())) {
          if (existing.isDirectory()) {
            throw new IOException("tar entry '" + e.name + "' would replace directory " + t);
          }
          Files.delete(target);
        }
        switch (e.type) {
          case TarEntry.DIR:
            if (existing == null) {
              Posix.mkdir(t, 0700);
            }
            realDirs.add(rel);
            e.name = rel;
            dirs.add(e);
            continue;
          case TarEntry.FILE:
            bytes += writeFile(target, r, e);
            break;
          case TarEntry.HARDLINK: {
            String linkRel = safeRelative(e.linkName, e.name);
            ensureParents(linkRel, e.name);
            Path existingFile = root.resolve(linkRel);
            if (Posix.lstatOrNull(existingFile.toString()) == null) {
              throw new IOException("tar entry '" + e.name + "' is a hard link to '" + e.linkName
                  + "', which is not in the archive before it");
            }
            Files.createLink(target, existingFile);
            // A hard link shares the first name's inode, owner, mode and xattrs: nothing more to set.
            continue;
          }
          case TarEntry.SYMLINK:
            Posix.symlink(e.linkName, t);
            break;
          case TarEntry.CHAR:
            Posix.mknod(t, Posix.S_IFCHR, 0600, e.devMajor, e.devMinor);
            break;
          case TarEntry.BLOCK:
            Posix.mknod(t, Posix.S_IFBLK, 0600, e.devMajor, e.devMinor);
            break;
          case TarEntry.FIFO:
            Posix.mkfifo(t, 0600);
            break;
          default:
            LOG.warn("skipping tar entry '{}' of unsupported type '{}'", e.name, (char) e.type);
            entries--;
            continue;
        }
        applyAndCheck(t, rel, e);
      }
      // Deepest first: a directory's metadata goes on after everything inside it was created.
      dirs.sort(Comparator.comparingInt((TarEntry d) -> depth(d.name)).reversed());
      for (TarEntry d : dirs) {
        applyAndCheck(d.name.isEmpty() ? root.toString() : root.resolve(d.name).toString(), d.name, d);
      }
      return new Stats(entries, bytes, check);
    }

    /**
     * Writes a file's content. A sparse entry's extents are written at their offsets, so the holes between them
     * are never written and stay holes; a final hole is made by setting the size (truncate), which allocates
     * nothing. Returns the bytes written.
     */
    private long writeFile(Path target, TarReader r, TarEntry e) throws IOException {
      long total = 0;
      try (FileChannel ch = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
          LinkOption.NOFOLLOW_LINKS)) {
        if (e.sparse == null) {
          int n;
          while ((n = r.read(buf, 0, buf.length)) > 0) {
            ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
            while (bb.hasRemaining()) {
              ch.write(bb);
            }
            total += n;
          }
          return total;
        }
        for (int i = 0; i < e.sparse.length; i += 2) {
          long pos = e.sparse[i];
          long left = e.sparse[i + 1];
          while (left > 0) {
            int n = r.read(buf, 0, (int) Math.min(buf.length, left));
            if (n <= 0) {
              throw new IOException("tar entry '" + e.name + "': sparse data ended early");
            }
            ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
            while (bb.hasRemaining()) {
              pos += ch.write(bb, pos);
            }
            left -= n;
            total += n;
          }
        }
      }
      if (Files.size(target) < e.size) {
        Posix.truncate(target.toString(), e.size);
      }
      return total;
    }

    /** Applies the entry's metadata to {@code path} (relative name {@code rel}), then checks what stayed. */
    private void applyAndCheck(String path, String rel, TarEntry e) throws IOException {
      String shown = "./" + rel;
      Map<MetadataCheck.Kind, String> refused = new EnumMap<>(MetadataCheck.Kind.class);
      applyMetadata(path, shown, e, refused);
      check.entry();
      check.checked(compare(path, shown, e, refused));
    }

    /**
     * chown, then chmod (chown clears setuid), then xattrs (chown clears capabilities), then mtime. What the
     * filesystem refuses to keep goes into {@code refused} (kind → why), for the check that follows.
     */
    private void applyMetadata(String path, String shown, TarEntry e, Map<MetadataCheck.Kind, String> refused)
        throws IOException {
      try {
        Posix.lchown(path, (int) e.uid, (int) e.gid);
      } catch (Posix.ErrnoException ex) {
        if (ex.errno != Posix.EPERM && ex.errno != Posix.EINVAL) {
          throw ex;
        }
        refused.putIfAbsent(MetadataCheck.Kind.OWNERS, shown + ": chown " + MetadataCheck.owner(e.uid, e.gid) + ": "
            + ex.reason);
      }
      if (e.type != TarEntry.SYMLINK) {
        try {
          Posix.chmod(path, e.mode & 07777);
        } catch (Posix.ErrnoException ex) {
          if (ex.errno != Posix.EPERM) {
            throw ex;
          }
          refused.putIfAbsent(MetadataCheck.Kind.MODES, shown + ": chmod " + MetadataCheck.mode(e.mode) + ": "
              + ex.reason);
        }
      }
      for (Map.Entry<String, byte[]> x : e.xattrs.entrySet()) {
        try {
          Posix.setXattr(path, x.getKey(), x.getValue());
        } catch (Posix.ErrnoException ex) {
          if (!ex.unsupportedOrRefused() && ex.errno != Posix.E2BIG && ex.errno != Posix.EINVAL) {
            throw new IOException("cannot restore xattr " + x.getKey() + " of tar entry '" + e.name + "': "
                + ex.getMessage(), ex);
          }
          refused.putIfAbsent(MetadataCheck.isAcl(x.getKey()) ? MetadataCheck.Kind.ACLS : MetadataCheck.Kind.XATTRS,
              shown + ": xattr " + x.getKey() + ": " + ex.reason);
        }
      }
      Posix.setMtime(path, e.mtimeSeconds, e.mtimeNanos);
    }

    /** What {@code path} lost of the entry's metadata, read back from the filesystem: kind → an example. */
    private Map<MetadataCheck.Kind, String> compare(String path, String shown, TarEntry e,
        Map<MetadataCheck.Kind, String> refused) throws IOException {
      Map<MetadataCheck.Kind, String> lost = new EnumMap<>(MetadataCheck.Kind.class);
      FileStat st = Posix.lstat(path);
      long uid = Integer.toUnsignedLong(st.uid());
      long gid = Integer.toUnsignedLong(st.gid());
      if (uid != e.uid || gid != e.gid) {
        lost.put(MetadataCheck.Kind.OWNERS, refused.getOrDefault(MetadataCheck.Kind.OWNERS, shown + ": owner "
            + MetadataCheck.owner(e.uid, e.gid) + " is " + MetadataCheck.owner(uid, gid) + " there"));
      }
      if (e.type != TarEntry.SYMLINK && (st.mode() & 07777) != (e.mode & 07777)) {
        lost.put(MetadataCheck.Kind.MODES, refused.getOrDefault(MetadataCheck.Kind.MODES, shown + ": mode "
            + MetadataCheck.mode(e.mode) + " is " + MetadataCheck.mode(st.mode()) + " there"));
      }
      long nanos = ((NanosecondFileStat) st).mTimeNanoSecs();
      if (st.mtime() != e.mtimeSeconds) {
        lost.put(MetadataCheck.Kind.MTIMES, shown + ": mtime " + TarWriter.formatTime(e.mtimeSeconds, e.mtimeNanos)
            + " is " + TarWriter.formatTime(st.mtime(), (int) nanos) + " there");
      } else if (nanos != e.mtimeNanos) {
        lost.put(MetadataCheck.Kind.NS_MTIMES, shown + ": mtime " + TarWriter.formatTime(e.mtimeSeconds,
            e.mtimeNanos) + " is " + TarWriter.formatTime(st.mtime(), (int) nanos) + " there");
      }
      for (Map.Entry<String, byte[]> x : e.xattrs.entrySet()) {
        MetadataCheck.Kind kind = MetadataCheck.isAcl(x.getKey()) ? MetadataCheck.Kind.ACLS
            : MetadataCheck.Kind.XATTRS;
        if (lost.containsKey(kind)) {
          continue;
        }
        byte[] got;
        try {
          got = Posix.getXattr(path, x.getKey());
        } catch (Posix.ErrnoException ex) {
          if (!ex.unsupportedOrRefused()) {
            throw ex;
          }
          got = null;
        }
        if (!Arrays.equals(got, x.getValue())) {
          lost.put(kind, refused.getOrDefault(kind, shown + ": xattr " + x.getKey()
              + (got == null ? " is missing there" : " has another value there")));
        }
      }
      return lost;
    }

    /**
     * Checks that every parent of {@code rel} is a real directory inside the target (never a symlink), creating
     * missing ones; {@code entry} names the tar entry in errors.
     */
    private void ensureParents(String rel, String entry) throws IOException {
      int slash = rel.lastIndexOf('/');
      if (slash < 0) {
        return;
      }
      String parent = rel.substring(0, slash);
      if (realDirs.contains(parent)) {
        return;
      }
      ensureParents(parent, entry);
      String p = root.resolve(parent).toString();
      FileStat st = Posix.lstatOrNull(p);
      if (st == null) {
        Posix.mkdir(p, 0755);
      } else if (st.isSymlink()) {
        throw new IOException("refusing tar entry '" + entry + "': it would be written through the symlink '"
            + parent + "'");
      } else if (!st.isDirectory()) {
        throw new IOException("refusing tar entry '" + entry + "': its parent '" + parent
            + "' is not a directory");
      }
      realDirs.add(parent);
    }
  }

  /**
   * The entry's path relative to the target, "" for the root; refuses absolute names and "..".
   * {@code entry} names the tar entry in errors.
   */
  static String safeRelative(String name, String entry) throws IOException {
    if (name.startsWith("/")) {
      throw new IOException("refusing tar entry '" + entry + "': absolute path '" + name + "'");
    }
    List<String> parts = new ArrayList<>();
    for (String part : name.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        throw new IOException("refusing tar entry '" + entry + "': path '" + name + "' contains '..'");
      }
      if (part.indexOf('\0') >= 0) {
        throw new IOException("refusing tar entry '" + entry + "': NUL in path");
      }
      parts.add(part);
    }
    return String.join("/", parts);
  }

  private static int depth(String rel) {
    if (rel.isEmpty()) {
      return 0;
    }
    int d = 1;
    for (int i = 0; i < rel.length(); i++) {
      if (rel.charAt(i) == '/') {
        d++;
      }
    }
    return d;
  }

  /**
   * Rewrites an archive-API tar whose entries start with {@code topName}/ to volume-relative entries, dropping
   * the relative subtrees in {@code exclude}. Does not close either stream.
   *
   * <p>Output entries have the same form as {@link #write}'s ({@code ./}, {@code ./a/}, {@code ./a/b}); owner,
   * mode, mtime (including any pax nanoseconds), device numbers, xattrs and link targets are kept; hard link
   * targets are rewritten the same way, symlink targets are kept verbatim; uname/gname, atime and ctime are
   * dropped. Entry order is kept (the engine writes each directory's children in lexical order).
   */
  public static Stats rebase(InputStream apiTar, String topName, Set<String> exclude, OutputStream out)
      throws IOException {
    String top = SaveArchive.normalize(topName);
    if (top.isEmpty() || top.contains("/")) {
      throw new IllegalArgumentException("topName must be one path element, got '" + topName + "'");
    }
    Set<String> ex = normalizeAll(exclude);
    return rewrite(apiTar, out, e -> {
      String rel = relativeTo(top, e.name, e.name);
      if (isExcluded(rel, ex)) {
        return false;
      }
      if (e.type == TarEntry.HARDLINK) {
        String target = relativeTo(top, e.linkName, e.name);
        if (isExcluded(target, ex)) {
          throw new IOException("archive entry '" + e.name + "' is a hard link into excluded '" + e.linkName
              + "'");
        }
        e.linkName = "./" + target;
      }
      e.name = e.isDirectory() ? (rel.isEmpty() ? "./" : "./" + rel + "/") : "./" + rel;
      if (rel.isEmpty() && !e.isDirectory()) {
        throw new IOException("archive entry '" + topName + "' is not a directory: not a volume archive");
      }
      return true;
    });
  }

  /**
   * The inverse of {@link #rebase}: puts a volume archive's entries under {@code dirName}/ (hard link targets too),
   * so that it can be extracted into the parent of a mount point. The engine's archive API skips a "." entry
   * (moby pkg/archive: an existing directory named "." is never touched), so the volume root's owner, mode and
   * mtime only arrive when the root is a named entry. Does not close either stream.
   */
  public static Stats nest(InputStream volumeTar, String dirName, OutputStream out) throws IOException {
    return nest(volumeTar, dirName, out, null);
  }

  /**
   * As {@link #nest(InputStream, String, OutputStream)}, offering each entry, in its nested form, to
   * {@code sample} (may be null) for a metadata check through the archive API once the engine extracted it.
   */
  public static Stats nest(InputStream volumeTar, String dirName, OutputStream out, MetadataCheck.Sample sample)
      throws IOException {
    String dir = SaveArchive.normalize(dirName);
    if (dir.isEmpty() || dir.contains("/")) {
      throw new IllegalArgumentException("dirName must be one path element, got '" + dirName + "'");
    }
    return rewrite(volumeTar, out, e -> {
      String rel = safeRelative(e.name, e.name);
      if (e.type == TarEntry.HARDLINK) {
        e.linkName = dir + "/" + safeRelative(e.linkName, e.name);
      }
      e.name = rel.isEmpty() ? dir + "/" : dir + "/" + rel + (e.isDirectory() ? "/" : "");
      if (sample != null) {
        sample.offer(e);
      }
      return true;
    });
  }

  /** Decides, and may change, one entry's header while a tar is copied; false drops the entry. */
  private interface EntryRewriter {
    boolean rewrite(TarEntry e) throws IOException;
  }

  /** Copies a tar entry by entry through {@code rewriter}, content unchanged. */
  private static Stats rewrite(InputStream in, OutputStream out, EntryRewriter rewriter) throws IOException {
    TarReader r = new TarReader(in);
    TarWriter w = new TarWriter(new BufferedOutputStream(new NonClosingOutputStream(out), 1 << 16));
    byte[] buf = new byte[BUFFER];
    long entries = 0;
    TarEntry e;
    while ((e = r.next()) != null) {
      if (!rewriter.rewrite(e)) {
        continue;
      }
      w.putEntry(e);
      entries++;
      if (e.hasContent()) {
        int n;
        while ((n = r.read(buf, 0, buf.length)) > 0) {
          w.write(buf, 0, n);
        }
        w.closeEntry();
      }
    }
    w.finish();
    return Stats.of(entries, w.contentBytes());
  }

  /** {@code name} relative to {@code top} ("" for top itself); fails for entries outside it. */
  private static String relativeTo(String top, String name, String entry) throws IOException {
    String n = safeRelative(name, entry);
    if (n.equals(top)) {
      return "";
    }
    if (n.startsWith(top + "/")) {
      return n.substring(top.length() + 1);
    }
    throw new IOException("archive entry '" + entry + "' is not under '" + top + "/': not the archive of '"
        + top + "'");
  }

  private static boolean isExcluded(String rel, Set<String> exclude) {
    if (rel.isEmpty() || exclude.isEmpty()) {
      return false;
    }
    String p = rel;
    while (true) {
      if (exclude.contains(p)) {
        return true;
      }
      int slash = p.lastIndexOf('/');
      if (slash < 0) {
        return false;
      }
      p = p.substring(0, slash);
    }
  }

  private static Set<String> normalizeAll(Set<String> exclude) {
    Set<String> out = new LinkedHashSet<>();
    for (String x : exclude) {
      String n = SaveArchive.normalize(x);
      if (!n.isEmpty()) {
        out.add(n);
      }
    }
    return out;
  }


  /** Counts of what went through, and for an extract what the filesystem kept of its metadata. */
  public static final class Stats {
    private final long entries;
    private final long bytes;
    private final MetadataCheck metadata;

    private Stats(long entries, long bytes, MetadataCheck metadata) {
      this.entries = entries;
      this.bytes = bytes;
      this.metadata = metadata;
    }

    public static Stats of(long entries, long bytes) {
      return new Stats(entries, bytes, null);
    }

    /** This, with the metadata check of the volume. */
    public Stats withMetadata(MetadataCheck check) {
      return new Stats(entries, bytes, check);
    }

    /** What the target kept of the metadata ({@link #extract}, or a check through the archive API); or null. */
    public MetadataCheck metadata() {
      return metadata;
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
