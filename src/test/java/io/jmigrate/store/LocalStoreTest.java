package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.MediaTypes;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link LocalStore}. */
class LocalStoreTest extends StoreContract {
  @TempDir
  Path temp;

  private Path repo() {
    return temp.resolve("repo");
  }

  @Override
  protected Store openStore() throws Exception {
    return Stores.open(repo().toString(), StoreOptions.defaults());
  }

  @Override
  protected Store reopen() throws Exception {
    return Stores.open("file:" + repo(), StoreOptions.defaults());
  }

  @Override
  protected void corrupt(Digest digest) throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(repo().resolve("blobs/sha256/" + digest.hex()).toFile(), "rw")) {
      long pos = f.length() / 2;
      f.seek(pos);
      int b = f.read();
      f.seek(pos);
      f.write(b ^ 0x5a);
    }
  }

  @Override
  protected List<String> stagingLeftovers() throws Exception {
    return ((LocalStore) store).stagingFiles();
  }

  private static void run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
  }

  private static void assertRoot() {
    assertThat(System.getProperty("user.name"))
        .as("this test needs root (mount, chattr); run the suite as root as DEVELOPERS.md says")
        .isEqualTo("root");
  }

  @Test
  void open_nothingWrittenYet_createsNothingAndReadsEmpty() throws Exception {
    Digest d = Digest.of(new byte[] {1});

    assertThat(store.listTags()).isEmpty();
    assertThat(store.listBlobs()).isEmpty();
    assertThat(store.hasBlob(d)).isFalse();
    assertThat(store.getAlias("zstd-" + d.hex())).isEmpty();
    assertThatThrownBy(() -> store.openBlob(d, 1, "a blob").close()).isInstanceOf(StoreException.class);
    assertThat(repo()).doesNotExist();
    assertThat(store.location()).isEqualTo("file:" + repo());
  }

  @Test
  void exists_missingDirectory_isFalseAndCreatesNothing_emptyDirectory_isTrue() throws Exception {
    assertThat(store.exists()).isFalse();
    assertThat(repo()).doesNotExist();

    Files.createDirectories(repo());

    assertThat(store.exists()).isTrue();
  }

  @Test
  void writes_anyKind_directoriesAre0700AndFiles0600() throws Exception {
    Descriptor index = storeIndex("web", 1);
    store.putTag(Tag.of("web-1", index));
    store.putAlias("zstd-" + index.digest().hex(), index);
    upload(store, randomBytes(1000, 2));
    try (StoreLock lock = store.lock(Store.LockMode.SHARED, "backup web", Duration.ZERO)) {
      assertThat(lock.holder()).contains("backup web");
      List<Path> all = new ArrayList<>();
      try (Stream<Path> walk = Files.walk(repo())) {
        walk.forEach(all::add);
      }
      assertThat(all).hasSizeGreaterThan(10);
      for (Path p : all) {
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
        assertThat(mode).as(p.toString()).isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------");
      }
    }
  }

  @Test
  void putTag_anyChange_indexJsonIsAValidOciLayoutIndex() throws Exception {
    Descriptor a = storeIndex("web", 3);
    Descriptor b = storeIndex("db", 4);
    store.putTag(Tag.of("web-1", a));
    store.putTag(Tag.of("db-1", b));
    store.putTag(Tag.of("gone-1", a));
    store.deleteTag("gone-1");

    JsonNode layout = JSON.readTree(repo().resolve("oci-layout").toFile());
    assertThat(layout.path("imageLayoutVersion").asText()).isEqualTo("1.0.0");
    JsonNode index = JSON.readTree(repo().resolve("index.json").toFile());
    assertThat(index.path("schemaVersion").asInt()).isEqualTo(2);
    assertThat(index.path("mediaType").asText()).isEqualTo(MediaTypes.OCI_INDEX);
    List<String> names = new ArrayList<>();
    for (JsonNode m : index.path("manifests")) {
      names.add(m.path("annotations").path("org.opencontainers.image.ref.name").asText());
      Digest d = Digest.parse(m.path("digest").asText());
      Path blob = repo().resolve("blobs/sha256/" + d.hex());
      assertThat(blob).exists();
      assertThat(Files.size(blob)).isEqualTo(m.path("size").asLong());
      assertThat(m.path("mediaType").asText()).isEqualTo(MediaTypes.OCI_INDEX);
    }
    assertThat(names).containsExactly("db-1", "web-1");
  }

  @Test
  void putBlob_existing_leavesTheStoredFileUntouched() throws Exception {
    byte[] content = randomBytes(5000, 5);
    Descriptor d = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, content);
    Path file = repo().resolve("blobs/sha256/" + d.digest().hex());
    Object inode = Files.getAttribute(file, "unix:ino");

    store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, content);
    upload(store, content);

    assertThat(Files.getAttribute(file, "unix:ino")).isEqualTo(inode);
  }

  @Test
  void open_nonEmptyDirectoryThatIsNoRepository_failsInvalid() throws Exception {
    Path home = temp.resolve("home");
    Files.createDirectories(home);
    Files.writeString(home.resolve("notes.txt"), "mine");

    assertThatThrownBy(() -> Stores.open(home.toString(), StoreOptions.defaults()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining(home.toString())
        .hasMessageContaining("not a jmigrate repository")
        .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.INVALID));
  }

  @Test
  void open_repositoryBeingCreatedByAnotherProcess_opensAndCompletesIt() throws Exception {
    // What another process's ensureLayout leaves for a moment: tmp/ made, oci-layout not yet renamed into place.
    Path repo = temp.resolve("new-repo");
    Files.createDirectories(repo.resolve("tmp"));
    Files.createDirectories(repo.resolve("blobs"));

    Store store = Stores.open(repo.toString(), StoreOptions.defaults());
    store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8));

    assertThat(repo.resolve("oci-layout")).exists();
  }

  @Test
  void open_regularFile_failsInvalid() throws Exception {
    Path file = temp.resolve("file");
    Files.writeString(file, "x");

    assertThatThrownBy(() -> Stores.open(file.toString(), StoreOptions.defaults()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("is not a directory");
  }

  @Test
  void write_unwritableParent_failsPermissionDeniedNamingThePath() throws Exception {
    assertRoot();
    Path parent = temp.resolve("ro");
    Files.createDirectories(parent);
    Path target = parent.resolve("repo");
    // Root ignores mode bits; the immutable attribute stops even root (EPERM).
    run("chattr", "+i", parent.toString());
    try (Store s = Stores.open(target.toString(), StoreOptions.defaults())) {
      assertThatThrownBy(() -> s.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, new byte[] {1}))
          .isInstanceOf(StoreException.class)
          .hasMessage("cannot create repository at " + target
              + ": permission denied; choose a writable --repo or fix its permissions")
          .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.UNAVAILABLE));
    } finally {
      run("chattr", "-i", parent.toString());
    }
    assertThat(target).doesNotExist();
  }

  @Test
  void write_existingRepositoryMadeUnwritable_failsPermissionDenied() throws Exception {
    assertRoot();
    store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, new byte[] {1});
    Path tmp = repo().resolve("tmp");
    run("chattr", "+i", tmp.toString());
    try {
      assertThatThrownBy(() -> store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, new byte[] {2}))
          .isInstanceOf(StoreException.class)
          .hasMessage("cannot write repository at " + repo()
              + ": permission denied; choose a writable --repo or fix its permissions");
      assertThatThrownBy(() -> store.startUpload())
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("permission denied");
    } finally {
      run("chattr", "-i", tmp.toString());
    }
  }

  @Test
  void write_fullDisk_failsNoSpaceAndRemovesTheStagedFile() throws Exception {
    assertRoot();
    Path mnt = temp.resolve("tiny");
    Files.createDirectories(mnt);
    run("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mnt.toString());
    try {
      Path small = mnt.resolve("repo");
      try (Store s = Stores.open(small.toString(), StoreOptions.defaults())) {
        BlobUpload up = s.startUpload();
        byte[] chunk = randomBytes(64 * 1024, 6);
        OutputStream out = up.stream();
        assertThatThrownBy(() -> {
          for (int i = 0; i < 64; i++) {
            out.write(chunk);
          }
        }).isInstanceOf(StoreIOException.class)
            .hasMessage("no space left on device writing a blob to " + small
                + "; free space or use another --repo")
            .satisfies(e -> assertThat(((StoreIOException) e).storeException().kind())
                .isEqualTo(StoreException.Kind.UNAVAILABLE));
        assertThat(((LocalStore) s).stagingFiles()).as("the staged file is removed at once").isEmpty();
        assertThatThrownBy(() -> up.commit(MediaTypes.VOLUME_TAR_ZSTD, Digest.of(chunk), chunk.length))
            .isInstanceOf(StoreException.class)
            .hasMessageContaining("no space left on device");
        up.close();

        byte[] big = randomBytes(2 * MIB, 7);
        Digest d = Digest.of(big);
        assertThatThrownBy(() -> s.putBlob(MediaTypes.VOLUME_TAR_ZSTD, big))
            .isInstanceOf(StoreException.class)
            .hasMessage("no space left on device writing blob " + d + " to " + small
                + "; free space or use another --repo");
        assertThat(((LocalStore) s).stagingFiles()).isEmpty();
        assertThat(s.hasBlob(d)).isFalse();
        // Still usable for what fits.
        Descriptor ok = s.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, new byte[] {1, 2, 3});
        assertThat(s.hasBlob(ok.digest())).isTrue();
      }
    } finally {
      run("umount", mnt.toString());
    }
  }

  @Test
  void cleanStaging_oldAndFreshTempFiles_removesOnlyTheOld() throws Exception {
    store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, new byte[] {1});
    Path old = repo().resolve("tmp/blob-old.tmp");
    Path fresh = repo().resolve("tmp/blob-fresh.tmp");
    Files.write(old, new byte[100]);
    Files.write(fresh, new byte[100]);
    Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofHours(3))));

    int removed = store.cleanStaging(Duration.ofHours(1));

    assertThat(removed).isEqualTo(1);
    assertThat(old).doesNotExist();
    assertThat(fresh).exists();
  }

  @Test
  void lock_holderLeftARecordAndDied_recordIgnoredAndRemoved() throws Exception {
    store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, new byte[] {1});
    // A record from a process that no longer exists (pid beyond pid_max), as a SIGKILL leaves it.
    Path stale = repo().resolve("locks/holder-stale.json");
    Files.writeString(stale, "{\"mode\":\"EXCLUSIVE\",\"holder\":\"prune\",\"host\":\"" + LockHolder.localHost()
        + "\",\"pid\":99999999,\"created\":\"2024-01-01T00:00:00Z\",\"refreshed\":\"2024-01-01T00:00:00Z\"}");

    try (StoreLock lock = store.lock(Store.LockMode.SHARED, "backup web", Duration.ZERO)) {
      assertThat(lock.holder()).contains("backup web");
    }
    assertThat(stale).doesNotExist();
  }

  @Test
  void lock_heldByAnotherProcess_failsNamingIt() throws Exception {
    store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, new byte[] {1});
    Path lockFile = repo().resolve("locks/lock");
    Files.writeString(repo().resolve("locks/holder-other.json"), "{\"mode\":\"EXCLUSIVE\",\"holder\":\"prune\","
        + "\"host\":\"host-b\",\"pid\":4242,\"created\":\"2024-01-01T00:00:00Z\"}");
    if (!Files.exists(lockFile)) {
      Files.createFile(lockFile);
    }
    // Another process holds it: Java's FileLock is an fcntl(2) record lock, as python's fcntl.lockf takes.
    Process other = new ProcessBuilder("python3", "-c",
        "import fcntl,sys,time\n"
            + "f=open(sys.argv[1],'r+')\n"
            + "fcntl.lockf(f, fcntl.LOCK_EX)\n"
            + "print('locked', flush=True)\n"
            + "time.sleep(60)\n", lockFile.toString())
        .redirectErrorStream(true).start();
    try {
      assertThat(new String(other.getInputStream().readNBytes(6))).isEqualTo("locked");

      assertThatThrownBy(() -> store.lock(Store.LockMode.SHARED, "backup web", Duration.ofMillis(300)))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("jmigrate prune (exclusive), pid 4242 on host-b, since 2024-01-01T00:00:00Z");
    } finally {
      other.destroy();
      other.waitFor(10, TimeUnit.SECONDS);
    }
    try (StoreLock lock = store.lock(Store.LockMode.EXCLUSIVE, "prune", Duration.ofSeconds(10))) {
      assertThat(lock.holder()).contains("prune");
    }
  }

  @Test
  void putTag_twoHandlesThroughASymlink_bothPublishConcurrently() throws Exception {
    Descriptor a = storeIndex("web", 9);
    Path link = temp.resolve("link");
    Files.createSymbolicLink(link, repo());
    try (Store viaLink = Stores.open(link.toString(), StoreOptions.defaults())) {
      Thread other = new Thread(() -> {
        try {
          for (int i = 0; i < 20; i++) {
            viaLink.putTag(Tag.of("link-" + i, a));
          }
        } catch (StoreException e) {
          throw new IllegalStateException(e);
        }
      });
      AtomicReference<Throwable> failure = new AtomicReference<>();
      other.setUncaughtExceptionHandler((t, e) -> failure.set(e));
      other.start();
      for (int i = 0; i < 20; i++) {
        store.putTag(Tag.of("direct-" + i, a));
      }
      other.join();
      assertThat(failure.get()).isNull();
    }
    assertThat(store.listTags()).hasSize(40);
    assertThat(JSON.readTree(repo().resolve("index.json").toFile()).path("manifests")).hasSize(40);
  }

  @Test
  void getTag_damagedTagFile_ignoredWithOthersStillListed() throws Exception {
    Descriptor a = storeIndex("web", 8);
    store.putTag(Tag.of("web-1", a));
    Files.writeString(repo().resolve("tags/broken-1"), "{not json");

    assertThat(store.listTags()).extracting(Tag::name).containsExactly("web-1");
  }

  @Test
  void putAlias_keyWithSlash_rejected() {
    assertThatThrownBy(() -> store.putAlias("../escape", Descriptor.of(MediaTypes.OCI_INDEX,
        Digest.of(new byte[] {1}), 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("../escape");
  }

  @Test
  void stagingFile_commitWithWrongSize_rejected() throws IOException, StoreException {
    try (BlobUpload up = store.startUpload()) {
      up.stream().write(new byte[] {1, 2, 3});
      assertThatThrownBy(() -> up.commit(MediaTypes.VOLUME_TAR_ZSTD, Digest.of(new byte[] {1, 2, 3}), 4))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("3 bytes");
    }
    assertThat(((LocalStore) store).stagingFiles()).isEmpty();
  }
}
