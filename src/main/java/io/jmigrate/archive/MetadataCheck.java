package io.jmigrate.archive;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * What a target filesystem kept of a volume's metadata, checked after the volume was filled: owners, modes,
 * xattrs, POSIX ACLs and mtimes (whole seconds, and nanoseconds). Filesystems drop some of these without an error:
 * NFS with root_squash turns every owner into nobody, vfat keeps neither owners nor modes nor xattrs and rounds
 * mtimes to 2 s, ext4 with 128-byte inodes keeps whole seconds only, ramfs and some FUSE filesystems refuse xattrs
 * (and the engine's archive API then skips them silently: moby pkg/archive createTarFile ignores ENOTSUP, and in
 * later versions EPERM, from lsetxattr). The result is one summary line per volume, for a warning or, with
 * --strict-metadata, a failure.
 *
 * <p>Filled by {@link VolumeArchive#extract} (every entry, read back with lstat and the xattr calls: the direct
 * writer) or by {@link #verify} over a {@link Sample} read back through the engine's archive API (a bounded
 * sample; that API shows owners, modes, whole-second mtimes and security.capability only, so what it cannot show
 * is reported as not checked, never as kept). Memory is bounded: counters and one example per kind.
 */
public final class MetadataCheck {
  /** A kind of metadata a filesystem may drop. */
  public enum Kind {
    OWNERS("owners"),
    MODES("modes"),
    XATTRS("xattrs"),
    ACLS("ACLs"),
    MTIMES("mtimes"),
    NS_MTIMES("ns mtimes");

    private final String label;

    Kind(String label) {
      this.label = label;
    }

    /** How the summary line names it, e.g. "ns mtimes". */
    public String label() {
      return label;
    }
  }

  /** The sample size read back through the archive API: each entry costs one request. */
  public static final int API_SAMPLE = 64;
  /** Files larger than this are not sampled through the archive API, which returns their content too. */
  static final long API_SAMPLE_MAX_FILE = 1 << 20;
  private static final int KINDS = Kind.values().length;

  private final long[] lost = new long[KINDS];
  private final String[] example = new String[KINDS];
  private final long[] unchecked = new long[KINDS];
  private String uncheckedReason;
  private long unreadable;
  private String unreadableReason;
  private long checked;
  private long entries;

  /** An empty check: nothing seen yet. */
  public MetadataCheck() {}

  /** Entries checked against what the filesystem holds. */
  public long checked() {
    return checked;
  }

  /** Entries in the volume (hard links not counted); more than {@link #checked} when a sample was checked. */
  public long entries() {
    return entries;
  }

  /** Checked entries that lost this kind of metadata. */
  public long lost(Kind kind) {
    return lost[kind.ordinal()];
  }

  /** Entries that carry this kind of metadata but could not be read back. */
  public long unchecked(Kind kind) {
    return unchecked[kind.ordinal()];
  }

  /** Sampled entries that could not be read back at all. */
  public long unreadable() {
    return unreadable;
  }

  /** True when any checked entry lost any metadata. */
  public boolean lossy() {
    return Arrays.stream(lost).anyMatch(n -> n > 0);
  }

  /** True when some metadata could not be read back, so it is neither known kept nor known lost. */
  public boolean incomplete() {
    return unreadable > 0 || Arrays.stream(unchecked).anyMatch(n -> n > 0);
  }

