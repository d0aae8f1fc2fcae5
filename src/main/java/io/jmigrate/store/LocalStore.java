package io.jmigrate.store;

import io.jmigrate.archive.Compression;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestingInputStream;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A repository in a local directory, laid out as an OCI image layout (docs/repository-format.md) so that OCI
 * tools can read it: {@code oci-layout}, {@code index.json}, {@code blobs/sha256/<hex>}, plus jmigrate's
 * {@code tags/}, {@code aliases/}, {@code tmp/} and {@code locks/}.
 *
 * <p>Every write goes to a temp file in {@code tmp/} (same filesystem), is fsynced, then renamed into place, and
 * the directory is fsynced: a reader sees a whole file or none, and a blob is durable before the tag that
 * references it. The repository is created on the first write; directories are 0700 and files 0600 whatever
 * the umask, since snapshots hold the containers' environment, secrets included.
 */
public final class LocalStore implements Store {
  private static final Logger LOG = LoggerFactory.getLogger(LocalStore.class);

  static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
  static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
  private static final FileAttribute<Set<PosixFilePermission>> FILE_ATTR =
      PosixFilePermissions.asFileAttribute(FILE_MODE);
  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");
  /** Alias keys share the tag grammar, which also keeps them from escaping aliases/ ('/' is not allowed). */
  private static final Pattern KEY = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
  /** Registries cap manifests at 4 MiB (distribution's default); anything larger is not a manifest. */
  static final int MAX_MANIFEST = 4 << 20;
  private static final byte[] OCI_LAYOUT = "{\"imageLayoutVersion\":\"1.0.0\"}".getBytes(StandardCharsets.UTF_8);
  /** Serialises index.json rewrites within this JVM; the file lock on locks/index.lock does it across processes. */
  private static final Map<Path, ReentrantLock> INDEX_LOCKS = new ConcurrentHashMap<>();
  /**
   * A staged blob asks the kernel to write back what it holds every this many bytes, on {@link #WRITEBACK}: with
   * the default dirty-page thresholds (a share of RAM) the kernel would otherwise start only at commit's fsync, and
   * the backup would wait for all of the blob's data to reach the disk at once.
   */
  private static final long WRITEBACK_EVERY = 32L << 20;
  private static final ExecutorService WRITEBACK =
      Executors.newCachedThreadPool(DaemonThreads.named("jmigrate-writeback"));

  private final Path root;
  private final Path blobs;
  private final Path tags;
  private final Path aliases;
  private final Path tmp;
  private final Path locks;
  private final StoreOptions options;
  private volatile boolean layoutReady;

  /** What {@link #ensureLayout} creates at the top of a repository, before and after oci-layout. */
  private static final Set<String> LAYOUT_NAMES = Set.of("tmp", "blobs", "tags", "aliases", "locks", "index.json");

  private LocalStore(Path root, StoreOptions options) {
    this.root = root;
    this.blobs = root.resolve("blobs").resolve("sha256");
    this.tags = root.resolve("tags");
    this.aliases = root.resolve("aliases");
    this.tmp = root.resolve("tmp");
    this.locks = root.resolve("locks");
    this.options = options;
  }

