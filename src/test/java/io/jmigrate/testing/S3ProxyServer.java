package io.jmigrate.testing;

import io.jmigrate.store.StoreOptions;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Properties;
import java.util.stream.Stream;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * S3Proxy 2.6.0 in this JVM on 127.0.0.1 (a random port), keeping objects as plain files under a temp dir so
 * tests can corrupt stored bytes. It signs with AWS v2 or v4, credentials {@link #ACCESS_KEY} /
 * {@link #SECRET_KEY}, and ignores headers it does not know (the SDK's {@code x-amz-mp-object-size}, see
 * docs/engine-notes.md). It can be stopped and restarted on the same port for fault tests.
 *
 * <p>Tests pass the credentials the way users do, through the SDK's default chain: {@link #useCredentials}
 * sets the {@code aws.accessKeyId}/{@code aws.secretAccessKey} system properties. Keep logback-test.xml at WARN:
 * s3proxy logs at DEBUG otherwise and runs about 30 times slower.
 */
public final class S3ProxyServer implements AutoCloseable {
  public static final String ACCESS_KEY = "access";
  public static final String SECRET_KEY = "secret";
  public static final String REGION = "us-east-1";

  static {
    // Never reach for the EC2 instance metadata service from a test: only loopback is allowed.
    System.setProperty("aws.disableEc2Metadata", "true");
  }

  private final Path dir;
  private final Path data;
  private BlobStoreContext context;
  private S3Proxy proxy;
  private int port;

  private final String accessKey;
  private final String secretKey;

  private S3ProxyServer(Path dir, String accessKey, String secretKey) {
    this.dir = dir;
    this.data = dir.resolve("data");
    this.accessKey = accessKey;
    this.secretKey = secretKey;
  }

  /** Starts a server with its storage in a new temp dir /tmp/jm-s3proxy-*, removed by {@link #close()}. */
  public static S3ProxyServer start() throws Exception {
    return start(ACCESS_KEY, SECRET_KEY);
  }

  /**
   * As {@link #start()}, accepting other credentials: a jmigrate process takes one set from its environment, so a
   * job writing to S3Proxy and s3rver at once needs both to accept the same.
   */
  public static S3ProxyServer start(String accessKey, String secretKey) throws Exception {
    S3ProxyServer s = new S3ProxyServer(Files.createTempDirectory("jm-s3proxy-"), accessKey, secretKey);
    Files.createDirectories(s.data);
    s.startOn(0);
    return s;
  }

  private void startOn(int wantedPort) throws Exception {
    Properties props = new Properties();
    props.setProperty("jclouds.filesystem.basedir", data.toString());
    context = ContextBuilder.newBuilder("filesystem")
        .overrides(props)
        .credentials(accessKey, secretKey)
        .build(BlobStoreContext.class);
    proxy = S3Proxy.builder()
        .blobStore(context.getBlobStore())
        .endpoint(URI.create("http://127.0.0.1:" + wantedPort))
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
        .ignoreUnknownHeaders(true)
        .build();
    proxy.start();
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!"STARTED".equals(proxy.getState())) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("S3Proxy did not start on 127.0.0.1:" + wantedPort + ": " + proxy.getState());
      }
      Thread.sleep(10);
    }
    port = proxy.getPort();
  }

  /** The endpoint URL, e.g. http://127.0.0.1:40123. */
  public String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** Options that reach this server: endpoint, region, path style, checksums only when required. */
  public StoreOptions.Builder storeOptions() {
    return StoreOptions.builder().s3Endpoint(endpoint()).s3Region(REGION).s3PathStyle(true)
        .s3ChecksumWhenRequired(true);
  }

  /** Sets the SDK default chain's system-property credentials (pass null to clear them). */
  public static void useCredentials(String accessKey, String secretKey) {
    if (accessKey == null) {
      System.clearProperty("aws.accessKeyId");
      System.clearProperty("aws.secretAccessKey");
    } else {
      System.setProperty("aws.accessKeyId", accessKey);
      System.setProperty("aws.secretAccessKey", secretKey);
    }
  }

  /** Creates a bucket; S3Proxy wants 3-63 characters. */
  public void createBucket(String name) {
    if (name.length() < 3 || name.length() > 63) {
      throw new IllegalArgumentException("S3Proxy needs bucket names of 3-63 characters: '" + name + "'");
    }
    context.getBlobStore().createContainerInLocation(null, name);
  }

  /** Where the filesystem blob store keeps an object's bytes. */
  public Path objectFile(String bucket, String key) {
    return data.resolve(bucket).resolve(key);
  }

  /** The bucket's directory: every object, and the filesystem store's multipart bookkeeping, lives under it. */
  public Path bucketDir(String bucket) {
    return data.resolve(bucket);
  }

  /** Stops serving; the port is kept for {@link #restart()}. Stored objects stay. */
  public void stop() throws Exception {
    if (proxy != null) {
      proxy.stop();
      proxy = null;
    }
    if (context != null) {
      context.close();
      context = null;
    }
  }

  /** Starts again on the same port, over the same stored objects. */
  public void restart() throws Exception {
    stop();
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (true) {
      try {
        startOn(port);
        return;
      } catch (IOException | RuntimeException e) {
        // The old listener may still be closing.
        stop();
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }

  @Override
  public void close() throws IOException {
    try {
      stop();
    } catch (Exception e) {
      throw new IOException("cannot stop S3Proxy on 127.0.0.1:" + port, e);
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
