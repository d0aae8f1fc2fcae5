package io.jmigrate.testing;

import io.jmigrate.store.StoreOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;

/**
 * s3rver 3.7.1 (Node.js, from npm) on 127.0.0.1, over plain http or over https with a self-signed certificate made
 * for it: a second S3 implementation beside S3Proxy, one that keeps what it is sent (over http it stores the SDK's
 * {@code aws-chunked} framing as the object when the client signs in chunks). Objects live as plain files under a
 * temp dir ({@code <bucket>/<key>._S3rver_object}, multipart parts under {@code <bucket>/._S3rver_uploads/<id>/}),
 * so tests can corrupt them and see what an upload left behind.
 *
 * <p>s3rver is installed by {@code bin/test} into {@code $JMIGRATE_TEST_CACHE/s3rver} (default
 * {@code ~/.cache/jmigrate-test/s3rver}); when it is missing this class runs the same {@code npm install} itself.
 * Its only credentials are {@link #ACCESS_KEY}/{@link #SECRET_KEY}, passed the way users pass theirs (the SDK's
 * default chain, see {@link S3ProxyServer#useCredentials}). Over https its certificate is trusted the way the docs
 * tell users to trust a private CA: {@code javax.net.ssl.trustStore}, set while the server runs and restored by
 * {@link #close()}.
 */
public final class S3rverServer implements AutoCloseable {
  public static final String VERSION = "3.7.1";
  public static final String ACCESS_KEY = "S3RVER";
  public static final String SECRET_KEY = "S3RVER";
  public static final String REGION = "us-east-1";
  private static final Pattern LISTENING = Pattern.compile("S3rver listening on 127\\.0\\.0\\.1:(\\d+)");
  private static final String[] TRUST_PROPERTIES =
      {"javax.net.ssl.trustStore", "javax.net.ssl.trustStorePassword", "javax.net.ssl.trustStoreType"};

  static {
    // Never reach for the EC2 instance metadata service from a test: only loopback is allowed.
    System.setProperty("aws.disableEc2Metadata", "true");
  }

  private final Path dir;
  private final Path data;
  private final boolean https;
  private final List<String> savedTrust = new ArrayList<>();
  private Process process;
  private int port;

  private S3rverServer(Path dir, boolean https) {
    this.dir = dir;
    this.data = dir.resolve("data");
    this.https = https;
  }

  /** s3rver over plain http, storage in a new temp dir /tmp/jm-s3rver-*, removed by {@link #close()}. */
  public static S3rverServer startHttp() throws Exception {
    return start(false);
  }

  /** s3rver over https with a new self-signed certificate for 127.0.0.1, trusted until {@link #close()}. */
  public static S3rverServer startHttps() throws Exception {
    return start(true);
  }

  private static S3rverServer start(boolean https) throws Exception {
    Path script = installed();
    S3rverServer s = new S3rverServer(Files.createTempDirectory("jm-s3rver-"), https);
    try {
      Files.createDirectories(s.data);
      s.launch(script);
      return s;
    } catch (Exception | Error e) {
      s.close();
      throw e;
    }
  }

  /** Where bin/test installs s3rver. */
  public static Path installDir() {
    String cache = System.getenv("JMIGRATE_TEST_CACHE");
    Path base = cache != null && !cache.isBlank() ? Path.of(cache)
        : Path.of(System.getProperty("user.home"), ".cache", "jmigrate-test");
    return base.resolve("s3rver");
  }