  /**
   * Opens the repository at {@code dir}, which need not exist yet (it is created on the first write). Refuses
   * a non-empty directory that is not a repository, so that a mistyped {@code --repo} never fills, say, a
   * home directory with blobs.
   */
  public static LocalStore open(Path dir, StoreOptions options) throws StoreException {
    Path root = dir.toAbsolutePath().normalize();
    if (Files.exists(root) && !Files.isDirectory(root)) {
      throw new StoreException(StoreException.Kind.INVALID,
          "repository path " + root + " is not a directory; choose a directory for --repo");
    }
    if (Files.isDirectory(root) && !Files.exists(root.resolve("oci-layout"))) {
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
        // Only our own layout's names: another process is creating this repository right now (ensureLayout makes
        // tmp/ before it can write oci-layout atomically through it). Eight runs starting at once on a new
        // repository saw that half-made layout and one refused it.
        boolean foreign = false;
        for (Path e : entries) {
          foreign |= !LAYOUT_NAMES.contains(e.getFileName().toString());
        }
        if (foreign) {
          throw new StoreException(StoreException.Kind.INVALID,
              "directory " + root + " is not a jmigrate repository (it is not empty and has no oci-layout file);"
                  + " choose a new or empty directory for --repo");
        }
      } catch (AccessDeniedException e) {
        throw new StoreException(StoreException.Kind.UNAVAILABLE, "cannot read repository at " + root
            + ": permission denied; choose a readable --repo or fix its permissions", e);
      } catch (IOException e) {
        throw new StoreException(StoreException.Kind.UNAVAILABLE,
            "cannot read repository at " + root + ": " + reason(e), e);
      }
    }
    return new LocalStore(root, options == null ? StoreOptions.defaults() : options);
  }

  /** The repository directory. */
  public Path root() {
    return root;
  }

  StoreOptions options() {
    return options;
  }

  @Override
  public String location() {
    return "file:" + root;
  }

  @Override
  public boolean exists() {
    // An empty directory is an empty repository: open() accepts it, and the first write lays it out.
    return Files.isDirectory(root);
  }

  @Override
  public Compression compression(ContentKind kind) {
    return Compression.ZSTD;
  }

  // ---------------------------------------------------------------------------------------------------- blobs

  Path blobPath(Digest digest) {
    return blobs.resolve(digest.hex());
  }

  @Override
  public boolean hasBlob(Digest digest) {
    return Files.isRegularFile(blobPath(digest), LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public BlobUpload startUpload() throws StoreException {
    ensureLayout();
    // Registered before the temp file exists, and refused once a stop began: no temp file appears after the
    // stop's abort (see Staging).
    Staging.Token staged = Staging.upload("stage a blob in " + root);
    Path temp = null;
    try {
      temp = newTemp("blob");
      FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE);
      LocalUpload up = new LocalUpload(temp, channel, staged);
      staged.onStop(up::abort);
      return up;
    } catch (IOException e) {
      deleteQuietly(temp);
      staged.close();
      throw failure("stage a blob", e);
    } catch (RuntimeException e) {
      deleteQuietly(temp);
      staged.close();
      throw e;
    }
  }

  @Override
  public Descriptor putBlob(String mediaType, byte[] content) throws StoreException {
    Descriptor d = Descriptor.of(mediaType, Digest.of(content), content.length);
    ensureLayout();
    Path target = blobPath(d.digest());
    if (Files.exists(target)) {
      LOG.debug("blob {} already stored, skipped", d.digest());
      return d;
    }
    writeAtomic(target, content, "blob " + d.digest());
    return d;
  }

  @Override
  public InputStream openBlob(Digest digest, long size, String context) throws StoreException {
    String what = (context == null || context.isBlank() ? "blob " + digest : context + " (blob " + digest + ")")
        + " in " + location();
    try {
      InputStream in = Files.newInputStream(blobPath(digest));
      return new DigestingInputStream(new BufferedInputStream(in, 1 << 16), digest, size, what);
    } catch (NoSuchFileException e) {
      throw new StoreException(StoreException.Kind.NOT_FOUND, what + " is missing; the repository is incomplete"
          + " (run jmigrate verify)", e);
    } catch (IOException e) {
      throw failure("read " + what, e);
    }
  }

  @Override
  public void deleteBlob(Digest digest) throws StoreException {
    try {
      Files.deleteIfExists(blobPath(digest));
    } catch (IOException e) {
      throw failure("delete blob " + digest, e);
    }
  }

  @Override
  public List<BlobInfo> listBlobs() throws StoreException {
    List<BlobInfo> out = new ArrayList<>();
    if (!Files.isDirectory(blobs)) {
      return out;
    }
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(blobs)) {
      for (Path p : dir) {
        String name = p.getFileName().toString();
        if (!HEX.matcher(name).matches()) {
          continue;
        }
        try {
          BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
          if (a.isRegularFile()) {
            out.add(BlobInfo.of(Digest.ofHex(name), a.size(), a.lastModifiedTime().toInstant()));
          }
        } catch (NoSuchFileException gone) {
          // deleted while listing
        }
      }
    } catch (IOException e) {
      throw failure("list blobs", e);
    }
    out.sort(Comparator.comparing(BlobInfo::digest));
    return out;
  }

  // ------------------------------------------------------------------------------------------------ manifests

  @Override
  public void putManifest(Descriptor descriptor, byte[] content) throws StoreException {
    checkManifest(descriptor, content);
    ensureLayout();
    Path target = blobPath(descriptor.digest());
    if (Files.exists(target)) {
      LOG.debug("manifest {} already stored, skipped", descriptor.digest());
      return;
    }
    writeAtomic(target, content, "manifest " + descriptor.digest());
  }

  static void checkManifest(Descriptor descriptor, byte[] content) {
    Digest actual = Digest.of(content);
    if (!actual.equals(descriptor.digest()) || content.length != descriptor.size()) {
      throw new IllegalArgumentException("manifest content is " + actual + " (" + content.length
          + " bytes) but its descriptor says " + descriptor.digest() + " (" + descriptor.size() + " bytes)");
    }
  }

  @Override
  public byte[] getManifest(Digest digest) throws StoreException {
    Path p = blobPath(digest);
    byte[] content;
    try {
      long size = Files.size(p);
      if (size > MAX_MANIFEST) {
        throw new StoreException(StoreException.Kind.INVALID, digest + " in " + location() + " is " + size
            + " bytes: not a manifest (manifests are at most " + MAX_MANIFEST + " bytes)");
      }
      content = Files.readAllBytes(p);
    } catch (NoSuchFileException e) {
      throw new StoreException(StoreException.Kind.NOT_FOUND,
          "manifest " + digest + " is missing from " + location(), e);
    } catch (IOException e) {
      throw failure("read manifest " + digest, e);
    }
    Digest actual = Digest.of(content);
    if (!actual.equals(digest)) {
      throw new StoreException(StoreException.Kind.CORRUPT, "manifest " + digest + " in " + location()
          + " is corrupt: its content has digest " + actual + "; restore the repository from a copy");
    }
    return content;
  }

  // ----------------------------------------------------------------------------------------------------- tags

  @Override
  public void putTag(Tag tag) throws StoreException {
    if (!hasBlob(tag.target().digest())) {
      throw S3Store.untaggable(tag, location());
    }
    ensureLayout();
    byte[] json = StoreJson.write(tag.target());
    withIndexLock("publish tag " + tag.name(), () -> {
      writeAtomic(tags.resolve(tag.name()), json, "tag " + tag.name());
      writeIndex();
    });
  }

  @Override
  public boolean putTagIfAbsent(Tag tag) throws StoreException {
    if (!hasBlob(tag.target().digest())) {
      throw S3Store.untaggable(tag, location());
    }
    ensureLayout();
    byte[] json = StoreJson.write(tag.target());
    boolean[] written = {false};
    // The index lock is a file lock every jmigrate process on this repository takes: checking and writing under
    // it is atomic against other processes and hosts sharing the directory (NFS locks permitting).
    withIndexLock("publish tag " + tag.name(), () -> {
      if (Files.exists(tags.resolve(tag.name()), LinkOption.NOFOLLOW_LINKS)) {
        return;
      }
      writeAtomic(tags.resolve(tag.name()), json, "tag " + tag.name());
      writeIndex();
      written[0] = true;
    });
    return written[0];
  }

  @Override
  public List<Tag> listTags() throws StoreException {
    TagListing l = tagListing();
    for (TagListing.Unreadable u : l.unreadable()) {
      // A damaged tag must not hide every other snapshot: skip it, loudly.
      LOG.warn("ignoring tag {} in {}: {}", u.name(), location(), u.problem());
    }
    return l.tags();
  }

  @Override
  public TagListing tagListing() throws StoreException {
    return tagListing("");
  }

  @Override
  public TagListing tagListing(String prefix) throws StoreException {
    List<Tag> out = new ArrayList<>();
    List<TagListing.Unreadable> bad = new ArrayList<>();
    if (!Files.isDirectory(tags)) {
      return new TagListing(out, bad);
    }
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(tags)) {
      for (Path p : dir) {
        String name = p.getFileName().toString();
        if (!KEY.matcher(name).matches() || !name.startsWith(prefix)) {
          continue;
        }
        try {
          readTag(name).ifPresent(out::add);
        } catch (UnreadableTag e) {
          bad.add(new TagListing.Unreadable(name, e.getMessage()));
        }
      }
    } catch (IOException e) {
      throw failure("list tags", e);
    }
    out.sort(Comparator.comparing(Tag::name));
    bad.sort(Comparator.comparing(TagListing.Unreadable::name));
    return new TagListing(out, bad);
  }

  @Override
  public Optional<Tag> getTag(String name) throws StoreException {
    Tag.checkName(name);
    try {
      return readTag(name);
    } catch (UnreadableTag e) {
      LOG.warn("ignoring tag {} in {}: {}", name, location(), e.getMessage());
      return Optional.empty();
    }
  }

  /** A tag file whose content is not a descriptor. */
  private static final class UnreadableTag extends Exception {
    private static final long serialVersionUID = 1L;

    UnreadableTag(String problem) {
      super(problem, null, false, false);
    }
  }

  private Optional<Tag> readTag(String name) throws StoreException, UnreadableTag {
    Path p = tags.resolve(name);
    try {
      return Optional.of(Tag.of(name, StoreJson.descriptor(Files.readAllBytes(p))));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException | IllegalArgumentException e) {
      if (e instanceof IOException && !(e instanceof com.fasterxml.jackson.core.JsonProcessingException)) {
        throw failure("read tag " + name, (IOException) e);
      }
      throw new UnreadableTag(TagListing.problem(e));
    }
  }

  @Override
  public void deleteTag(String name) throws StoreException {
    Tag.checkName(name);
    if (!Files.isDirectory(tags)) {
      return;
    }
    ensureLayout();
    withIndexLock("delete tag " + name, () -> {
      try {
        Files.deleteIfExists(tags.resolve(name));
      } catch (IOException e) {
        throw failure("delete tag " + name, e);
      }
      fsyncDir(tags);
      writeIndex();
    });
  }

  /** Rewrites index.json from tags/; called with the index lock held. */
  private void writeIndex() throws StoreException {
    writeAtomic(root.resolve("index.json"), StoreJson.layoutIndex(listTags()), "index.json");
  }

  private interface StoreAction {
    void run() throws StoreException;
  }

  private void withIndexLock(String action, StoreAction body) throws StoreException {
    Path key;
    try {
      // The real path: two handles on one repository through a symlink must share the lock, or the second
      // FileChannel.lock in this JVM throws OverlappingFileLockException.
      key = locks.toRealPath();
    } catch (IOException e) {
      throw failure(action, e);
    }
    ReentrantLock inProcess = INDEX_LOCKS.computeIfAbsent(key, r -> new ReentrantLock());
    inProcess.lock();
    // One staged write: a stop waits for the tag and the index.json rebuilt after it, rather than refusing the
    // second half.
    try (Staging.Token staged = Staging.write(action + " in " + root);
        FileChannel ch = openLockFile(locks.resolve("index.lock"))) {
      // Held for a few file writes only, so a blocking lock is right here.
      java.nio.channels.FileLock fileLock = ch.lock();
      try {
        body.run();
      } finally {
        fileLock.release();
      }
    } catch (IOException e) {
      throw failure(action, e);
    } finally {
      inProcess.unlock();
    }
  }

  FileChannel openLockFile(Path file) throws IOException {
    FileChannel ch;
    try {
      ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
          StandardOpenOption.WRITE), FILE_ATTR);
      Files.setPosixFilePermissions(file, FILE_MODE);
    } catch (FileAlreadyExistsException e) {
      ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }
    return ch;
  }

  // -------------------------------------------------------------------------------------------------- aliases

  @Override
  public Optional<Descriptor> getAlias(String key) throws StoreException {
    checkKey(key);
    try {
      return Optional.of(StoreJson.descriptor(Files.readAllBytes(aliases.resolve(key))));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (com.fasterxml.jackson.core.JsonProcessingException | IllegalArgumentException e) {
      // Aliases are hints: a damaged one only costs a recompression.
      LOG.warn("ignoring alias {} in {}: not a valid descriptor ({})", key, location(), e.getMessage());
      return Optional.empty();
    } catch (IOException e) {
      throw failure("read alias " + key, e);
    }
  }

  @Override
  public void putAlias(String key, Descriptor target) throws StoreException {
    checkKey(key);
    ensureLayout();
    writeAtomic(aliases.resolve(key), StoreJson.write(target), "alias " + key);
  }

  static String checkKey(String key) {
    if (key == null || !KEY.matcher(key).matches()) {
      throw new IllegalArgumentException(
          "not a valid alias key: '" + key + "' (letters, digits, '_', '.', '-'; at most 128)");
    }
    return key;
  }

  // ---------------------------------------------------------------------------------------------------- locks

  @Override
  public StoreLock lock(LockMode mode, String purpose, Duration wait) throws StoreException {
    ensureLayout();
    return LocalLocks.acquire(this, locks, mode, purpose, wait == null ? Duration.ZERO : wait);
  }

  // -------------------------------------------------------------------------------------------------- staging

  /**
   * Removes staged temp files older than {@code olderThan} that a killed process left in {@code tmp/}; a
   * running write keeps touching its file, so it is never that old. Returns how many were removed.
   */
  @Override
  public int cleanStaging(Duration olderThan) throws StoreException {
    if (!Files.isDirectory(tmp)) {
      return 0;
    }
    Instant cutoff = Instant.now().minus(olderThan);
    int removed = 0;
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(tmp)) {
      for (Path p : dir) {
        try {
          BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
          if (a.lastModifiedTime().toInstant().isBefore(cutoff)) {
            Files.deleteIfExists(p);
            removed++;
            LOG.info("removed stale staging file {} ({} bytes, left by an interrupted write)", p, a.size());
          }
        } catch (NoSuchFileException gone) {
          // finished meanwhile
        }
      }
    } catch (IOException e) {
      throw failure("clean staging area", e);
    }
    return removed;
  }

  /** Names of the files in {@code tmp/}: writes in progress or left behind. */
  public List<String> stagingFiles() throws StoreException {
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(tmp)) {
      return out;
    }
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(tmp)) {
      for (Path p : dir) {
        out.add(p.getFileName().toString());
      }
    } catch (IOException e) {
      throw failure("list staging area", e);
    }
    out.sort(null);
    return out;
  }

  @Override
  public void close() {
    // Nothing is held open between calls.
  }

  @Override
  public String toString() {
    return location();
  }

  // ------------------------------------------------------------------------------------------- file plumbing

  /** Creates the layout on the first write; cheap afterwards. */
  void ensureLayout() throws StoreException {
    if (layoutReady) {
      return;
    }
    synchronized (this) {
      if (layoutReady) {
        return;
      }
      try {
        Path parent = root.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
          Files.createDirectories(parent);
        }
        createDir(root);
        createDir(tmp);
        if (!Files.exists(root.resolve("oci-layout"))) {
          writeAtomic(root.resolve("oci-layout"), OCI_LAYOUT, "oci-layout");
        }
        createDir(root.resolve("blobs"));
        createDir(blobs);
        createDir(tags);
        createDir(aliases);
        createDir(locks);
      } catch (IOException e) {
        throw createFailure(e);
      } catch (StoreException e) {
        throw e.getCause() instanceof IOException ? createFailure((IOException) e.getCause()) : e;
      }
      layoutReady = true;
      if (!Files.exists(root.resolve("index.json"))) {
        withIndexLock("write index.json", () -> {
          if (!Files.exists(root.resolve("index.json"))) {
            writeIndex();
          }
        });
      }
    }
  }

  private StoreException createFailure(IOException e) {
    Problem p = Problem.of(e);
    if (p == Problem.PERMISSION) {
      return new StoreException(StoreException.Kind.UNAVAILABLE, "cannot create repository at " + root
          + ": permission denied; choose a writable --repo or fix its permissions", e);
    }
    return failure("create repository", e);
  }

  private static void createDir(Path d) throws IOException {
    try {
      Files.createDirectory(d, PosixFilePermissions.asFileAttribute(DIR_MODE));
      // The umask may have narrowed the mode; 0700 is what we want whatever it is.
      Files.setPosixFilePermissions(d, DIR_MODE);
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(d)) {
        throw e;
      }
    }
  }

  /** A new, empty 0600 file in tmp/. */
  private Path newTemp(String prefix) throws IOException {
    Path p = tmp.resolve(prefix + "-" + UUID.randomUUID() + ".tmp");
    Files.createFile(p, FILE_ATTR);
    Files.setPosixFilePermissions(p, FILE_MODE);
    return p;
  }

  /** Writes {@code content} to a temp file, fsyncs it, renames it onto {@code target} and fsyncs the directory. */
  void writeAtomic(Path target, byte[] content, String what) throws StoreException {
    Path t = null;
    try (Staging.Token staged = Staging.write("write " + what + " in " + root)) {
      t = newTemp("write");
      try (FileChannel ch = FileChannel.open(t, StandardOpenOption.WRITE)) {
        ByteBuffer buf = ByteBuffer.wrap(content);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      // rename(2): atomic, and replaces an existing target.
      Files.move(t, target, StandardCopyOption.ATOMIC_MOVE);
      t = null;
      fsyncDir(target.getParent());
    } catch (IOException e) {
      throw failure("write " + what, e);
    } finally {
      deleteQuietly(t);
    }
  }

  /** Makes a rename durable: without it a crash can lose the directory entry of a blob a tag already names. */
  static void fsyncDir(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      LOG.debug("cannot fsync directory {}: {}", dir, e.toString());
    }
  }

  static void deleteQuietly(Path p) {
    if (p == null) {
      return;
    }
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      LOG.debug("cannot remove {}: {}", p, e.toString());
    }
  }

  /** What went wrong with a file operation, as far as the message needs to know. */
  enum Problem {
    PERMISSION,
    NO_SPACE,
    READ_ONLY,
    OTHER;

    static Problem of(Throwable e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof AccessDeniedException) {
          return PERMISSION;
        }
        String m = String.valueOf(t.getMessage());
        if (m.contains("No space left on device") || m.contains("Disk quota exceeded")) {
          return NO_SPACE;
        }
        if (m.contains("Read-only file system")) {
          return READ_ONLY;
        }
        if (m.contains("Permission denied") || m.contains("Operation not permitted")) {
          return PERMISSION;
        }
        if (t.getCause() == t) {
          break;
        }
      }
      return OTHER;
    }
  }

  /** A file error as a one-line message that names the action, the object and the repository, and what to do. */
  StoreException failure(String action, IOException e) {
    switch (Problem.of(e)) {
      case PERMISSION:
        return new StoreException(StoreException.Kind.UNAVAILABLE, "cannot write repository at " + root
            + ": permission denied; choose a writable --repo or fix its permissions", e);
      case NO_SPACE:
        String object = action.startsWith("write ") ? action.substring("write ".length()) : action;
        return new StoreException(StoreException.Kind.UNAVAILABLE, "no space left on device writing " + object
            + " to " + root + "; free space or use another --repo", e);
      case READ_ONLY:
        return new StoreException(StoreException.Kind.UNAVAILABLE, "cannot write repository at " + root
            + ": read-only file system; choose a writable --repo or remount it read-write", e);
      default:
        return new StoreException(StoreException.Kind.UNAVAILABLE,
            "cannot " + action + " in repository " + root + ": " + reason(e), e);
    }
  }

  static String reason(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file " + e.getMessage();
    }
    String m = e.getMessage();
    return m == null ? e.getClass().getSimpleName() : m;
  }

  // -------------------------------------------------------------------------------------------------- uploads

  /** A blob staged in tmp/ until commit renames it into blobs/sha256/. */
  private final class LocalUpload implements BlobUpload {
    private static final int OPEN = 0;
    private static final int COMMITTING = 1;
    private static final int COMMITTED = 2;
    private static final int ABORTED = 3;

    private final Path temp;
    private final FileChannel channel;
    private final MessageDigest md = Digest.newSha256();
    private final AtomicInteger state = new AtomicInteger(OPEN);
    private final CountDownLatch settled = new CountDownLatch(1);
    private final OutputStream stream;
    private volatile StoreException failure;
    private long count;
    private long unsynced;
    private final AtomicBoolean writingBack = new AtomicBoolean();
    /** Lets a stop (Ctrl-C, SIGTERM) abort this upload, so no temp file outlives the process. */
    private final Staging.Token staged;

    LocalUpload(Path temp, FileChannel channel, Staging.Token staged) {
      this.temp = temp;
      this.channel = channel;
      this.staged = staged;
      this.stream = new BufferedOutputStream(new ChannelSink(), 1 << 16);
    }

    /** Called once the upload is settled (committed or aborted). */
    private void endStaging() {
      staged.close();
    }

    @Override
    public OutputStream stream() {
      return stream;
    }

    /** Hashes and writes to the temp file; turns a failure into the store's message and drops the temp. */
    private final class ChannelSink extends OutputStream {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (state.get() != OPEN && state.get() != COMMITTING) {
          throw new StoreIOException(closedFailure());
        }
        try {
          ByteBuffer buf = ByteBuffer.wrap(b, off, len);
          while (buf.hasRemaining()) {
            channel.write(buf);
          }
        } catch (IOException e) {
          if (state.get() == ABORTED) {
            throw new StoreIOException(closedFailure());
          }
          StoreException f = failure("write a blob", e);
          failure = f;
          // Free the space at once: a full disk must not stay full because of our half-written blob.
          if (state.compareAndSet(OPEN, ABORTED)) {
            settled.countDown();
            endStaging();
          }
          discard();
          throw new StoreIOException(f);
        }
        md.update(b, off, len);
        count += len;
        unsynced += len;
        if (unsynced >= WRITEBACK_EVERY && writingBack.compareAndSet(false, true)) {
          unsynced = 0;
          WRITEBACK.execute(() -> {
            try {
              channel.force(false);
            } catch (IOException e) {
              // Only a head start for the disk (the channel may be closed by an abort meanwhile): commit's own
              // fsync is the one that counts, and it reports any failure.
            } finally {
              writingBack.set(false);
            }
          });
        }
      }

      @Override
      public void flush() {
        // Durability comes from the fsync in commit.
      }

      @Override
      public void close() throws IOException {
        // The upload owns the file; a caller closing its stream only flushes what it buffered.
        flush();
      }
    }

    private StoreException closedFailure() {
      StoreException f = failure;
      return f != null ? f : new StoreException(StoreException.Kind.OTHER,
          "the upload of a blob to " + root + " was aborted; nothing was stored");
    }

    @Override
    public Descriptor commit(String mediaType, Digest digest, long size) throws StoreException {
      if (mediaType == null || mediaType.isBlank() || digest == null || size < 0) {
        throw new IllegalArgumentException(
            "commit needs a media type, a digest and a size (got " + mediaType + ", " + digest + ", " + size + ")");
      }
      if (!state.compareAndSet(OPEN, COMMITTING)) {
        if (state.get() == COMMITTED) {
          throw new IllegalStateException("upload already committed");
        }
        throw closedFailure();
      }
      try {
        try {
          stream.flush();
        } catch (StoreIOException e) {
          throw e.storeException();
        } catch (IOException e) {
          throw failure("write blob " + digest, e);
        }
        Digest actual = Digest.of(md);
        if (!actual.equals(digest) || count != size) {
          throw new StoreException(StoreException.Kind.CORRUPT, "refusing to store blob " + digest + " (" + size
              + " bytes) in " + root + ": the bytes written are " + actual + " (" + count + " bytes)");
        }
        Descriptor d = Descriptor.of(mediaType, digest, size);
        Path target = blobPath(digest);
        if (Files.exists(target)) {
          discard();
          LOG.debug("blob {} already stored, skipped", digest);
        } else {
          channel.force(true);
          channel.close();
          Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
          fsyncDir(blobs);
        }
        state.set(COMMITTED);
        return d;
      } catch (IOException e) {
        throw failure("write blob " + digest, e);
      } finally {
        if (state.get() != COMMITTED) {
          state.set(ABORTED);
          discard();
        }
        settled.countDown();
        endStaging();
      }
    }

    @Override
    public void abort() {
      if (state.compareAndSet(OPEN, ABORTED)) {
        discard();
        settled.countDown();
        endStaging();
      } else if (state.get() == COMMITTING) {
        // A shutdown hook may abort while the writer commits: let the commit finish (or clean up) first, so no
        // temp file outlives the process.
        try {
          settled.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    private void discard() {
      try {
        channel.close();
      } catch (IOException e) {
        LOG.debug("cannot close {}: {}", temp, e.toString());
      }
      deleteQuietly(temp);
    }
  }
}
