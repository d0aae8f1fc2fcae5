package io.jmigrate.store;

import io.jmigrate.archive.Compression;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestingInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.AbortedException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.retries.api.BackoffStrategy;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A repository in an S3 bucket (AWS or S3-compatible), with the local layout's keys under a prefix: {@code
 * blobs/sha256/<hex>}, {@code tags/<name>}, {@code aliases/<key>}, {@code tmp/<uuid>} and {@code
 * locks/<uuid>.json}. See docs/stores.md.
 *
 * <p>Uploads of unknown length buffer the first part: a blob that ends within it is PUT once under its final key
 * (after a HEAD showed it missing). A longer one goes up as a multipart upload to {@code tmp/<uuid>} with a
 * bounded number of parts in flight, and commit copies it server-side to its digest key and deletes the temp
 * object. So nothing appears under a digest until it is whole, and memory stays at part size × parts in flight.
 * Every failure aborts the multipart upload.
 */
final class S3Store implements Store {
  private static final Logger LOG = LoggerFactory.getLogger(S3Store.class);

  static final long MIB = 1L << 20;
  static final long DEFAULT_PART_SIZE = 8 * MIB;
  static final int DEFAULT_IN_FLIGHT = 4;
  /** S3 allows at most 10,000 parts per multipart upload. */
  static final int MAX_PARTS = 10_000;
  /** Part size doubles every this many parts (up to 16×), so that long streams fit in 10,000 parts. */
  static final int PARTS_PER_TIER = 2_000;
  /** CopyObject copies at most 5 GiB; larger objects are copied with UploadPartCopy. */
  static final long MAX_SINGLE_COPY = 5L << 30;
  static final long COPY_PART_SIZE = 512 * MIB;
  /** A lock object not refreshed for this long belongs to a dead process. */
  static final Duration STALE_LOCK = Duration.ofMinutes(30);
  static final Duration LOCK_REFRESH = Duration.ofMinutes(5);
  /** Attempts per part on top of the SDK's own retries: a part is the unit that is cheap to resend. */
  static final int PART_ATTEMPTS = 4;
  private static final int FIRST_BUFFER = 256 * 1024;
  private static final String OCTETS = "application/octet-stream";

  private final S3Client s3;
  /** Ours to close: the SDK leaves a provider it was given open. */
  private final DefaultCredentialsProvider credentials;
  private final String bucket;
  private final String prefix;
  private final String endpoint;
  private final long partSize;
  private final int inFlight;
  private final ExecutorService pool;
  private final ScheduledExecutorService refresher;
  /** Checks every object write before anything refers to the object. */
  private final S3StoredCheck stored;
  /** Peak bytes held in part buffers by all uploads of this store: what the bound on memory promises. */
  private final AtomicLong bufferedBytes = new AtomicLong();
  private final AtomicLong peakBufferedBytes = new AtomicLong();
  /** How long an abort keeps retrying to abort a multipart upload while the server is unreachable. */
  volatile Duration abortPatience = Duration.ofSeconds(30);
  /** Above this size commit copies with UploadPartCopy; package-private so a test can reach that path. */
  volatile long maxSingleCopy = MAX_SINGLE_COPY;
  volatile long copyPartSize = COPY_PART_SIZE;
  /**
   * How long an abort waits for an upload's requests on their way to be answered before it aborts the multipart
   * upload anyway: the time to send the parts in flight (part size × in flight), plus an answer.
   */
  static final Duration REQUEST_WAIT = Duration.ofMinutes(2);
  /** Pause between part attempts; a test shortens it. */
  volatile Duration partRetryDelay = Duration.ofSeconds(1);