  /** The s3rver script, installed first (npm install, as bin/test does) when missing. */
  private static synchronized Path installed() throws IOException, InterruptedException {
    Path dir = installDir();
    Path script = dir.resolve("node_modules/s3rver/bin/s3rver.js");
    Path pkg = dir.resolve("node_modules/s3rver/package.json");
    if (Files.isRegularFile(script) && Files.readString(pkg).contains("\"version\": \"" + VERSION + "\"")) {
      return script;
    }
    Files.createDirectories(dir);
    Process p = new ProcessBuilder("npm", "install", "--prefix", dir.toString(), "--no-audit", "--no-fund",
        "--loglevel=error", "s3rver@" + VERSION).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0 || !Files.isRegularFile(script)) {
      throw new IllegalStateException("cannot install s3rver " + VERSION + " into " + dir + " with npm (bin/test"
          + " installs it; it needs nodejs and npm): " + out.strip());
    }
    return script;
  }

  private void launch(Path script) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("node", script.toString(), "-d", data.toString(), "-a", "127.0.0.1",
        "-p", "0"));
    if (https) {
      Path key = dir.resolve("key.pem");
      Path cert = dir.resolve("cert.pem");
      run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out",
          cert.toString(), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1");
      trust(cert);
      cmd.addAll(List.of("--key", key.toString(), "--cert", cert.toString()));
    }
    Path log = dir.resolve("s3rver.log");
    process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      Matcher m = LISTENING.matcher(Files.readString(log));
      if (m.find()) {
        port = Integer.parseInt(m.group(1));
        return;
      }
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new IllegalStateException("s3rver did not start: " + Files.readString(log).strip());
      }
      Thread.sleep(50);
    }
  }

  /** Trusts {@code cert} alone through javax.net.ssl.trustStore; {@link #close()} puts the old settings back. */
  private void trust(Path cert) throws Exception {
    Certificate c;
    try (InputStream in = Files.newInputStream(cert)) {
      c = CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setCertificateEntry("s3rver", c);
    Path store = dir.resolve("trust.p12");
    try (OutputStream out = Files.newOutputStream(store)) {
      ks.store(out, "changeit".toCharArray());
    }
    for (String p : TRUST_PROPERTIES) {
      savedTrust.add(System.getProperty(p));
    }
    System.setProperty("javax.net.ssl.trustStore", store.toString());
    System.setProperty("javax.net.ssl.trustStorePassword", "changeit");
    System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");
  }

  private static void run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out.strip());
    }
  }

  /** The endpoint URL, e.g. http://127.0.0.1:40123 or https://127.0.0.1:40123. */
  public String endpoint() {
    return (https ? "https" : "http") + "://127.0.0.1:" + port;
  }

  /** Options that reach this server: endpoint, region, path style, checksums only when required. */
  public StoreOptions.Builder storeOptions() {
    return StoreOptions.builder().s3Endpoint(endpoint()).s3Region(REGION).s3PathStyle(true)
        .s3ChecksumWhenRequired(true);
  }

  /** Sets the SDK default chain's credentials to this server's. */
  public static void useCredentials() {
    S3ProxyServer.useCredentials(ACCESS_KEY, SECRET_KEY);
  }

  /** Creates a bucket through the S3 API. */
  public void createBucket(String name) {
    try (S3Client s3 = client()) {
      s3.createBucket(r -> r.bucket(name));
    }
  }

  /** A plain SDK client for this server (no aws-chunked bodies); the caller closes it. */
  public S3Client client() {
    return S3Client.builder()
        .endpointOverride(URI.create(endpoint()))
        .region(Region.of(REGION))
        .forcePathStyle(true)
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build())
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
        .build();
  }

  /** Where s3rver keeps an object's bytes. */
  public Path objectFile(String bucket, String key) {
    return data.resolve(bucket).resolve(key + "._S3rver_object");
  }

  /** Multipart uploads s3rver still keeps for {@code bucket} (it cannot list them through the API). */
  public List<String> unfinishedUploads(String bucket) throws IOException {
    Path uploads = data.resolve(bucket).resolve("._S3rver_uploads");
    if (!Files.isDirectory(uploads)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(uploads)) {
      return s.map(p -> "s3rver upload " + p.getFileName()).sorted().toList();
    }
  }

  @Override
  public void close() throws IOException {
    if (process != null) {
      process.destroy();
      try {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
    for (int i = 0; i < savedTrust.size(); i++) {
      if (savedTrust.get(i) == null) {
        System.clearProperty(TRUST_PROPERTIES[i]);
      } else {
        System.setProperty(TRUST_PROPERTIES[i], savedTrust.get(i));
      }
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