  /**
   * One line for {@code what} (e.g. "volume data"): the losses by kind with the number of entries checked and an
   * example each for the first kinds, then what could not be checked and why; null when every checked entry kept
   * everything and nothing was left unchecked.
   */
  public String summary(String what) {
    if (!lossy() && !incomplete()) {
      return null;
    }
    String of = "the " + checked + (checked == entries ? " entries" : " entries sampled (of " + entries + ")")
        + " checked";
    StringBuilder sb = new StringBuilder(what).append(": ");
    if (lossy()) {
      List<String> parts = new ArrayList<>();
      List<String> examples = new ArrayList<>();
      for (Kind k : Kind.values()) {
        if (lost[k.ordinal()] > 0) {
          parts.add(k.label() + " on " + lost[k.ordinal()]);
          if (examples.size() < 3 && example[k.ordinal()] != null) {
            examples.add(example[k.ordinal()]);
          }
        }
      }
      sb.append("the target filesystem dropped ").append(join(parts)).append(" of ").append(of);
      if (!examples.isEmpty()) {
        sb.append(" (").append(String.join("; ", examples)).append(')');
      }
    } else {
      sb.append("owners, modes and whole-second mtimes of ").append(of).append(" were kept");
    }
    List<String> parts = new ArrayList<>();
    for (Kind k : Kind.values()) {
      if (unchecked[k.ordinal()] > 0) {
        parts.add(k.label() + " on " + unchecked[k.ordinal()]);
      }
    }
    if (!parts.isEmpty()) {
      sb.append("; ").append(join(parts)).append(" entries could not be checked (").append(uncheckedReason)
          .append(')');
    }
    if (unreadable > 0) {
      sb.append("; ").append(unreadable).append(unreadable == 1 ? " sampled entry" : " sampled entries")
          .append(" could not be read back (").append(unreadableReason).append(')');
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    String s = summary("volume");
    return s == null ? "volume: metadata of " + checked + " entries checked, all kept" : s;
  }

  private static String join(List<String> parts) {
    if (parts.size() <= 1) {
      return String.join("", parts);
    }
    return String.join(", ", parts.subList(0, parts.size() - 1)) + " and " + parts.get(parts.size() - 1);
  }

  // ---- recording

  void entry() {
    entries++;
  }

  /** One entry was checked; {@code losses} maps each kind it lost to a short description (may be empty). */
  void checked(Map<Kind, String> losses) {
    checked++;
    for (Map.Entry<Kind, String> l : losses.entrySet()) {
      int k = l.getKey().ordinal();
      lost[k]++;
      if (example[k] == null) {
        example[k] = l.getValue();
      }
    }
  }

  void unchecked(Kind kind, String reason) {
    unchecked[kind.ordinal()]++;
    if (uncheckedReason == null) {
      uncheckedReason = reason;
    }
  }

  static boolean isAcl(String xattr) {
    return xattr.startsWith("system.posix_acl_");
  }

  static String owner(long uid, long gid) {
    return uid + ":" + gid;
  }

  static String mode(int mode) {
    return String.format("%04o", mode & 07777);
  }

  // ---- the archive API path

  /**
   * The entries of a volume tar as it goes to the engine, for a later check through the archive API: the volume
   * root and a uniform sample (reservoir, fixed seed) of up to {@link #API_SAMPLE} other entries, leaving out hard
   * links and files over 1 MiB. Every entry is counted, and what the archive API cannot show (xattrs other than
   * security.capability, ACLs, sub-second mtimes) is counted as not checked.
   */
  public static final class Sample {
    private final MetadataCheck check = new MetadataCheck();
    private final List<TarEntry> picked = new ArrayList<>();
    private final Random random = new Random(0x6a6d6967L);
    private TarEntry root;
    private long eligible;

    /** Called by {@link VolumeArchive#nest} for each entry, with its name in the nested form ("dir/a/b"). */
    void offer(TarEntry e) {
      if (e.type == TarEntry.HARDLINK) {
        return;
      }
      check.entry();
      for (String x : e.xattrs.keySet()) {
        if (isAcl(x)) {
          check.unchecked(Kind.ACLS, API_REASON);
          break;
        }
      }
      if (e.xattrs.keySet().stream().anyMatch(x -> !isAcl(x) && !x.equals(CAPABILITY))) {
        check.unchecked(Kind.XATTRS, API_REASON);
      }
      if (e.mtimeNanos != 0) {
        check.unchecked(Kind.NS_MTIMES, API_REASON);
      }
      TarEntry copy = copyOf(e);
      if (root == null && e.isDirectory() && e.name.indexOf('/') == e.name.length() - 1) {
        root = copy;
        return;
      }
      if (e.type == TarEntry.FILE && e.size > API_SAMPLE_MAX_FILE) {
        return;
      }
      eligible++;
      if (picked.size() < API_SAMPLE) {
        picked.add(copy);
      } else {
        long j = (long) (random.nextDouble() * eligible);
        if (j < API_SAMPLE) {
          picked.set((int) j, copy);
        }
      }
    }

    private static TarEntry copyOf(TarEntry e) {
      TarEntry c = new TarEntry();
      c.name = e.name;
      c.type = e.type;
      c.mode = e.mode;
      c.uid = e.uid;
      c.gid = e.gid;
      c.size = e.size;
      c.mtimeSeconds = e.mtimeSeconds;
      c.mtimeNanos = e.mtimeNanos;
      byte[] cap = e.xattrs.get(CAPABILITY);
      if (cap != null) {
        c.xattrs.put(CAPABILITY, cap);
      }
      return c;
    }

    /** The names (nested form, directories without their trailing slash) of the entries to read back. */
    public List<String> names() {
      List<String> out = new ArrayList<>();
      if (root != null) {
        out.add(trim(root.name));
      }
      picked.forEach(e -> out.add(trim(e.name)));
      return out;
    }

    private static String trim(String name) {
      return name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
    }
  }

  private static final String CAPABILITY = "security.capability";
  private static final String API_REASON = "the engine's archive API does not return them; write volumes directly,"
      + " as root on the target host, to check them";

  /** Reads one path back from the target: the engine's archive tar of it, whose first entry is that path. */
  @FunctionalInterface
  public interface Fetcher {
    /** The caller closes the stream, possibly before its end. */
    InputStream open(String name) throws IOException;
  }

  /**
   * Reads each sampled entry back through {@code fetch} and compares what the archive API shows: type, owner, mode
   * and whole-second mtime, and security.capability. An entry that cannot be read back is counted as not
   * checked, with the reason. Returns the check for the volume.
   */
  public static MetadataCheck verify(Sample sample, Fetcher fetch) {
    MetadataCheck check = sample.check;
    List<TarEntry> all = new ArrayList<>();
    if (sample.root != null) {
      all.add(sample.root);
    }
    all.addAll(sample.picked);
    for (TarEntry want : all) {
      String name = Sample.trim(want.name);
      TarEntry got;
      try (InputStream in = fetch.open(name)) {
        got = new TarReader(in).next();
      } catch (IOException | RuntimeException e) {
        check.uncheckedEntry("reading " + name + " back failed: " + e.getMessage());
        continue;
      }
      if (got == null) {
        check.uncheckedEntry("the archive API returned nothing for " + name);
        continue;
      }
      Map<Kind, String> losses = new EnumMap<>(Kind.class);
      String shown = "./" + (name.indexOf('/') < 0 ? "" : name.substring(name.indexOf('/') + 1));
      if (got.type != want.type) {
        check.uncheckedEntry(shown + " came back as another file type");
        continue;
      }
      if (got.uid != want.uid || got.gid != want.gid) {
        losses.put(Kind.OWNERS, shown + ": owner " + owner(want.uid, want.gid) + " is " + owner(got.uid, got.gid)
            + " there");
      }
      if (want.type != TarEntry.SYMLINK && (got.mode & 07777) != (want.mode & 07777)) {
        losses.put(Kind.MODES, shown + ": mode " + mode(want.mode) + " is " + mode(got.mode) + " there");
      }
      if (got.mtimeSeconds != want.mtimeSeconds) {
        losses.put(Kind.MTIMES, shown + ": mtime " + want.mtimeSeconds + " s is " + got.mtimeSeconds + " s there");
      }
      byte[] cap = want.xattrs.get(CAPABILITY);
      if (cap != null && !Arrays.equals(cap, got.xattrs.get(CAPABILITY))) {
        losses.put(Kind.XATTRS, shown + ": xattr " + CAPABILITY + " is missing there");
      }
      check.checked(losses);
    }
    return check;
  }

  /** An entry that was to be checked but could not be read back: neither counted as kept nor as lost. */
  private void uncheckedEntry(String reason) {
    unreadable++;
    if (unreadableReason == null) {
      unreadableReason = reason;
    }
  }
}
