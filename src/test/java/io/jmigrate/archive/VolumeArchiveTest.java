package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Digest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import jnr.posix.FileStat;
import jnr.posix.NanosecondFileStat;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link VolumeArchive}. */
class VolumeArchiveTest {
  private static final String LONG_NAME = "n".repeat(120) + "-long-name-ä.txt";
  private static final String LONG_DIR = "d".repeat(90) + "/" + "e".repeat(90);
  private static final String LONG_TARGET = "t/".repeat(160) + "target";

  @TempDir
  Path tmp;

  @BeforeAll
  static void mustBeRoot() throws IOException {
    assertThat(Posix.lstat("/").uid()).isZero();
    assertThat(System.getProperty("user.name")).as("volume archive tests need root (chown, mknod)").isEqualTo("root");
  }

  // ---- building a tree that has every kind of entry ----

  private static void setTimes(Path p, long s, int ns) throws IOException {
    Posix.setMtime(p.toString(), s, ns);
  }

  /** ACL xattr (linux/posix_acl_xattr.h, version 2): user::rw- user:1234:r-- group::r-- mask::r-- other::---. */
  static byte[] accessAcl() {
    ByteBuffer b = ByteBuffer.allocate(4 + 5 * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(2);
    b.putShort((short) 0x01).putShort((short) 6).putInt(-1);
    b.putShort((short) 0x02).putShort((short) 4).putInt(1234);
    b.putShort((short) 0x04).putShort((short) 4).putInt(-1);
    b.putShort((short) 0x10).putShort((short) 4).putInt(-1);
    b.putShort((short) 0x20).putShort((short) 0).putInt(-1);
    return b.array();
  }

  /** Default ACL for a directory: user::rwx group::r-x other::r-x. */
  static byte[] defaultAcl() {
    ByteBuffer b = ByteBuffer.allocate(4 + 3 * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(2);
    b.putShort((short) 0x01).putShort((short) 7).putInt(-1);
    b.putShort((short) 0x04).putShort((short) 5).putInt(-1);
    b.putShort((short) 0x20).putShort((short) 5).putInt(-1);
    return b.array();
  }

  /** vfs_cap_data revision 2, effective, permitted = CAP_NET_RAW (linux/capability.h). */
  static byte[] capability() {
    ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0x02000001).putInt(1 << 13).putInt(0).putInt(0).putInt(0);
    return b.array();
  }

  /** Builds the same tree every time it is called on an empty directory. */
  static void buildTree(Path root) throws IOException {
    Files.createDirectories(root.resolve("a/b"));
    Files.writeString(root.resolve("a/file.txt"), "hello world\n");
    Files.write(root.resolve("a/b/binary.bin"), bytes(100_000, 7));
    Files.createDirectories(root.resolve("empty"));
    Files.createDirectories(root.resolve("sp ace dir"));
    Files.writeString(root.resolve("sp ace dir/héllo wörld.txt"), "unicode and spaces");
    Files.writeString(root.resolve("日本語 ファイル"), "japanese");
    Files.createDirectories(root.resolve(LONG_DIR));
    Files.writeString(root.resolve(LONG_DIR).resolve(LONG_NAME), "deep and long");
    Files.writeString(root.resolve("setuid"), "#!/bin/sh\n");
    Posix.chmod(root.resolve("setuid").toString(), 04755);
    Files.createDirectories(root.resolve("setgid-dir"));
    Files.createDirectories(root.resolve("sticky-dir"));
    // hard links: a group of three names
    Files.writeString(root.resolve("a/linked"), "shared inode");
    Files.createLink(root.resolve("hard2"), root.resolve("a/linked"));
    Files.createLink(root.resolve("sp ace dir/hard3"), root.resolve("a/linked"));
    // symlinks, verbatim targets, including a dangling one, one with a trailing slash and a long one
    Posix.symlink("a/file.txt", root.resolve("lnk").toString());
    Posix.symlink("../../outside/nowhere", root.resolve("dangling").toString());
    Posix.symlink("a//b/", root.resolve("odd-target").toString());
    Posix.symlink(LONG_TARGET, root.resolve("long-link").toString());
    // devices and a fifo
    Files.createDirectories(root.resolve("dev"));
    Posix.mknod(root.resolve("dev/null").toString(), Posix.S_IFCHR, 0666, 1, 3);
    Posix.mknod(root.resolve("dev/loop9").toString(), Posix.S_IFBLK, 0660, 7, 9);
    Posix.mknod(root.resolve("dev/big").toString(), Posix.S_IFCHR, 0600, 300, 70000);
    Posix.mkfifo(root.resolve("fifo").toString(), 0640);
    // xattrs: user (text and binary), capability, ACLs
    Posix.setXattr(root.resolve("a/file.txt").toString(), "user.comment", "a comment".getBytes(StandardCharsets.UTF_8));
    Posix.setXattr(root.resolve("a/file.txt").toString(), "user.binary", bytes(256, 0));
    Posix.setXattr(root.resolve("a").toString(), "user.dir", "on a directory".getBytes(StandardCharsets.UTF_8));
    Posix.setXattr(root.resolve("a/b/binary.bin").toString(), "system.posix_acl_access", accessAcl());
    Posix.setXattr(root.resolve("sp ace dir").toString(), "system.posix_acl_default", defaultAcl());
    // owners, then modes (chown clears setuid), then the capability (chown clears it too)
    Posix.lchown(root.resolve("a/file.txt").toString(), 1234, 5678);
    Posix.lchown(root.resolve("a").toString(), 1000, 1000);
    Posix.lchown(root.resolve("lnk").toString(), 4321, 8765);
    Posix.lchown(root.resolve("日本語 ファイル").toString(), 3_000_000, 3_000_001);
    Posix.lchown(root.resolve("setuid").toString(), 0, 50);
    Posix.lchown(root.resolve("setgid-dir").toString(), 0, 50);
    Posix.chmod(root.resolve("setuid").toString(), 04755);
    Posix.chmod(root.resolve("setgid-dir").toString(), 02775);
    Posix.chmod(root.resolve("sticky-dir").toString(), 01777);
    Posix.chmod(root.resolve("a/b").toString(), 0555);
    Posix.setXattr(root.resolve("setuid").toString(), "security.capability", capability());
    // a socket: skipped by the archive
    try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      s.bind(UnixDomainSocketAddress.of(root.resolve("sock")));
    }
    // mtimes with nanoseconds, deepest first so children do not bump their directories
    List<Path> all;
    try (Stream<Path> s = Files.walk(root)) {
      all = new ArrayList<>(s.toList());
    }
    all.sort((x, y) -> Integer.compare(y.getNameCount(), x.getNameCount()));
    long t = 1_700_000_000L;
    for (Path p : all) {
      String rel = root.relativize(p).toString();
      int ns = Math.floorMod(rel.hashCode(), 1_000_000_000);
      setTimes(p, t + Math.floorMod(rel.hashCode(), 100_000), ns == 0 ? 1 : ns);
    }
  }

