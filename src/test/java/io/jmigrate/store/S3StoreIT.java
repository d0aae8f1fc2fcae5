package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestingInputStream;
import io.jmigrate.blob.DigestingOutputStream;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.testing.S3ProxyServer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** Tests for {@link S3Store}, against S3Proxy on 127.0.0.1. */
class S3StoreIT extends StoreContract {
  private static final AtomicInteger BUCKETS = new AtomicInteger();
  private static final long PART = 5 * (long) MIB;
  private static S3ProxyServer server;
  private static S3Client direct;

  private String bucket;

  @BeforeAll
  static void startServer() throws Exception {
    server = S3ProxyServer.start();
    S3ProxyServer.useCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY);
    direct = S3Client.builder()
        .endpointOverride(URI.create(server.endpoint()))
        .region(Region.of(S3ProxyServer.REGION))
        .forcePathStyle(true)
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)))
        .build();
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (direct != null) {
      direct.close();
    }
    if (server != null) {
      server.close();
    }
    S3ProxyServer.useCredentials(null, null);
  }

  private String url() {
    return "s3://" + bucket + "/repo";
  }

  /** Small parts (the 5 MiB minimum) and two in flight, so tests cross part boundaries quickly. */
  private StoreOptions options() {
    return server.storeOptions().s3PartSize(PART).s3Concurrency(2).build();
  }

  @Override
  protected Store openStore() throws Exception {
    bucket = "jm-test-" + BUCKETS.incrementAndGet();
    server.createBucket(bucket);
    return Stores.open(url(), options());
  }

  @Override
  protected Store reopen() throws Exception {
    return Stores.open(url(), options());
  }

  @Override
  protected void corrupt(Digest digest) throws Exception {
    Path file = server.objectFile(bucket, "repo/blobs/sha256/" + digest.hex());
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      long pos = f.length() / 2;
      f.seek(pos);
      int b = f.read();
      f.seek(pos);
      f.write(b ^ 0x5a);
    }
  }

  /**
   * What the store reports (tmp/ objects, unfinished multipart uploads), plus any part S3Proxy's filesystem
   * store still keeps on disk ({@code .mpus-<upload id>-<key>-<part>} files): no part may be left behind.
   */
  @Override
  protected List<String> stagingLeftovers() throws Exception {
    List<String> out = new ArrayList<>(((S3Store) store).stagingLeftovers());
    try (Stream<Path> walk = Files.walk(server.bucketDir(bucket))) {
      walk.filter(Files::isRegularFile)
          .map(p -> server.bucketDir(bucket).relativize(p).toString())
          .filter(rel -> rel.startsWith(".mpus-"))
          .forEach(rel -> out.add("part file " + rel));
    }
    return out;
  }

  private S3Store s3() {
    return (S3Store) store;
  }

  @Test
  void location_bucketAndPrefix_noCredentials() {
    assertThat(store.location()).isEqualTo("s3://" + bucket + "/repo");
  }

  @Test
  void open_wrongCredentials_failsAuthWithoutShowingThem() {
    S3ProxyServer.useCredentials(S3ProxyServer.ACCESS_KEY, "not-the-secret");
    try {
      assertThatThrownBy(() -> Stores.open(url(), options()))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("access denied by s3://" + bucket
              + ": check the AWS credentials (environment, profile or instance role)")
          .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.AUTH))
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("not-the-secret"));
    } finally {
      S3ProxyServer.useCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY);
    }
  }

  @Test
  void open_noCredentialsAnywhere_failsAuthSayingWhereToPutThem() {
    assertThat(System.getenv("AWS_ACCESS_KEY_ID")).as("this test needs AWS_ACCESS_KEY_ID unset").isNull();
    assertThat(Path.of(System.getProperty("user.home"), ".aws", "credentials")).as("and no ~/.aws/credentials")
        .doesNotExist();
    S3ProxyServer.useCredentials(null, null);
    try {
      assertThatThrownBy(() -> Stores.open(url(), options()))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
          .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.AUTH));
    } finally {
      S3ProxyServer.useCredentials(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY);
    }
  }

  @Test
  void open_missingBucket_failsNotFoundNamingBucketAndEndpoint() {
    assertThatThrownBy(() -> Stores.open("s3://no-such-bucket/repo", options()))
        .isInstanceOf(StoreException.class)
        .hasMessage("bucket no-such-bucket does not exist at " + server.endpoint() + "; create it or fix --repo")
        .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.NOT_FOUND));
  }

  @Test
  void exists_emptyPrefixOfAnExistingBucket_isTrue() throws Exception {
    try (Store empty = Stores.open("s3://" + bucket + "/nothing-here", options())) {
      assertThat(empty.exists()).isTrue();
    }
  }

  @Test
  void open_unreachableEndpoint_failsUnavailableNamingIt() {
    StoreOptions o = StoreOptions.builder().s3Endpoint("http://127.0.0.1:1").s3Region("us-east-1").build();

    assertThatThrownBy(() -> Stores.open(url(), o))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("http://127.0.0.1:1 is unreachable")
        .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.UNAVAILABLE));
  }

  @Test
  void open_badEndpointUrl_failsInvalid() {
    StoreOptions o = StoreOptions.builder().s3Endpoint("127.0.0.1:9000").build();

    assertThatThrownBy(() -> Stores.open(url(), o))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("not a valid S3 endpoint URL: '127.0.0.1:9000'")
        .satisfies(e -> assertThat(((StoreException) e).kind()).isEqualTo(StoreException.Kind.INVALID));
  }

  @Test
  void upload_serverStoppedMidUpload_retriesFailsPublishesNothingAndAbortsWhenBack() throws Exception {
    s3().partRetryDelay = Duration.ofMillis(200);
    s3().abortPatience = Duration.ofSeconds(60);
    BlobUpload up = store.startUpload();
    AtomicLong written = new AtomicLong();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      SplittableRandom r = new SplittableRandom(1);
      byte[] chunk = new byte[1 << 16];
      try {
        while (true) {
          for (int i = 0; i < chunk.length; i++) {
            chunk[i] = (byte) r.nextInt();
          }
          up.stream().write(chunk);
          written.addAndGet(chunk.length);
        }
      } catch (Throwable e) {
        failure.set(e);
      }
    }, "it-writer");
    writer.start();
    while (written.get() < 3 * PART && writer.isAlive()) {
      Thread.sleep(5);
    }
    server.stop();
    writer.join(TimeUnit.MINUTES.toMillis(3));

    assertThat(writer.isAlive()).as("the writer fails once the retries are spent").isFalse();
    assertThat(failure.get()).isInstanceOf(StoreIOException.class)
        .hasMessageContaining(server.endpoint() + " is unreachable")
        .hasMessageContaining("repo/tmp/")
        .satisfies(e -> assertThat(((StoreIOException) e).storeException().kind())
            .isEqualTo(StoreException.Kind.UNAVAILABLE));

    Thread restarter = new Thread(() -> {
      try {
        Thread.sleep(1500);
        server.restart();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    restarter.start();
    up.close();
    restarter.join();

    assertThat(stagingLeftovers()).as("the multipart upload was aborted once the server was back").isEmpty();
    assertThat(store.listBlobs()).isEmpty();
    assertThat(store.listTags()).isEmpty();
  }

  @Test
  void upload_300MiB_partBuffersStayWithinPartSizeTimesInFlight() throws Exception {
    assertThat(Runtime.getRuntime().maxMemory()).as("integration tests run with -Xmx256m")
        .isLessThanOrEqualTo(300L * MIB);
    long size = 300L * MIB;
    Descriptor d;
    try (BlobUpload up = store.startUpload()) {
      DigestingOutputStream out = new DigestingOutputStream(up.stream());
      SplittableRandom r = new SplittableRandom(3);
      byte[] chunk = new byte[1 << 16];
      for (long done = 0; done < size; done += chunk.length) {
        for (int i = 0; i < chunk.length; i += 8) {
          long v = r.nextLong();
          for (int j = 0; j < 8; j++) {
            chunk[i + j] = (byte) (v >>> (8 * j));
          }
        }
        out.write(chunk);
      }
      d = up.commit(MediaTypes.VOLUME_TAR_ZSTD, out.digest(), out.count());
    }

    assertThat(s3().peakBufferedBytes()).isLessThanOrEqualTo(PART * 2).isGreaterThanOrEqualTo(PART);
    try (DigestingInputStream in = new DigestingInputStream(store.openBlob(d.digest(), d.size(), "big blob"))) {
      in.drain();
      assertThat(in.count()).isEqualTo(size);
    }
    assertThat(stagingLeftovers()).isEmpty();
  }

  @Test
  void commit_aboveSingleCopyLimit_copiedWithUploadPartCopy() throws Exception {
    s3().maxSingleCopy = 6 * MIB;
    s3().copyPartSize = 5 * MIB;
    byte[] content = randomBytes(16 * MIB + 3, 4);

    Descriptor d = upload(store, content);

    assertThat(readAll(store, d)).isEqualTo(content);
    assertThat(stagingLeftovers()).isEmpty();
  }

  @Test
  void partSizeFor_longStreams_growsSoTenThousandPartsSuffice() {
    S3Store s = s3();
    assertThat(s.partSizeFor(1)).isEqualTo(PART);
    assertThat(s.partSizeFor(2000)).isEqualTo(PART);
    assertThat(s.partSizeFor(2001)).isEqualTo(2 * PART);
    assertThat(s.partSizeFor(10_000)).isEqualTo(16 * PART);
    assertThat(s.buffersFor(1)).isEqualTo(2);
    assertThat(s.buffersFor(2001)).isEqualTo(1);
    assertThat(s.buffersFor(10_000)).isEqualTo(1);
  }

  @Test
  void lock_staleRecordOfADeadHolder_removedAndLockTaken() throws Exception {
    try (StoreLock held = second().lock(Store.LockMode.EXCLUSIVE, "prune", Duration.ZERO)) {
      assertThat(held.holder()).contains("prune");
      // Make its record look unrefreshed for an hour: the filesystem store reports the file's mtime.
      try (var files = Files.list(server.objectFile(bucket, "repo/locks"))) {
        for (Path p : files.toList()) {
          Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(Duration.ofHours(1))));
        }
      }

      try (StoreLock mine = store.lock(Store.LockMode.EXCLUSIVE, "run", Duration.ZERO)) {
        assertThat(mine.holder()).contains("run");
      }
    }
  }

  @Test
  void cleanStaging_leftoversOfAKilledProcess_removedOnceOlderThanTheGrace() throws Exception {
    direct.putObject(r -> r.bucket(bucket).key("repo/tmp/left-behind"), RequestBody.fromBytes(new byte[10]));
    direct.putObject(r -> r.bucket(bucket).key("repo/tmp/in-progress"), RequestBody.fromBytes(new byte[10]));
    direct.createMultipartUpload(r -> r.bucket(bucket).key("repo/tmp/unfinished"));
    Files.setLastModifiedTime(server.objectFile(bucket, "repo/tmp/left-behind"),
        FileTime.from(Instant.now().minus(Duration.ofHours(3))));
    assertThat(stagingLeftovers()).hasSize(4);

    int removed = store.cleanStaging(Duration.ofHours(1));

    assertThat(removed).isEqualTo(1);
    assertThat(stagingLeftovers()).noneMatch(l -> l.contains("left-behind")).anyMatch(l -> l.contains("in-progress"))
        .anyMatch(l -> l.contains("unfinished"));
    // S3Proxy reports every multipart upload as initiated at the moment it is listed (AWS reports the real
    // time), so the age of an upload cannot be tested here: only that a fresh one is kept.
    assertThat(store.cleanStaging(Duration.ZERO)).isEqualTo(1);
    assertThat(stagingLeftovers()).noneMatch(l -> l.contains("in-progress")).anyMatch(l -> l.contains("unfinished"));
    for (var u : s3().multipartUploads()) {
      direct.abortMultipartUpload(r -> r.bucket(bucket).key(u.key()).uploadId(u.uploadId()));
    }
  }

  @Test
  void tagListing_junkTagObject_reportedUnreadableAndSkippedByListTags() throws Exception {
    byte[] content = randomBytes(1000, 31);
    Descriptor d = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, content);
    store.putTag(Tag.of("good", d));
    // What s3rver over http kept for every object: the aws-chunked framing around the JSON.
    direct.putObject(r -> r.bucket(bucket).key("repo/tags/mangled"),
        RequestBody.fromString("3e8;chunk-signature=00ff\r\n{\"mediaType\":...}\r\n0;chunk-signature=00\r\n"));

    TagListing l = store.tagListing();

    assertThat(l.tags()).extracting(Tag::name).containsExactly("good");
    assertThat(l.unreadable()).extracting(TagListing.Unreadable::name).containsExactly("mangled");
    assertThat(l.unreadable().get(0).problem()).startsWith("not a valid descriptor").doesNotContain("\n");
    assertThat(store.listTags()).extracting(Tag::name).containsExactly("good");
  }

  @Test
  void openBlob_missingRepositoryPrefix_failsNotFound() throws IOException, StoreException {
    Digest d = Digest.of(new byte[] {9});
    assertThatThrownBy(() -> store.openBlob(d, 1, "image layer of snapshot 0123456789ab").close())
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("image layer of snapshot 0123456789ab (blob " + d + ")")
        .hasMessageContaining("is missing");
  }
}