  private S3Store(S3Client s3, DefaultCredentialsProvider credentials, String bucket, String prefix, String endpoint,
      long partSize, int inFlight, boolean chunkedSigning) {
    this.s3 = s3;
    this.credentials = credentials;
    this.bucket = bucket;
    this.prefix = prefix;
    this.endpoint = endpoint;
    this.partSize = partSize;
    this.inFlight = inFlight;
    this.pool = Executors.newCachedThreadPool(DaemonThreads.named("jmigrate-s3"));
    this.refresher = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("jmigrate-s3-lock"));
    this.stored = new S3StoredCheck(s3, bucket, location(), endpoint, chunkedSigning);
  }

  /**
   * Opens {@code s3://bucket/prefix} and checks that the bucket exists and the credentials may use it.
   * Credentials come only from the SDK's default chain (environment, profile, instance role).
   */
  static Store open(String bucket, String prefix, StoreOptions o) throws StoreException {
    String region = o.s3Region() != null ? o.s3Region() : defaultRegion();
    String endpointUrl = o.s3Endpoint();
    DefaultCredentialsProvider credentials = DefaultCredentialsProvider.builder().build();
    S3ClientBuilder b = S3Client.builder()
        .credentialsProvider(credentials)
        .region(Region.of(region))
        .overrideConfiguration(c -> c.retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder()
            .maxAttempts(4)
            .backoffStrategy(BackoffStrategy.exponentialDelay(Duration.ofMillis(200), Duration.ofSeconds(5)))
            .circuitBreakerEnabled(false)
            .build()));
    if (endpointUrl != null) {
      URI uri;
      try {
        uri = URI.create(endpointUrl);
      } catch (IllegalArgumentException e) {
        throw new StoreException(StoreException.Kind.INVALID, "not a valid S3 endpoint URL: '" + endpointUrl + "'",
            e);
      }
      if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
        throw new StoreException(StoreException.Kind.INVALID,
            "not a valid S3 endpoint URL: '" + endpointUrl + "' (use http://HOST[:PORT] or https://HOST[:PORT])");
      }
      b.endpointOverride(uri);
    }
    boolean pathStyle = o.s3PathStyle() != null ? o.s3PathStyle() : endpointUrl != null;
    b.forcePathStyle(pathStyle);
    // The SDK's default (checksums whenever supported, sent as an aws-chunked trailer) breaks S3Proxy and many
    // S3-compatible servers (docs/engine-notes.md); digests are checked on every read anyway.
    if (o.s3ChecksumWhenRequired() || endpointUrl != null) {
      b.requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED);
      b.responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    }
    // Over plain http the SDK signs a streamed body in chunks (aws-chunked), which some S3-compatible servers store
    // as it came, framing and all (s3rver 3.7.1). Off, the SDK signs the whole body (the same one hashing pass) or,
    // over https, sends it unsigned: plain bytes every server understands. AWS decodes the chunks, so auto keeps
    // the SDK's default there.
    boolean chunkedSigning = o.s3ChunkedSigning() == StoreOptions.ChunkedSigning.ON
        || (o.s3ChunkedSigning() == StoreOptions.ChunkedSigning.AUTO && endpointUrl == null);
    if (!chunkedSigning) {
      b.serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build());
    }
    long part = o.s3PartSize() == 0 ? DEFAULT_PART_SIZE : o.s3PartSize();
    int conc = o.s3Concurrency() == 0 ? DEFAULT_IN_FLIGHT : o.s3Concurrency();
    String endpointName = endpointUrl != null ? endpointUrl : "s3." + region + ".amazonaws.com";
    S3Client client;
    try {
      client = b.build();
    } catch (SdkException | IllegalArgumentException e) {
      credentials.close();
      throw new StoreException(StoreException.Kind.INVALID, "cannot set up the S3 client for s3://" + bucket + ": "
          + e.getMessage(), e);
    }
    S3Store store = new S3Store(client, credentials, bucket, prefix, endpointName, part, conc, chunkedSigning);
    try {
      store.checkBucket();
    } catch (StoreException e) {
      store.close();
      throw e;
    }
    return store;
  }

  private static String defaultRegion() {
    try {
      return new DefaultAwsRegionProviderChain().getRegion().id();
    } catch (SdkClientException e) {
      return "us-east-1";
    }
  }

  private void checkBucket() throws StoreException {
    try {
      s3.headBucket(r -> r.bucket(bucket));
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        throw missingBucket(e);
      }
      if (e.statusCode() == 301) {
        String actual = e.awsErrorDetails() == null || e.awsErrorDetails().sdkHttpResponse() == null ? null
            : e.awsErrorDetails().sdkHttpResponse().firstMatchingHeader("x-amz-bucket-region").orElse(null);
        throw new StoreException(StoreException.Kind.INVALID, "bucket " + bucket + " is in region "
            + (actual == null ? "another region" : actual) + ", not the one configured; set the S3 region"
            + (actual == null ? "" : " to " + actual), e);
      }
      throw error("open", null, e);
    } catch (SdkException e) {
      throw error("open", null, e);
    }
  }

  private StoreException missingBucket(Exception e) {
    return new StoreException(StoreException.Kind.NOT_FOUND,
        "bucket " + bucket + " does not exist at " + endpoint + "; create it or fix --repo", e);
  }

  @Override
  public String location() {
    return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
  }

  @Override
  public boolean exists() throws StoreException {
    // The bucket is the repository: an empty prefix in an existing bucket is an empty repository.
    try {
      checkBucket();
      return true;
    } catch (StoreException e) {
      if (e.kind() == StoreException.Kind.NOT_FOUND) {
        return false;
      }
      throw e;
    }
  }

  @Override
  public Compression compression(ContentKind kind) {
    return Compression.ZSTD;
  }

  String key(String relative) {
    return prefix.isEmpty() ? relative : prefix + "/" + relative;
  }

  String blobKey(Digest d) {
    return key("blobs/sha256/" + d.hex());
  }

  /** Peak bytes held in part buffers so far, over every upload of this store. */
  long peakBufferedBytes() {
    return peakBufferedBytes.get();
  }

  long partSize() {
    return partSize;
  }

  int inFlight() {
    return inFlight;
  }

  // --------------------------------------------------------------------------------------------------- errors

  /**
   * An SDK failure (after the SDK's retries) as a one-line message naming the action, the key and where, with
   * what to do. Never includes credentials.
   */
  StoreException error(String action, String key, SdkException e) {
    String what = key == null ? location() : key + " in " + location();
    if (e instanceof S3Exception) {
      S3Exception s = (S3Exception) e;
      String code = s.awsErrorDetails() == null ? null : s.awsErrorDetails().errorCode();
      int status = s.statusCode();
      if (status == 403 || "AccessDenied".equals(code) || "InvalidAccessKeyId".equals(code)
          || "SignatureDoesNotMatch".equals(code) || "ExpiredToken".equals(code) || "InvalidToken".equals(code)) {
        return new StoreException(StoreException.Kind.AUTH, "cannot " + action + " " + what + ": access denied by s3://"
            + bucket + ": check the AWS credentials (environment, profile or instance role)", e);
      }
      if ("NoSuchBucket".equals(code)) {
        return missingBucket(e);
      }
      if (status == 404) {
        return new StoreException(StoreException.Kind.NOT_FOUND, key + " is missing from " + location(), e);
      }
      if (status >= 500 || status == 429) {
        return new StoreException(StoreException.Kind.UNAVAILABLE, "cannot " + action + " " + what + ": " + endpoint
            + " answered " + status + (code == null ? "" : " " + code) + " after retries; try again later", e);
      }
      return new StoreException(StoreException.Kind.OTHER, "cannot " + action + " " + what + ": " + endpoint
          + " answered " + status + (code == null ? "" : " " + code) + ": " + s.awsErrorDetails().errorMessage(), e);
    }
    if (e instanceof SdkClientException && String.valueOf(e.getMessage()).contains("Unable to load credentials")) {
      return new StoreException(StoreException.Kind.AUTH, "cannot " + action + " " + what + ": no AWS credentials"
          + " found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE) or an instance role", e);
    }
    if (e instanceof AbortedException) {
      return new StoreException(StoreException.Kind.OTHER, "cannot " + action + " " + what + ": interrupted", e);
    }
    String why = unreachableReason(e);
    if (why != null) {
      return new StoreException(StoreException.Kind.UNAVAILABLE, "cannot " + action + " " + what + ": " + endpoint
          + " is unreachable (" + why + ") after retries; check the S3 endpoint and the network, then retry", e);
    }
    return new StoreException(StoreException.Kind.UNAVAILABLE,
        "cannot " + action + " " + what + " at " + endpoint + ": " + e.getMessage(), e);
  }

  private static String unreachableReason(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof UnknownHostException) {
        return "unknown host " + t.getMessage();
      }
      if (t instanceof ConnectException) {
        return "connection refused";
      }
      if (t instanceof NoRouteToHostException) {
        return "no route to host";
      }
      if (t instanceof SocketTimeoutException) {
        return "timed out";
      }
      if (t instanceof SocketException || (t instanceof IOException && t.getClass().getName().contains("NoHttp"))) {
        return "connection lost: " + t.getMessage();
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }

  private static boolean isNotFound(S3Exception e) {
    return e instanceof NoSuchKeyException || e.statusCode() == 404;
  }

  // ---------------------------------------------------------------------------------------------- small ops

  private boolean exists(String key) throws StoreException {
    try {
      s3.headObject(r -> r.bucket(bucket).key(key));
      return true;
    } catch (S3Exception e) {
      if (isNotFound(e)) {
        return false;
      }
      throw error("check", key, e);
    } catch (SdkException e) {
      throw error("check", key, e);
    }
  }

  private void put(String key, byte[] content, int length, String action) throws StoreException {
    PutObjectResponse r;
    try {
      r = s3.putObject(r2 -> r2.bucket(bucket).key(key).contentLength((long) length),
          RequestBody.fromContentProvider(() -> new ByteArrayInputStream(content, 0, length), length, OCTETS));
    } catch (SdkException e) {
      throw error(action, key, e);
    }
    stored.afterPut(key, content, length, r);
  }

  /** The object's bytes, or empty when it does not exist; refuses objects larger than {@code max}. */
  private Optional<byte[]> get(String key, long max, String action) throws StoreException {
    try (ResponseInputStream<GetObjectResponse> in = s3.getObject(r -> r.bucket(bucket).key(key))) {
      Long len = in.response().contentLength();
      if (len != null && len > max) {
        in.abort();
        throw new StoreException(StoreException.Kind.INVALID, key + " in " + location() + " is " + len
            + " bytes, more than the " + max + " a " + action.replaceFirst("^read ", "") + " may have");
      }
      return Optional.of(in.readAllBytes());
    } catch (S3Exception e) {
      if (isNotFound(e)) {
        return Optional.empty();
      }
      throw error(action, key, e);
    } catch (SdkException e) {
      throw error(action, key, e);
    } catch (IOException e) {
      throw new StoreException(StoreException.Kind.UNAVAILABLE,
          "cannot " + action + " " + key + " in " + location() + ": " + e.getMessage() + " (" + endpoint + ")", e);
    }
  }

  private void delete(String key, String action) throws StoreException {
    try {
      s3.deleteObject(r -> r.bucket(bucket).key(key));
    } catch (SdkException e) {
      throw error(action, key, e);
    }
  }

  /** Every object under {@code relativePrefix} (e.g. "tags/"). */
  private List<S3Object> list(String relativePrefix, String action) throws StoreException {
    List<S3Object> out = new ArrayList<>();
    try {
      for (S3Object o : s3.listObjectsV2Paginator(r -> r.bucket(bucket).prefix(key(relativePrefix))).contents()) {
        out.add(o);
      }
    } catch (SdkException e) {
      throw error(action, key(relativePrefix), e);
    }
    return out;
  }

  private String relativeName(S3Object o, String relativePrefix) {
    return o.key().substring(key(relativePrefix).length());
  }

  // ---------------------------------------------------------------------------------------------------- blobs

  @Override
  public boolean hasBlob(Digest digest) throws StoreException {
    return exists(blobKey(digest));
  }

  @Override
  public BlobUpload startUpload() throws StoreException {
    // Refused once a stop began; a stop aborts it (see Staging).
    Staging.Token staged = Staging.upload("upload a blob to " + location());
    S3Upload up = new S3Upload(staged);
    staged.onStop(up::abort);
    return up;
  }

  @Override
  public Descriptor putBlob(String mediaType, byte[] content) throws StoreException {
    Descriptor d = Descriptor.of(mediaType, Digest.of(content), content.length);
    String key = blobKey(d.digest());
    if (exists(key)) {
      LOG.debug("blob {} already stored, skipped", d.digest());
      return d;
    }
    put(key, content, content.length, "write blob");
    return d;
  }

  @Override
  public InputStream openBlob(Digest digest, long size, String context) throws StoreException {
    String what = (context == null || context.isBlank() ? "blob " + digest : context + " (blob " + digest + ")")
        + " in " + location();
    String key = blobKey(digest);
    ResumingInputStream in = new ResumingInputStream(key, what);
    in.open(0);
    return new DigestingInputStream(in, digest, size, what);
  }

  /**
   * A GET that resumes with a range request when the connection drops mid-stream, so a long restore survives a
   * transient network error. Content-addressed objects never change, so the rest is the same bytes.
   */
  private final class ResumingInputStream extends InputStream {
    private static final int RESUMES = 3;
    private final String key;
    private final String what;
    private ResponseInputStream<GetObjectResponse> in;
    private long pos;
    private int resumes;
    private boolean eof;

    ResumingInputStream(String key, String what) {
      this.key = key;
      this.what = what;
    }

    void open(long from) throws StoreException {
      try {
        in = s3.getObject(r -> {
          r.bucket(bucket).key(key);
          if (from > 0) {
            r.range("bytes=" + from + "-");
          }
        });
      } catch (S3Exception e) {
        if (isNotFound(e)) {
          throw new StoreException(StoreException.Kind.NOT_FOUND, what + " is missing; the repository is"
              + " incomplete (run jmigrate verify)", e);
        }
        throw error("read", key, e);
      } catch (SdkException e) {
        throw error("read", key, e);
      }
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      while (true) {
        try {
          int n = in.read(b, off, len);
          if (n > 0) {
            pos += n;
          } else if (n < 0) {
            eof = true;
          }
          return n;
        } catch (InterruptedIOException e) {
          throw e;
        } catch (IOException | SdkException e) {
          if (resumes++ >= RESUMES) {
            throw new StoreIOException(new StoreException(StoreException.Kind.UNAVAILABLE, "cannot read " + what
                + " from " + endpoint + ": " + e.getMessage() + " (after " + RESUMES + " resumes)", e));
          }
          LOG.info("reading {} failed at byte {} ({}); resuming", key, pos, e.toString());
          in.abort();
          try {
            Thread.sleep(500L * resumes);
            open(pos);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while resuming " + key);
          } catch (StoreException se) {
            throw new StoreIOException(se);
          }
        }
      }
    }

    @Override
    public void close() throws IOException {
      if (!eof) {
        // Closing before the end would drain the rest of the body; aborting drops the connection instead.
        in.abort();
      }
      in.close();
    }
  }

  @Override
  public void deleteBlob(Digest digest) throws StoreException {
    delete(blobKey(digest), "delete blob");
  }

  @Override
  public List<BlobInfo> listBlobs() throws StoreException {
    List<BlobInfo> out = new ArrayList<>();
    for (S3Object o : list("blobs/sha256/", "list blobs")) {
      String hex = relativeName(o, "blobs/sha256/");
      if (hex.length() == 64 && hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        out.add(BlobInfo.of(Digest.ofHex(hex), o.size() == null ? 0 : o.size(), o.lastModified()));
      }
    }
    out.sort(Comparator.comparing(BlobInfo::digest));
    return out;
  }

  // ------------------------------------------------------------------------------------------------ manifests

  @Override
  public void putManifest(Descriptor descriptor, byte[] content) throws StoreException {
    LocalStore.checkManifest(descriptor, content);
    String key = blobKey(descriptor.digest());
    if (exists(key)) {
      LOG.debug("manifest {} already stored, skipped", descriptor.digest());
      return;
    }
    put(key, content, content.length, "write manifest");
  }

  @Override
  public byte[] getManifest(Digest digest) throws StoreException {
    byte[] content = get(blobKey(digest), LocalStore.MAX_MANIFEST, "read manifest").orElseThrow(() ->
        new StoreException(StoreException.Kind.NOT_FOUND, "manifest " + digest + " is missing from " + location()));
    Digest actual = Digest.of(content);
    if (!actual.equals(digest)) {
      throw new StoreException(StoreException.Kind.CORRUPT, "manifest " + digest + " in " + location()
          + " is corrupt: its content has digest " + actual + "; restore the repository from a copy");
    }
    return content;
  }

  // ----------------------------------------------------------------------------------------- tags and aliases

  @Override
  public void putTag(Tag tag) throws StoreException {
    if (!exists(blobKey(tag.target().digest()))) {
      throw untaggable(tag, location());
    }
    // A PUT is atomic in S3: readers see the old descriptor or the new one.
    byte[] json = StoreJson.write(tag.target());
    put(key("tags/" + tag.name()), json, json.length, "publish tag");
  }

  @Override
  public boolean putTagIfAbsent(Tag tag) throws StoreException {
    if (!conditionalWrites()) {
      return Store.super.putTagIfAbsent(tag);
    }
    if (!exists(blobKey(tag.target().digest()))) {
      throw untaggable(tag, location());
    }
    String key = key("tags/" + tag.name());
    if (exists(key)) {
      return false;
    }
    byte[] json = StoreJson.write(tag.target());
    Optional<PutObjectResponse> r = putIfAbsent(key, json, "publish tag");
    if (r.isEmpty()) {
      return false;
    }
    stored.afterPut(key, json, json.length, r.get());
    return true;
  }

  /** A PUT with {@code If-None-Match: *}: empty when the key exists (412, or 409 from a concurrent one). */
  private Optional<PutObjectResponse> putIfAbsent(String key, byte[] content, String action) throws StoreException {
    try {
      return Optional.of(s3.putObject(b -> b.bucket(bucket).key(key).contentLength((long) content.length)
              .ifNoneMatch("*"),
          RequestBody.fromContentProvider(() -> new ByteArrayInputStream(content), content.length, OCTETS)));
    } catch (S3Exception e) {
      if (e.statusCode() == 412 || e.statusCode() == 409) {
        return Optional.empty();
      }
      throw error(action, key, e);
    } catch (SdkException e) {
      throw error(action, key, e);
    }
  }

  /**
   * Whether the server honours {@code If-None-Match: *} on PUT (AWS S3 does since 2024; S3Proxy 2.6.0 and s3rver
   * 3.7.1 ignore it and overwrite), probed once per store by writing one small object twice under a fresh key.
   */
  private boolean conditionalWrites() throws StoreException {
    Boolean c = conditional;
    if (c == null) {
      String probe = key("tmp/conditional-probe-" + UUID.randomUUID());
      byte[] one = {'1'};
      try {
        put(probe, one, 1, "probe conditional writes");
        c = putIfAbsent(probe, one, "probe conditional writes").isEmpty();
      } finally {
        deleteQuietly(probe);
      }
      LOG.debug("{} {} conditional writes", endpoint, c ? "honours" : "ignores");
      conditional = c;
    }
    return c;
  }

  /** A tag must never name content that is not there: a snapshot is published only once it is whole. */
  static StoreException untaggable(Tag tag, String location) {
    return new StoreException(StoreException.Kind.NOT_FOUND, "cannot publish tag " + tag.name() + " in " + location
        + ": its target " + tag.target().digest() + " is not stored; store the manifest first");
  }

  @Override
  public List<Tag> listTags() throws StoreException {
    TagListing l = tagListing();
    for (TagListing.Unreadable u : l.unreadable()) {
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
    List<String> names = new ArrayList<>();
    // The LIST by prefix: one container's tags cost a GET each, not every tag of the repository.
    for (S3Object o : list("tags/" + prefix, "list tags")) {
      String name = relativeName(o, "tags/");
      try {
        names.add(Tag.checkName(name));
      } catch (IllegalArgumentException e) {
        LOG.debug("ignoring {}: not a tag name", o.key());
      }
    }
    // One GET per tag: fetch them side by side.
    List<CompletableFuture<Object>> reads = new ArrayList<>();
    for (String name : names) {
      reads.add(CompletableFuture.supplyAsync(() -> {
        try {
          return readTag(name).<Object>map(t -> t).orElse(null);
        } catch (StoreException e) {
          throw new java.util.concurrent.CompletionException(e);
        } catch (TagUnreadable e) {
          return new TagListing.Unreadable(name, e.getMessage());
        }
      }, pool));
    }
    List<Tag> out = new ArrayList<>();
    List<TagListing.Unreadable> bad = new ArrayList<>();
    for (CompletableFuture<Object> f : reads) {
      try {
        Object r = f.get();
        if (r instanceof Tag) {
          out.add((Tag) r);
        } else if (r instanceof TagListing.Unreadable) {
          bad.add((TagListing.Unreadable) r);
        }
      } catch (ExecutionException e) {
        if (e.getCause() instanceof StoreException) {
          throw (StoreException) e.getCause();
        }
        throw new StoreException(StoreException.Kind.OTHER, "cannot list tags of " + location() + ": " + e.getCause(),
            e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException(StoreException.Kind.OTHER, "interrupted while listing tags of " + location(), e);
      }
    }
    out.sort(Comparator.comparing(Tag::name));
    bad.sort(Comparator.comparing(TagListing.Unreadable::name));
    return new TagListing(out, bad);
  }

  /** A tag object whose content is not a descriptor. */
  private static final class TagUnreadable extends Exception {
    private static final long serialVersionUID = 1L;

    TagUnreadable(String problem) {
      super(problem, null, false, false);
    }
  }

  private Optional<Tag> readTag(String name) throws StoreException, TagUnreadable {
    Optional<byte[]> json = get(key("tags/" + name), LocalStore.MAX_MANIFEST, "read tag");
    if (json.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(Tag.of(name, StoreJson.descriptor(json.get())));
    } catch (IOException | IllegalArgumentException e) {
      throw new TagUnreadable(TagListing.problem(e));
    }
  }

  @Override
  public Optional<Tag> getTag(String name) throws StoreException {
    Tag.checkName(name);
    try {
      return readTag(name);
    } catch (TagUnreadable e) {
      LOG.warn("ignoring tag {} in {}: {}", name, location(), e.getMessage());
      return Optional.empty();
    }
  }

  @Override
  public void deleteTag(String name) throws StoreException {
    Tag.checkName(name);
    delete(key("tags/" + name), "delete tag");
  }

  @Override
  public Optional<Descriptor> getAlias(String key) throws StoreException {
    LocalStore.checkKey(key);
    Optional<byte[]> json = get(key("aliases/" + key), LocalStore.MAX_MANIFEST, "read alias");
    if (json.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(StoreJson.descriptor(json.get()));
    } catch (IOException | IllegalArgumentException e) {
      LOG.warn("ignoring alias {} in {}: not a valid descriptor ({})", key, location(), e.getMessage());
      return Optional.empty();
    }
  }

  @Override
  public void putAlias(String key, Descriptor target) throws StoreException {
    LocalStore.checkKey(key);
    byte[] json = StoreJson.write(target);
    put(key("aliases/" + key), json, json.length, "write alias");
  }

  // ---------------------------------------------------------------------------------------------------- locks

  /**
   * Lock objects {@code locks/<uuid>.json}: write ours, list the others; on a conflict delete ours and try again
   * until the wait is over. Staleness is judged on the server's clock: a record is stale when its LastModified
   * is more than {@link #STALE_LOCK} older than that of the record just written.
   */
  @Override
  public StoreLock lock(LockMode mode, String purpose, Duration wait) throws StoreException {
    Duration w = wait == null ? Duration.ZERO : wait;
    long deadline = System.nanoTime() + w.toNanos();
    LockHolder self = LockHolder.self(mode, purpose);
    long backoff = 250;
    while (true) {
      String id = UUID.randomUUID().toString();
      // The mode is in the name, so that a shared locker never reads another shared holder's record: with a
      // fleet's backups holding the lock at once, reading every record on every lock would be quadratic.
      String key = key("locks/" + mode.name().toLowerCase(Locale.ROOT) + "-" + id + ".json");
      byte[] record = StoreJson.write(self);
      put(key, record, record.length, "write lock");
      List<String> conflicts = new ArrayList<>();
      try {
        List<S3Object> objects = list("locks/", "list locks");
        Instant now = objects.stream().filter(o -> o.key().equals(key)).map(S3Object::lastModified).findFirst()
            .orElse(Instant.now());
        for (S3Object o : objects) {
          if (o.key().equals(key) || !o.key().endsWith(".json")) {
            continue;
          }
          boolean stale = o.lastModified() != null && o.lastModified().isBefore(now.minus(STALE_LOCK));
          if (mode == LockMode.SHARED && relativeName(o, "locks/").startsWith("shared-")) {
            if (stale) {
              LOG.warn("removing stale shared lock record {}: not refreshed since {}", o.key(), o.lastModified());
              delete(o.key(), "remove stale lock");
            }
            continue;
          }
          Optional<LockHolder> read = readLockRecord(o.key());
          if (read.isEmpty()) {
            continue;
          }
          LockHolder other = read.get();
          if (stale) {
            LOG.warn("removing stale lock of {}: not refreshed since {}", other.describe(), o.lastModified());
            delete(o.key(), "remove stale lock");
            continue;
          }
          if (mode == LockMode.EXCLUSIVE || other.mode() == LockMode.EXCLUSIVE) {
            conflicts.add(other.describe());
          }
        }
      } catch (StoreException e) {
        deleteQuietly(key);
        throw e;
      }
      if (conflicts.isEmpty()) {
        LOG.debug("locked {} for {}", location(), self);
        return new S3Lock(key, self);
      }
      deleteQuietly(key);
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new StoreException(StoreException.Kind.LOCKED, "repository " + location() + " is locked by "
            + String.join("; ", conflicts) + (w.isZero() ? "" : " after waiting " + LocalLocks.human(w))
            + "; wait for it to finish, then retry");
      }
      try {
        // Jitter keeps two waiters from colliding in step forever.
        long sleep = Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1,
            backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
        Thread.sleep(Math.max(1, sleep));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException(StoreException.Kind.OTHER, "interrupted while waiting for the lock of " + location(),
            e);
      }
      backoff = Math.min(2000, backoff * 2);
    }
  }

  /** Attempts at reading another holder's lock record that reads short or does not parse, 100 ms apart. */
  private static final int LOCK_RECORD_READS = 20;

  /**
   * Another holder's lock record; empty when it is gone, or unreadable for good. A server whose PUT is not atomic
   * (s3rver writes the object's file in place) serves a record that is being written as a short or empty body:
   * seen with eight runs locking one bucket at once. Such a record is read again until it settles (it is a few
   * hundred bytes, written in one request), so that a holder is never overlooked for a read that came too early;
   * one still unreadable after two seconds is damaged, and ignored with a warning as before.
   */
  private Optional<LockHolder> readLockRecord(String key) throws StoreException {
    String problem = null;
    for (int attempt = 0; attempt < LOCK_RECORD_READS; attempt++) {
      if (attempt > 0) {
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new StoreException(StoreException.Kind.OTHER, "interrupted while reading lock " + key, e);
        }
      }
      Optional<byte[]> json;
      try {
        json = get(key, 64 * 1024, "read lock");
      } catch (StoreException e) {
        if (e.kind() == StoreException.Kind.AUTH) {
          throw e;
        }
        problem = e.getMessage();
        continue;
      }
      if (json.isEmpty()) {
        return Optional.empty();
      }
      try {
        return Optional.of(StoreJson.holder(json.get()));
      } catch (IOException | RuntimeException e) {
        problem = e.getMessage();
      }
    }
    LOG.warn("ignoring unreadable lock record {} in {}: {}", key, location(), problem);
    return Optional.empty();
  }

  /** Whether the server honours conditional PUTs; null until probed. */
  private volatile Boolean conditional;

  private void deleteQuietly(String key) {
    try {
      delete(key, "delete");
    } catch (StoreException e) {
      LOG.warn("could not remove {}: {}", key, e.getMessage());
    }
  }

  /** A held lock object, refreshed in the background so that others do not take it for a dead holder's. */
  private final class S3Lock implements StoreLock {
    private final String key;
    private final LockHolder self;
    private final AtomicBoolean released = new AtomicBoolean();
    private final ScheduledFuture<?> refresh;

    S3Lock(String key, LockHolder self) {
      this.key = key;
      this.self = self;
      long every = LOCK_REFRESH.toMillis();
      this.refresh = refresher.scheduleWithFixedDelay(this::refresh, every, every, TimeUnit.MILLISECONDS);
    }

    private void refresh() {
      try {
        byte[] record = StoreJson.write(self.refreshedNow());
        put(key, record, record.length, "refresh lock");
      } catch (StoreException | RuntimeException e) {
        LOG.warn("could not refresh the lock {} of {}: {}", key, location(), e.getMessage());
      }
    }

    @Override
    public String holder() {
      return self.describe();
    }

    @Override
    public void close() {
      if (!released.compareAndSet(false, true)) {
        return;
      }
      refresh.cancel(false);
      try {
        delete(key, "release lock");
      } catch (StoreException e) {
        LOG.warn("could not remove the lock {} of {}: {}; others will take it for stale after {} minutes", key,
            location(), e.getMessage(), STALE_LOCK.toMinutes());
      }
    }
  }

  // -------------------------------------------------------------------------------------------------- staging

  /** Deletes temp objects and aborts multipart uploads under tmp/ older than {@code olderThan}. */
  @Override
  public int cleanStaging(Duration olderThan) throws StoreException {
    Instant cutoff = Instant.now().minus(olderThan);
    int removed = 0;
    for (S3Object o : list("tmp/", "list staged objects")) {
      if (o.lastModified() != null && o.lastModified().isBefore(cutoff)) {
        delete(o.key(), "delete staged object");
        LOG.info("removed stale staged object {} ({} bytes, left by an interrupted upload)", o.key(), o.size());
        removed++;
      }
    }
    for (MultipartUpload u : multipartUploads()) {
      if (u.initiated() != null && u.initiated().isBefore(cutoff)) {
        try {
          s3.abortMultipartUpload(r -> r.bucket(bucket).key(u.key()).uploadId(u.uploadId()));
        } catch (SdkException e) {
          throw error("abort multipart upload of", u.key(), e);
        }
        LOG.info("aborted stale multipart upload of {} (started {})", u.key(), u.initiated());
        removed++;
      }
    }
    return removed;
  }

  /** Unfinished multipart uploads under tmp/ and blobs/ (those jmigrate starts). */
  List<MultipartUpload> multipartUploads() throws StoreException {
    List<MultipartUpload> out = new ArrayList<>();
    for (String rel : new String[] {"tmp/", "blobs/"}) {
      try {
        for (MultipartUpload u : s3.listMultipartUploadsPaginator(r -> r.bucket(bucket).prefix(key(rel))).uploads()) {
          out.add(u);
        }
      } catch (S3Exception e) {
        if (e.statusCode() == 501 || e.statusCode() == 405) {
          // s3rver, for one, cannot list them; its uploads are ended by commit or abort (discardMultipart).
          LOG.debug("{} does not list multipart uploads ({})", endpoint, e.statusCode());
          return out;
        }
        throw error("list multipart uploads under", key(rel), e);
      } catch (SdkException e) {
        throw error("list multipart uploads under", key(rel), e);
      }
    }
    return out;
  }

  /** Keys of staged objects under tmp/ and unfinished multipart uploads: what an aborted write must not leave. */
  List<String> stagingLeftovers() throws StoreException {
    List<String> out = new ArrayList<>();
    for (S3Object o : list("tmp/", "list staged objects")) {
      out.add(o.key());
    }
    for (MultipartUpload u : multipartUploads()) {
      out.add("multipart " + u.key() + " " + u.uploadId());
    }
    return out;
  }

  @Override
  public void close() {
    refresher.shutdownNow();
    pool.shutdownNow();
    s3.close();
    credentials.close();
  }

  @Override
  public String toString() {
    return location();
  }

  // -------------------------------------------------------------------------------------------------- uploads

  /** Size of part {@code n} (1-based): doubles every {@link #PARTS_PER_TIER} parts, at most 16 times the base. */
  long partSizeFor(int n) {
    int tier = Math.min(4, (n - 1) / PARTS_PER_TIER);
    return partSize << tier;
  }

  /** How many buffers an upload may hold while filling part {@code n}: memory stays near part size × in flight. */
  int buffersFor(int n) {
    return (int) Math.max(1, inFlight * partSize / partSizeFor(n));
  }

  private void track(long delta) {
    long now = bufferedBytes.addAndGet(delta);
    peakBufferedBytes.accumulateAndGet(now, Math::max);
  }

  private final class S3Upload implements BlobUpload {
    private static final int OPEN = 0;
    private static final int COMMITTING = 1;
    private static final int COMMITTED = 2;
    private static final int ABORTED = 3;

    private final AtomicInteger state = new AtomicInteger(OPEN);
    private final CountDownLatch settled = new CountDownLatch(1);
    private final MessageDigest md = Digest.newSha256();
    private final String tmpKey = key("tmp/" + UUID.randomUUID());
    private final Object monitor = new Object();
    private final Deque<byte[]> free = new ArrayDeque<>();
    private final Map<Integer, String> etags = new ConcurrentHashMap<>();
    private final OutputStream stream = new Sink();
    private byte[] current;
    private int pos;
    private long count;
    private int nextPart = 1;
    /** Buffers allocated and not yet given back (the one being filled, and those of parts in flight). */
    private int buffersOut;
    /**
     * Requests of this upload that have not returned: its CreateMultipartUpload and its parts (submitted and not
     * finished). An abort waits for them, so that it never races a request the server is still acting on.
     */
    private int requests;
    /** Set once a CreateMultipartUpload was sent: from then on an abort must look for an upload to end. */
    private boolean createSent;
    private String uploadId;
    private boolean completed;
    private volatile SdkException partFailure;
    private volatile String failedPartKey;
    private final Staging.Token staged;

    S3Upload(Staging.Token staged) {
      this.staged = staged;
    }

    /** The upload ended (committed, or aborted and cleaned up). */
    private void settle() {
      settled.countDown();
      staged.close();
    }

    @Override
    public OutputStream stream() {
      return stream;
    }

    private final class Sink extends OutputStream {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
          return;
        }
        checkWritable();
        md.update(b, off, len);
        count += len;
        try {
          while (len > 0) {
            if (current == null) {
              current = takeBuffer();
            } else if (pos == current.length && nextPart == 1 && current.length < partSize) {
              grow();
            }
            int n = Math.min(len, current.length - pos);
            System.arraycopy(b, off, current, pos, n);
            pos += n;
            off += n;
            len -= n;
            if (pos == current.length && (nextPart > 1 || current.length == partSize)) {
              sendPart();
            }
          }
        } catch (StoreException e) {
          throw new StoreIOException(e);
        }
      }

      @Override
      public void close() {
        // The upload owns the buffers; commit or abort ends it.
      }
    }

    private void checkWritable() throws IOException {
      int s = state.get();
      if (s == ABORTED) {
        throw new StoreIOException(aborted());
      }
      if (s == COMMITTED) {
        throw new IOException("the upload was already committed");
      }
      if (partFailure != null) {
        throw new StoreIOException(error("upload", failedPartKey, partFailure));
      }
    }

    private StoreException aborted() {
      return new StoreException(StoreException.Kind.OTHER,
          "the upload of a blob to " + location() + " was aborted; nothing was stored");
    }

    /** The first part grows from small, so a tiny blob does not cost a whole part of memory. */
    private void grow() {
      int size = (int) Math.min(partSize, (long) current.length * 2);
      track(size - current.length);
      current = Arrays.copyOf(current, size);
    }

    private byte[] takeBuffer() throws StoreException, IOException {
      int size = (int) (nextPart == 1 ? Math.min(FIRST_BUFFER, partSize) : partSizeFor(nextPart));
      synchronized (monitor) {
        while (buffersOut >= buffersFor(nextPart)) {
          if (state.get() == ABORTED) {
            throw aborted();
          }
          if (partFailure != null) {
            throw error("upload", failedPartKey, partFailure);
          }
          try {
            monitor.wait(200);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a part upload to " + location());
          }
        }
        buffersOut++;
        byte[] b = free.pollFirst();
        while (b != null && b.length != size) {
          track(-b.length);
          b = free.pollFirst();
        }
        if (b != null) {
          return b;
        }
      }
      track(size);
      return new byte[size];
    }

    private void giveBack(byte[] b) {
      synchronized (monitor) {
        buffersOut--;
        requests--;
        if (state.get() == OPEN || state.get() == COMMITTING) {
          free.push(b);
        } else {
          track(-b.length);
        }
        monitor.notifyAll();
      }
    }

    /** Sends the filled buffer as the next part, starting the multipart upload on the first. */
    private void sendPart() throws StoreException {
      if (nextPart > MAX_PARTS) {
        throw new StoreException(StoreException.Kind.INVALID, "a blob larger than " + totalCapacity()
            + " bytes cannot be uploaded to " + location() + " with a part size of " + partSize
            + "; raise the S3 part size");
      }
      if (uploadId == null) {
        startMultipart();
      }
      byte[] buf = current;
      int len = pos;
      int part = nextPart++;
      current = null;
      pos = 0;
      synchronized (monitor) {
        if (state.get() == ABORTED) {
          giveBackUnlocked(buf);
          throw aborted();
        }
        requests++;
        try {
          pool.execute(() -> uploadPart(part, buf, len));
        } catch (RejectedExecutionException e) {
          requests--;
          giveBackUnlocked(buf);
          throw new StoreException(StoreException.Kind.OTHER, "cannot upload to " + location()
              + ": the store was closed during the upload", e);
        }
      }
    }

    /**
     * Sends CreateMultipartUpload as a request in flight: an abort meanwhile waits for its answer, then aborts the
     * upload it created (the writer may never get to, e.g. when a stop signal ends the process).
     */
    private void startMultipart() throws StoreException {
      synchronized (monitor) {
        if (state.get() == ABORTED) {
          throw aborted();
        }
        requests++;
        createSent = true;
      }
      String id = null;
      try {
        id = s3.createMultipartUpload(r -> r.bucket(bucket).key(tmpKey)).uploadId();
      } catch (SdkException e) {
        throw error("start an upload to", tmpKey, e);
      } finally {
        synchronized (monitor) {
          uploadId = id;
          requests--;
          monitor.notifyAll();
        }
      }
      if (state.get() == ABORTED) {
        throw aborted();
      }
    }

    private void giveBackUnlocked(byte[] b) {
      buffersOut--;
      track(-b.length);
      monitor.notifyAll();
    }

    private long totalCapacity() {
      long total = 0;
      for (int n = 1; n <= MAX_PARTS; n += PARTS_PER_TIER) {
        total += partSizeFor(n) * PARTS_PER_TIER;
      }
      return total;
    }

    /**
     * Runs on the pool: the SDK retries each request, and a failed part is sent again a few times. It is never
     * interrupted: after an abort no new attempt starts ({@link #partBody}), and the abort waits for the one on its
     * way to be answered.
     */
    private void uploadPart(int part, byte[] buf, int len) {
      try {
        SdkException last = null;
        for (int attempt = 1; attempt <= PART_ATTEMPTS; attempt++) {
          if (state.get() == ABORTED || partFailure != null) {
            return;
          }
          try {
            String etag = s3.uploadPart(r -> r.bucket(bucket).key(tmpKey).uploadId(uploadId).partNumber(part)
                    .contentLength((long) len),
                RequestBody.fromContentProvider(() -> partBody(buf, len), len, OCTETS)).eTag();
            etags.put(part, etag);
            return;
          } catch (AbortedException e) {
            if (state.get() == ABORTED) {
              return;
            }
            last = e;
          } catch (S3Exception e) {
            last = e;
            if (e.statusCode() == 403 || e.statusCode() == 404 || e.statusCode() == 400) {
              break;
            }
          } catch (SdkException e) {
            last = e;
          }
          if (attempt < PART_ATTEMPTS) {
            LOG.info("part {} of {} failed ({}); sending it again", part, tmpKey, last.getMessage());
            pauseUnlessAborted(partRetryDelay.toMillis() << (attempt - 1));
          }
        }
        failedPartKey = tmpKey + " part " + part;
        partFailure = last;
        synchronized (monitor) {
          monitor.notifyAll();
        }
      } finally {
        giveBack(buf);
      }
    }

    /** The pause between attempts at a part; an abort ends it early (through the monitor, not an interrupt). */
    private void pauseUnlessAborted(long millis) {
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
      synchronized (monitor) {
        long left;
        while (state.get() != ABORTED && (left = deadline - System.nanoTime()) > 0) {
          try {
            TimeUnit.NANOSECONDS.timedWait(monitor, left);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
      }
    }

    /**
     * A part's bytes for one attempt of its request. Asked for before the request is sent (and again by the signer,
     * when it hashes the body first), never in the middle of sending, so refusing here once the upload is aborted
     * means an attempt is either never sent or sent whole and answered. Cutting a request short instead does not
     * stop the server: it goes on handling what it received after the client gave up, and an
     * AbortMultipartUpload that overtakes it leaves parts behind (AWS documents it; S3Proxy's filesystem store
     * then fails the abort halfway and keeps the whole upload: issue 9, under CPU load, when the abort interrupted
     * the senders).
     */
    private InputStream partBody(byte[] buf, int len) {
      if (state.get() == ABORTED) {
        // Unchecked and not retryable: the SDK does not send this attempt, nor another.
        throw AbortedException.create("the upload to " + tmpKey + " in " + location() + " was aborted");
      }
      return new ByteArrayInputStream(buf, 0, len);
    }

    private void awaitParts() throws StoreException {
      synchronized (monitor) {
        while (requests > 0) {
          try {
            monitor.wait(200);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException(StoreException.Kind.OTHER, "interrupted while uploading to " + location(), e);
          }
        }
      }
      if (partFailure != null) {
        throw error("upload", failedPartKey, partFailure);
      }
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
        throw aborted();
      }
      String finalKey = blobKey(digest);
      try {
        if (partFailure != null) {
          throw error("upload", failedPartKey, partFailure);
        }
        Digest actual = Digest.of(md);
        if (!actual.equals(digest) || count != size) {
          throw new StoreException(StoreException.Kind.CORRUPT, "refusing to store blob " + digest + " (" + size
              + " bytes) in " + location() + ": the bytes written are " + actual + " (" + count + " bytes)");
        }
        Descriptor d = Descriptor.of(mediaType, digest, size);
        if (uploadId == null) {
          // Whole blob in the first buffer: one PUT under its final key.
          if (exists(finalKey)) {
            LOG.debug("blob {} already stored, skipped", digest);
          } else {
            byte[] buf = current == null ? new byte[0] : current;
            put(finalKey, buf, pos, "write blob");
          }
        } else {
          if (pos > 0) {
            sendPart();
          }
          awaitParts();
          if (exists(finalKey)) {
            LOG.debug("blob {} already stored, skipped", digest);
          } else {
            completeMultipart();
            copy(tmpKey, finalKey, count);
          }
        }
        state.set(COMMITTED);
        return d;
      } finally {
        if (state.get() != COMMITTED) {
          state.set(ABORTED);
        }
        cleanUp(true);
        settle();
      }
    }

    private void completeMultipart() throws StoreException {
      List<CompletedPart> parts = new ArrayList<>();
      for (int n = 1; n < nextPart; n++) {
        String etag = etags.get(n);
        if (etag == null) {
          throw new StoreException(StoreException.Kind.OTHER, "part " + n + " of " + tmpKey + " was not uploaded");
        }
        parts.add(CompletedPart.builder().partNumber(n).eTag(etag).build());
      }
      try {
        s3.completeMultipartUpload(r -> r.bucket(bucket).key(tmpKey).uploadId(uploadId)
            .multipartUpload(m -> m.parts(parts)));
        synchronized (monitor) {
          completed = true;
        }
      } catch (SdkException e) {
        throw error("finish the upload of", tmpKey, e);
      }
      stored.afterWrite(tmpKey, count);
    }

    @Override
    public void abort() {
      if (state.compareAndSet(OPEN, ABORTED)) {
        try {
          cleanUp(false);
        } finally {
          settle();
        }
      } else {
        // Another thread is committing (let it finish or clean up) or cleaning up after an abort, e.g. a shutdown
        // hook: wait for it, so that nothing stays staged and a caller that closes the store next does not cut the
        // cleanup short.
        try {
          settled.await(REQUEST_WAIT.toMillis() + abortPatience.toMillis() + 30_000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    /**
     * Waits for the requests in flight, then ends the multipart upload (or deletes the temp object once it was
     * completed); frees the buffers. The buffer being filled belongs to the writer, which may still be writing when
     * another thread aborts: only the writer's own thread ({@code fromWriter}) drops it.
     */
    private void cleanUp(boolean fromWriter) {
      String id;
      boolean done;
      boolean created;
      synchronized (monitor) {
        monitor.notifyAll();
        // An AbortMultipartUpload that overtakes a part the server is still storing leaves that part behind (AWS
        // documents it; S3Proxy's filesystem store then fails the abort halfway and keeps the whole upload). So no
        // new attempt starts after the abort (partBody), and the ones on their way are waited for: their answer is
        // the only sign that the server is done with them.
        long deadline = System.nanoTime() + REQUEST_WAIT.toNanos();
        while (requests > 0 && System.nanoTime() < deadline) {
          try {
            monitor.wait(200);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            break;
          }
        }
        if (requests > 0) {
          LOG.warn("{} requests of the upload to {} did not end within {} s", requests, tmpKey,
              REQUEST_WAIT.toSeconds());
        }
        id = uploadId;
        done = completed;
        created = createSent;
      }
      if (done) {
        deleteWithPatience(tmpKey);
      } else if (created) {
        discardMultipart(id);
      }
      synchronized (monitor) {
        for (byte[] b : free) {
          track(-b.length);
        }
        free.clear();
        if (fromWriter && current != null) {
          track(-current.length);
          buffersOut--;
          current = null;
        }
      }
    }

    /**
     * Aborts the multipart upload, then any other upload of this upload's temp key (unique to it) that the server
     * lists: one whose CreateMultipartUpload answer was lost, e.g. an attempt the SDK gave up on and sent again, so
     * that its id is not known here. A server without AbortMultipartUpload (s3rver answers 405) gets the upload
     * completed with the parts it has and the object deleted instead.
     */
    private void discardMultipart(String id) {
      if (id != null && abortMultipart(id) == Cleanup.UNSUPPORTED) {
        dropByCompleting(id);
      }
      for (String other : uploadsOf(tmpKey)) {
        if (!other.equals(id)) {
          abortMultipart(other);
        }
      }
    }

    private Cleanup abortMultipart(String id) {
      return retryWithPatience("abort the multipart upload " + id + " of " + tmpKey,
          () -> s3.abortMultipartUpload(r -> r.bucket(bucket).key(tmpKey).uploadId(id)));
    }

    /** For a server that cannot abort: completes the upload with its parts (an empty one if none) and deletes it. */
    private void dropByCompleting(String id) {
      List<CompletedPart> parts = new ArrayList<>();
      etags.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e ->
          parts.add(CompletedPart.builder().partNumber(e.getKey()).eTag(e.getValue()).build()));
      try {
        if (parts.isEmpty()) {
          String etag = s3.uploadPart(r -> r.bucket(bucket).key(tmpKey).uploadId(id).partNumber(1).contentLength(0L),
              RequestBody.empty()).eTag();
          parts.add(CompletedPart.builder().partNumber(1).eTag(etag).build());
        }
        s3.completeMultipartUpload(r -> r.bucket(bucket).key(tmpKey).uploadId(id)
            .multipartUpload(m -> m.parts(parts)));
        LOG.debug("{} cannot abort multipart uploads: completed {} to delete it", endpoint, tmpKey);
      } catch (SdkException e) {
        LOG.warn("could not remove the unfinished upload {} of {} in {}: {}; remove it by hand", id, tmpKey,
            location(), error("clean up", tmpKey, e).getMessage());
        return;
      }
      deleteWithPatience(tmpKey);
    }

    private void deleteWithPatience(String key) {
      retryWithPatience("delete " + key, () -> s3.deleteObject(r -> r.bucket(bucket).key(key)));
    }

    /**
     * Keeps trying while the server is unreachable, up to {@link #abortPatience}: an abort that gives up at once
     * would leave parts stored (and billed) after a short outage.
     */
    private Cleanup retryWithPatience(String what, Runnable call) {
      long deadline = System.nanoTime() + abortPatience.toNanos();
      long sleep = 500;
      while (true) {
        try {
          call.run();
          LOG.debug("did {}", what);
          return Cleanup.DONE;
        } catch (S3Exception e) {
          if (e.statusCode() == 404) {
            return Cleanup.DONE;
          }
          if (e.statusCode() == 405 || e.statusCode() == 501) {
            LOG.debug("cannot {}: {} does not support it ({})", what, endpoint, e.statusCode());
            return Cleanup.UNSUPPORTED;
          }
          if (System.nanoTime() > deadline) {
            LOG.warn("could not {} in {}: {}; jmigrate prune removes it later, or set a bucket lifecycle rule", what,
                location(), error("clean up", null, e).getMessage());
            return Cleanup.GAVE_UP;
          }
        } catch (SdkException e) {
          if (System.nanoTime() > deadline) {
            LOG.warn("could not {} in {}: {}; jmigrate prune removes it later, or set a bucket lifecycle rule", what,
                location(), error("clean up", null, e).getMessage());
            return Cleanup.GAVE_UP;
          }
        }
        LOG.debug("could not {} yet; trying again in {} ms", what, sleep);
        try {
          Thread.sleep(sleep);
        } catch (InterruptedException e) {
          // Shutdown hooks get interrupted too: one last try, then give up.
          Thread.currentThread().interrupt();
          deadline = 0;
        }
        sleep = Math.min(5000, sleep * 2);
      }
    }
  }

  /** How a cleanup request ended. */
  private enum Cleanup {
    DONE,
    GAVE_UP,
    /** The server does not implement the request (405 or 501). */
    UNSUPPORTED
  }

  /** Ids of the unfinished multipart uploads of exactly {@code key}; none when the server cannot list them. */
  private List<String> uploadsOf(String key) {
    List<String> out = new ArrayList<>();
    try {
      for (MultipartUpload u : s3.listMultipartUploadsPaginator(r -> r.bucket(bucket).prefix(key)).uploads()) {
        if (key.equals(u.key())) {
          out.add(u.uploadId());
        }
      }
    } catch (SdkException e) {
      LOG.debug("cannot list the multipart uploads of {} in {}: {}", key, location(), e.getMessage());
    }
    return out;
  }

  /** Server-side copy: CopyObject up to 5 GiB, UploadPartCopy in ranges above. */
  private void copy(String from, String to, long size) throws StoreException {
    if (size <= maxSingleCopy) {
      try {
        s3.copyObject(r -> r.sourceBucket(bucket).sourceKey(from).destinationBucket(bucket).destinationKey(to));
      } catch (SdkException e) {
        throw error("copy " + from + " to", to, e);
      }
      stored.afterWrite(to, size);
      return;
    }
    String id;
    try {
      id = s3.createMultipartUpload(r -> r.bucket(bucket).key(to)).uploadId();
    } catch (SdkException e) {
      throw error("start copying " + from + " to", to, e);
    }
    boolean done = false;
    try {
      long piece = Math.max(copyPartSize, (size + MAX_PARTS - 1) / MAX_PARTS);
      List<CompletedPart> parts = new ArrayList<>();
      int n = 1;
      for (long start = 0; start < size; start += piece, n++) {
        long end = Math.min(size, start + piece) - 1;
        int part = n;
        String range = "bytes=" + start + "-" + end;
        String etag = s3.uploadPartCopy(r -> r.sourceBucket(bucket).sourceKey(from).destinationBucket(bucket)
            .destinationKey(to).uploadId(id).partNumber(part).copySourceRange(range)).copyPartResult().eTag();
        parts.add(CompletedPart.builder().partNumber(part).eTag(etag).build());
      }
      s3.completeMultipartUpload(r -> r.bucket(bucket).key(to).uploadId(id).multipartUpload(m -> m.parts(parts)));
      done = true;
      stored.afterWrite(to, size);
    } catch (SdkException e) {
      throw error("copy " + from + " to", to, e);
    } finally {
      if (!done) {
        try {
          s3.abortMultipartUpload(r -> r.bucket(bucket).key(to).uploadId(id));
        } catch (SdkException e) {
          LOG.warn("could not abort the copy to {}: {}", to, e.getMessage());
        }
      }
    }
  }
}