  static byte[] bytes(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 13 + seed);
    }
    return b;
  }

  // ---- comparing trees ----

  /** Everything the archive must keep about each path, keyed by relative path ("" is the root). */
  static Map<String, String> describe(Path root) throws IOException {
    Map<String, String> out = new TreeMap<>();
    Map<String, String> inodeGroups = new HashMap<>();
    List<Path> all;
    try (Stream<Path> s = Files.walk(root)) {
      all = s.toList();
    }
    for (Path p : all) {
      String rel = root.relativize(p).toString();
      String ps = p.toString();
      FileStat st = Posix.lstat(ps);
      int fmt = st.mode() & Posix.S_IFMT;
      if (fmt == Posix.S_IFSOCK) {
        continue;
      }
      StringBuilder d = new StringBuilder();
      d.append("mode=").append(Integer.toOctalString(st.mode()))
          .append(" owner=").append(Integer.toUnsignedLong(st.uid())).append(':')
          .append(Integer.toUnsignedLong(st.gid()))
          .append(" mtime=").append(st.mtime()).append('.').append(((NanosecondFileStat) st).mTimeNanoSecs());
      if (fmt == Posix.S_IFREG) {
        try (InputStream in = Files.newInputStream(p)) {
          d.append(" sha=").append(TarFixtures.sha256(in).shortHex(16));
        }
        d.append(" nlink=").append(st.nlink());
        if (st.nlink() > 1) {
          String group = inodeGroups.computeIfAbsent(st.dev() + ":" + st.ino(), k -> rel);
          d.append(" inode-of=").append(group.equals(rel) ? "self" : "shared");
        }
      } else if (fmt == Posix.S_IFLNK) {
        d.append(" target=").append(Posix.readlink(ps));
      } else if (fmt == Posix.S_IFCHR || fmt == Posix.S_IFBLK) {
        d.append(" dev=").append(Posix.major(st.rdev())).append(',').append(Posix.minor(st.rdev()));
      }
      for (String x : new java.util.TreeSet<>(Posix.listXattrs(ps))) {
        d.append(' ').append(x).append('=').append(HexFormat.of().formatHex(Posix.getXattr(ps, x)));
      }
      out.put(rel, d.toString());
    }
    // hard links: every name of a group must resolve to one inode
    return out;
  }

  private static Digest digestOfWrite(Path dir) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    VolumeArchive.write(dir, Set.of(), out);
    return Digest.of(out.toByteArray());
  }

  // ---- tests ----

  @Test
  void writeThenExtract_everyKindOfEntry_restoresEveryAttribute() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    buildTree(src);
    Path dst = Files.createDirectory(tmp.resolve("dst"));
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    VolumeArchive.Stats w = VolumeArchive.write(src, Set.of(), tar);
    VolumeArchive.Stats x = VolumeArchive.extract(new ByteArrayInputStream(tar.toByteArray()), dst);

    Map<String, String> expected = describe(src);
    Map<String, String> actual = describe(dst);
    assertThat(actual).containsExactlyEntriesOf(expected);
    assertThat(w.entries()).isEqualTo(expected.size()).isEqualTo(x.entries());
    assertThat(w.bytes()).isEqualTo(x.bytes()).isGreaterThan(100_000);

    // spot checks, independent of describe()
    FileStat a = Posix.lstat(dst.resolve("a/linked").toString());
    assertThat(Posix.lstat(dst.resolve("hard2").toString()).ino()).isEqualTo(a.ino());
    assertThat(Posix.lstat(dst.resolve("sp ace dir/hard3").toString()).ino()).isEqualTo(a.ino());
    assertThat(a.nlink()).isEqualTo(3);
    assertThat(Posix.lstat(dst.resolve("setuid").toString()).mode() & 07777).isEqualTo(04755);
    assertThat(Posix.getXattr(dst.resolve("setuid").toString(), "security.capability")).isEqualTo(capability());
    assertThat(Posix.getXattr(dst.resolve("a/b/binary.bin").toString(), "system.posix_acl_access"))
        .isEqualTo(accessAcl());
    assertThat(Posix.getXattr(dst.resolve("sp ace dir").toString(), "system.posix_acl_default"))
        .isEqualTo(defaultAcl());
    UserDefinedFileAttributeView view = Files.getFileAttributeView(dst.resolve("a/file.txt"),
        UserDefinedFileAttributeView.class);
    ByteBuffer v = ByteBuffer.allocate(view.size("binary"));
    view.read("binary", v);
    assertThat(v.array()).isEqualTo(bytes(256, 0));
    assertThat(Posix.readlink(dst.resolve("odd-target").toString())).isEqualTo("a//b/");
    assertThat(Posix.readlink(dst.resolve("long-link").toString())).isEqualTo(LONG_TARGET);
    assertThat(Files.readString(dst.resolve(LONG_DIR).resolve(LONG_NAME))).isEqualTo("deep and long");
    assertThat(Files.isDirectory(dst.resolve("empty"))).isTrue();
    assertThat(Posix.lstat(dst.resolve("fifo").toString()).isFifo()).isTrue();
    assertThat(Posix.lstat(dst.resolve("日本語 ファイル").toString()).uid()).isEqualTo(3_000_000);
    assertThat(Files.exists(dst.resolve("sock"), java.nio.file.LinkOption.NOFOLLOW_LINKS)).isFalse();
  }

  @Test
  void write_sameTreeTwice_isByteIdentical() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    buildTree(src);
    assertThat(digestOfWrite(src)).isEqualTo(digestOfWrite(src));
  }

  @Test
  void write_twoIdenticallyBuiltTrees_areByteIdentical() throws IOException {
    Path one = Files.createDirectory(tmp.resolve("one"));
    Path two = Files.createDirectory(tmp.resolve("two"));
    buildTree(one);
    buildTree(two);
    setTimes(one, 1_600_000_000L, 5);
    setTimes(two, 1_600_000_000L, 5);
    assertThat(digestOfWrite(two)).isEqualTo(digestOfWrite(one));
  }

  @Test
  void write_oneMtimeChangedByOneNanosecond_changesTheDigest() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    buildTree(src);
    Digest before = digestOfWrite(src);
    FileStat st = Posix.lstat(src.resolve("a/file.txt").toString());
    long ns = ((NanosecondFileStat) st).mTimeNanoSecs();
    setTimes(src.resolve("a/file.txt"), st.mtime(), (int) (ns == 999_999_999 ? ns - 1 : ns + 1));
    assertThat(digestOfWrite(src)).isNotEqualTo(before);
  }

  @Test
  void write_entries_areRelativeSortedNumericAndPax() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    Files.createDirectories(src.resolve("b"));
    Files.writeString(src.resolve("b/x"), "x");
    Files.writeString(src.resolve("a-b"), "1");
    Files.writeString(src.resolve("B"), "2");
    Files.writeString(src.resolve("é"), "3");
    Posix.lchown(src.resolve("b/x").toString(), 77, 88);
    setTimes(src.resolve("b/x"), 1_700_000_000L, 123_456_789);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    VolumeArchive.write(src, Set.of(), out);
    TarReader r = new TarReader(new ByteArrayInputStream(out.toByteArray()));
    List<String> names = new ArrayList<>();
    TarEntry e;
    TarEntry x = null;
    while ((e = r.next()) != null) {
      names.add(e.name);
      if (e.name.equals("./b/x")) {
        x = e;
      }
    }
    assertThat(names).containsExactly("./", "./B", "./a-b", "./b/", "./b/x", "./é");
    assertThat(x.uid).isEqualTo(77);
    assertThat(x.gid).isEqualTo(88);
    assertThat(x.mtimeSeconds).isEqualTo(1_700_000_000L);
    assertThat(x.mtimeNanos).isEqualTo(123_456_789);
    String raw = new String(out.toByteArray(), StandardCharsets.ISO_8859_1);
    assertThat(raw).contains("mtime=1700000000.123456789\n").doesNotContain("atime=").doesNotContain("ctime=")
        .doesNotContain("root");
  }

  @Test
  void write_excludedNestedMount_isLeftOut() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    Files.createDirectories(src.resolve("keep/mnt/deep"));
    Files.writeString(src.resolve("keep/mnt/deep/secret"), "other volume");
    Files.writeString(src.resolve("keep/file"), "mine");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    VolumeArchive.write(src, Set.of("keep/mnt"), out);
    assertThat(names(out.toByteArray())).containsExactly("./", "./keep/", "./keep/file");
  }

  @Test
  void putEntry_sizeOver8GiBAndBigIds_usePaxRecordsThatReadBack() throws IOException {
    long size = (8L << 30) + 4097;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    TarWriter w = new TarWriter(out);
    TarEntry e = entry("./huge.img", TarEntry.FILE, 0644, 3_000_000L, 4_000_000L, -5, 250_000_000, "");
    e.size = size;
    w.putEntry(e);
    TarReader r = new TarReader(new ByteArrayInputStream(out.toByteArray()));
    TarEntry back = r.next();
    assertThat(back.size).isEqualTo(size);
    assertThat(back.uid).isEqualTo(3_000_000L);
    assertThat(back.gid).isEqualTo(4_000_000L);
    assertThat(back.mtimeSeconds).isEqualTo(-5);
    assertThat(back.mtimeNanos).isEqualTo(250_000_000);
    assertThat(new String(out.toByteArray(), StandardCharsets.ISO_8859_1))
        .contains(" size=" + size + "\n", " mtime=-4.750000000\n", " uid=3000000\n");
  }

  @Test
  void write_thenGnuTarExtracts_sameTree() throws Exception {
    Path src = Files.createDirectory(tmp.resolve("src"));
    buildTree(src);
    Path file = tmp.resolve("ours.tar");
    try (OutputStream out = Files.newOutputStream(file)) {
      VolumeArchive.write(src, Set.of(), out);
    }
    Path dst = Files.createDirectory(tmp.resolve("gnu"));
    run("tar", "--xattrs", "--xattrs-include=*", "--acls", "--numeric-owner", "-p", "-C", dst.toString(), "-xf",
        file.toString());
    Map<String, String> expected = describe(src);
    Map<String, String> actual = describe(dst);
    // GNU tar restores everything but the root's own metadata (it never changes -C's directory), and it reads
    // ACLs only from its own SCHILY.acl.* text records, not from system.posix_acl_* xattrs, so it drops those.
    expected.remove("");
    actual.remove("");
    expected.replaceAll((k, v) -> v.replaceAll(" system\\.posix_acl_\\w+=\\p{XDigit}+", ""));
    assertThat(actual).containsExactlyEntriesOf(expected);
  }

  @Test
  void extract_gnuFormatTarFromGnuTar_restoresTree() throws Exception {
    Path src = Files.createDirectory(tmp.resolve("src"));
    Files.createDirectories(src.resolve(LONG_DIR));
    Files.writeString(src.resolve(LONG_DIR).resolve(LONG_NAME), "long");
    Files.writeString(src.resolve("héllo wörld"), "hi");
    Files.createLink(src.resolve("hard"), src.resolve("héllo wörld"));
    Posix.symlink(LONG_TARGET, src.resolve("long-link").toString());
    Posix.lchown(src.resolve("hard").toString(), 1111, 2222);
    Files.createDirectories(src.resolve("empty"));
    Path file = tmp.resolve("gnu.tar");
    run("tar", "--format=gnu", "--numeric-owner", "-C", src.toString(), "-cf", file.toString(), ".");
    Path dst = Files.createDirectory(tmp.resolve("dst"));
    try (InputStream in = Files.newInputStream(file)) {
      VolumeArchive.extract(in, dst);
    }
    Map<String, String> expected = secondsOnly(describe(src));
    Map<String, String> actual = secondsOnly(describe(dst));
    assertThat(actual).containsExactlyEntriesOf(expected);
  }

  @Test
  void extract_ustarFromBusyboxStyleTar_restoresTree() throws Exception {
    Path src = Files.createDirectory(tmp.resolve("src"));
    Files.createDirectories(src.resolve("x/y"));
    Files.writeString(src.resolve("x/y/z"), "ustar");
    Path file = tmp.resolve("ustar.tar");
    run("tar", "--format=ustar", "--numeric-owner", "-C", src.toString(), "-cf", file.toString(), ".");
    Path dst = Files.createDirectory(tmp.resolve("dst"));
    try (InputStream in = Files.newInputStream(file)) {
      VolumeArchive.extract(in, dst);
    }
    assertThat(secondsOnly(describe(dst))).containsExactlyEntriesOf(secondsOnly(describe(src)));
  }

  private static Map<String, String> secondsOnly(Map<String, String> d) {
    Map<String, String> out = new TreeMap<>();
    d.forEach((k, v) -> out.put(k, v.replaceAll("mtime=(\\d+)\\.\\d+", "mtime=$1")));
    return out;
  }

  private static void run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("%s: %s", String.join(" ", cmd), out).isZero();
  }

  private static List<String> names(byte[] tar) throws IOException {
    TarReader r = new TarReader(new ByteArrayInputStream(tar));
    List<String> names = new ArrayList<>();
    TarEntry e;
    while ((e = r.next()) != null) {
      names.add(e.name);
    }
    return names;
  }

  // ---- path escapes ----

  private void assertRefused(byte[] tar, String message) throws IOException {
    Path dst = Files.createDirectory(tmp.resolve("dst"));
    assertThatThrownBy(() -> VolumeArchive.extract(new ByteArrayInputStream(tar), dst))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(message);
    assertThat(Files.exists(tmp.resolve("evil"))).isFalse();
    assertThat(Files.exists(tmp.resolve("outside/evil"))).isFalse();
  }

  @Test
  void extract_dotDotEntry_isRefusedNamingTheEntry() throws IOException {
    assertRefused(new TarFixtures.Builder().file("./ok", "1").file("a/../../evil", "x").build(),
        "refusing tar entry 'a/../../evil': path 'a/../../evil' contains '..'");
  }

  @Test
  void extract_absoluteEntry_isRefused() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    TarWriter w = new TarWriter(out);
    TarEntry e = new TarEntry();
    e.name = "/tmp/evil";
    e.mode = 0644;
    w.putEntry(e);
    w.closeEntry();
    w.finish();
    assertRefused(out.toByteArray(), "refusing tar entry '/tmp/evil': absolute path");
  }

  @Test
  void extract_fileThroughSymlink_isRefused() throws IOException {
    Files.createDirectories(tmp.resolve("outside"));
    byte[] tar = new TarFixtures.Builder()
        .symlink("./lnk", tmp.resolve("outside").toString())
        .file("./lnk/evil", "x")
        .build();
    assertRefused(tar, "refusing tar entry './lnk/evil': it would be written through the symlink 'lnk'");
  }

  @Test
  void extract_symlinkThenSameNameFile_replacesLinkNotTarget() throws IOException {
    Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(tmp.resolve("outside/victim"), "keep me");
    byte[] tar = new TarFixtures.Builder()
        .symlink("./x", tmp.resolve("outside/victim").toString())
        .file("./x", "new")
        .build();
    Path dst = Files.createDirectory(tmp.resolve("dst"));
    VolumeArchive.extract(new ByteArrayInputStream(tar), dst);
    assertThat(Files.readString(tmp.resolve("outside/victim"))).isEqualTo("keep me");
    assertThat(Files.readString(dst.resolve("x"))).isEqualTo("new");
  }

  @Test
  void extract_hardLinkOutside_isRefused() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    TarWriter w = new TarWriter(out);
    TarEntry e = new TarEntry();
    e.name = "./h";
    e.type = TarEntry.HARDLINK;
    e.linkName = "../outside/secret";
    w.putEntry(e);
    w.finish();
    assertRefused(out.toByteArray(), "refusing tar entry './h': path '../outside/secret' contains '..'");
  }

  @Test
  void extract_notATar_failsClearly() throws IOException {
    Path dst = Files.createDirectory(tmp.resolve("dst"));
    assertThatThrownBy(() -> VolumeArchive.extract(new ByteArrayInputStream(bytes(2048, 5)), dst))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("not a tar stream");
  }

  @Test
  void extract_leavesInputOpen() throws IOException {
    Path src = Files.createDirectory(tmp.resolve("src"));
    Files.writeString(src.resolve("f"), "x");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    VolumeArchive.write(src, Set.of(), out);
    TarFixtures.CloseTracking in = new TarFixtures.CloseTracking(new ByteArrayInputStream(out.toByteArray()));
    VolumeArchive.extract(in, Files.createDirectory(tmp.resolve("dst")));
    assertThat(in.closed).isFalse();
  }

  // ---- rebase ----

  /** An archive-API style tar of a mount at /data: entries "data/", "data/x", ... with one nested mount. */
  private static byte[] apiTar() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    TarWriter w = new TarWriter(out);
    put(w, "data/", TarEntry.DIR, 0755, 0, 0, 1_700_000_000L, 0, "", null);
    put(w, "data/x", TarEntry.FILE, 04750, 1000, 1001, 1_700_000_001L, 0, "", "content x");
    put(w, "data/h", TarEntry.HARDLINK, 04750, 1000, 1001, 1_700_000_001L, 0, "data/x", null);
    put(w, "data/mnt/", TarEntry.DIR, 0700, 0, 0, 1_700_000_002L, 0, "", null);
    put(w, "data/mnt/other", TarEntry.FILE, 0600, 0, 0, 1_700_000_003L, 0, "", "nested volume");
    put(w, "data/s", TarEntry.SYMLINK, 0777, 5, 6, 1_700_000_004L, 0, "/abs/target", null);
    TarEntry cap = entry("data/sub/", TarEntry.DIR, 02770, 7, 8, 1_700_000_005L, 0, "");
    put(w, "data/sub/", TarEntry.DIR, 02770, 7, 8, 1_700_000_005L, 0, "", null);
    cap.name = "data/sub/cap";
    cap.type = TarEntry.FILE;
    cap.mode = 0755;
    cap.xattrs.put("security.capability", capability());
    byte[] c = "bin".getBytes(StandardCharsets.UTF_8);
    cap.size = c.length;
    w.putEntry(cap);
    w.write(c, 0, c.length);
    w.closeEntry();
    w.finish();
    return out.toByteArray();
  }

  private static TarEntry entry(String name, byte type, int mode, long uid, long gid, long s, int ns,
      String link) {
    TarEntry e = new TarEntry();
    e.name = name;
    e.type = type;
    e.mode = mode;
    e.uid = uid;
    e.gid = gid;
    e.mtimeSeconds = s;
    e.mtimeNanos = ns;
    e.linkName = link;
    return e;
  }

  private static void put(TarWriter w, String name, byte type, int mode, long uid, long gid, long s, int ns,
      String link, String content) throws IOException {
    TarEntry e = entry(name, type, mode, uid, gid, s, ns, link);
    byte[] c = content == null ? new byte[0] : content.getBytes(StandardCharsets.UTF_8);
    e.size = c.length;
    w.putEntry(e);
    if (content != null) {
      w.write(c, 0, c.length);
      w.closeEntry();
    }
  }

  @Test
  void rebase_apiTar_isVolumeRelativeWithoutExcludedMountAndKeepsHeaders() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    VolumeArchive.Stats s = VolumeArchive.rebase(new ByteArrayInputStream(apiTar()), "data", Set.of("mnt"), out);
    assertThat(s.entries()).isEqualTo(6);
    TarReader r = new TarReader(new ByteArrayInputStream(out.toByteArray()));
    Map<String, TarEntry> entries = new java.util.LinkedHashMap<>();
    TarEntry e;
    while ((e = r.next()) != null) {
      entries.put(e.name, e);
    }
    assertThat(entries.keySet()).containsExactly("./", "./x", "./h", "./s", "./sub/", "./sub/cap");
    assertThat(entries.get("./h").type).isEqualTo(TarEntry.HARDLINK);
    assertThat(entries.get("./h").linkName).isEqualTo("./x");
    assertThat(entries.get("./s").linkName).isEqualTo("/abs/target");
    assertThat(entries.get("./x").mode).isEqualTo(04750);
    assertThat(entries.get("./x").uid).isEqualTo(1000);
    assertThat(entries.get("./x").gid).isEqualTo(1001);
    assertThat(entries.get("./x").mtimeSeconds).isEqualTo(1_700_000_001L);
    assertThat(entries.get("./sub/").mode).isEqualTo(02770);
    assertThat(entries.get("./sub/cap").xattrs.get("security.capability")).isEqualTo(capability());

    // and it extracts like any volume archive
    Path dst = Files.createDirectory(tmp.resolve("dst"));
    VolumeArchive.extract(new ByteArrayInputStream(out.toByteArray()), dst);
    assertThat(Files.readString(dst.resolve("x"))).isEqualTo("content x");
    assertThat(Posix.lstat(dst.resolve("h").toString()).ino()).isEqualTo(Posix.lstat(dst.resolve("x").toString()).ino());
    assertThat(Posix.lstat(dst.resolve("x").toString()).mode() & 07777).isEqualTo(04750);
    assertThat(Posix.getXattr(dst.resolve("sub/cap").toString(), "security.capability")).isEqualTo(capability());
    assertThat(Files.exists(dst.resolve("mnt"))).isFalse();
  }

  @Test
  void nest_thenRebase_givesTheSameBytes() throws IOException {
    // What write() produces, nested as the archive API names it, rebases back to the same bytes.
    Path src = Files.createDirectory(tmp.resolve("src"));
    buildTree(src);
    ByteArrayOutputStream direct = new ByteArrayOutputStream();
    VolumeArchive.write(src, Set.of(), direct);
    ByteArrayOutputStream api = new ByteArrayOutputStream();
    VolumeArchive.nest(new ByteArrayInputStream(direct.toByteArray()), "vol", api);
    TarReader r = new TarReader(new ByteArrayInputStream(api.toByteArray()));
    TarEntry e;
    while ((e = r.next()) != null) {
      assertThat(e.name).startsWith("vol/");
      if (e.type == TarEntry.HARDLINK) {
        assertThat(e.linkName).startsWith("vol/");
      }
    }
    ByteArrayOutputStream rebased = new ByteArrayOutputStream();
    VolumeArchive.rebase(new ByteArrayInputStream(api.toByteArray()), "vol", Set.of(), rebased);
    assertThat(Digest.of(rebased.toByteArray())).isEqualTo(Digest.of(direct.toByteArray()));
  }

  @Test
  void rebase_entryOutsideTop_failsNamingIt() {
    byte[] tar = new TarFixtures.Builder().file("data/x", "1").file("other/y", "2").build();
    assertThatThrownBy(() -> VolumeArchive.rebase(new ByteArrayInputStream(tar), "data", Set.of(),
        OutputStream.nullOutputStream()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("archive entry 'other/y' is not under 'data/'");
  }
}
