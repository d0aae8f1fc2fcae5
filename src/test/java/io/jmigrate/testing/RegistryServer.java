package io.jmigrate.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.jmigrate.blob.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real registry for tests: Debian's {@code docker-registry} (distribution 2.8) serving on 127.0.0.1 at a free
 * port, with its storage in a temp directory under /tmp and deletes enabled unless asked otherwise. Optional
 * authentication:
 * <ul>
 *   <li>{@link Auth#BASIC}: htpasswd with {@link #USER}/{@link #PASSWORD} (a fixed bcrypt hash of cost 4, so
 *       that no htpasswd tool is needed and each request costs microseconds to check);
 *   <li>{@link Auth#TOKEN}: the Bearer flow, with a token service in this JVM (JDK {@code HttpServer}) that checks
 *       the same credentials (or the identity token {@link #IDENTITY_TOKEN} through the OAuth2 POST), and signs
 *       RS256 JWTs with a key whose self-signed certificate (made with the JDK's keytool) is the registry's
 *       {@code auth.token.rootcertbundle}. It grants what is asked and counts its requests.
 * </ul>
 * Started and stopped by pid. Fails with a clear message when the package is missing.
 */
public final class RegistryServer implements AutoCloseable {
  public static final String USER = "jmigrate";
  public static final String PASSWORD = "jmigrate-test-pw";
  /** An OAuth2 refresh token the token service accepts (config.json identitytoken). */
  public static final String IDENTITY_TOKEN = "jmigrate-test-identity-token";
  /** bcrypt (cost 4) of {@link #PASSWORD}, made once with crypt(3); distribution accepts $2b$. */
  private static final String PASSWORD_BCRYPT = "$2b$04$.6YvNiGmJssI1phoubcKCuX4SHpQ6ngpS6V7TsRa07SGYxmaShw3i";
  private static final Path BINARY = Paths.get("/usr/bin/docker-registry");
  private static final String SERVICE = "jmigrate-test-registry";
  private static final String ISSUER = "jmigrate-test-issuer";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How clients must authenticate. */
  public enum Auth {
    NONE,
    BASIC,
    TOKEN
  }

  private final Path dir;
  private final Auth auth;
  private final boolean deleteEnabled;
  private final AtomicInteger tokenRequests = new AtomicInteger();
  private final List<String> tokenScopes = new ArrayList<>();
  private HttpServer tokenServer;
  private PrivateKey tokenKey;
  private X509Certificate tokenCert;
  private Process process;
  private int port;

  private RegistryServer(Path dir, Auth auth, boolean deleteEnabled) {
    this.dir = dir;
    this.auth = auth;
    this.deleteEnabled = deleteEnabled;
  }

  /** An open registry with deletes enabled. */
  public static RegistryServer start() throws IOException {
    return start(Auth.NONE, true);
  }

  public static RegistryServer start(Auth auth) throws IOException {
    return start(auth, true);
  }

  public static RegistryServer start(Auth auth, boolean deleteEnabled) throws IOException {
    if (!Files.isExecutable(BINARY)) {
      throw new IllegalStateException(BINARY + " is missing: apt-get install docker-registry, or run bin/test");
    }
    Path dir = Files.createTempDirectory(Paths.get("/tmp"), "jm-registry-");
    RegistryServer s = new RegistryServer(dir, auth, deleteEnabled);
    try {
      s.launch();
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  private void launch() throws IOException {
    if (auth == Auth.BASIC) {
      Files.writeString(dir.resolve("htpasswd"), USER + ":" + PASSWORD_BCRYPT + "\n");
    }
    if (auth == Auth.TOKEN) {
      startTokenService();
    }
    IOException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      port = freePort();
      Files.writeString(dir.resolve("config.yml"), config());
      ProcessBuilder pb = new ProcessBuilder(BINARY.toString(), "serve", dir.resolve("config.yml").toString())
          .redirectErrorStream(true)
          .redirectOutput(dir.resolve("registry.log").toFile());
      process = pb.start();
      try {
        waitReady();
        return;
      } catch (IOException e) {
        last = e;
        stop();
        if (!log().contains("address already in use")) {
          throw e;
        }
      }
    }
    throw last;
  }

  private String config() {
    StringBuilder y = new StringBuilder();
    y.append("version: 0.1\n");
    y.append("log:\n  level: info\n  accesslog:\n    disabled: true\n");
    y.append("storage:\n");
    y.append("  filesystem:\n    rootdirectory: ").append(storageRoot()).append('\n');
    y.append("  delete:\n    enabled: ").append(deleteEnabled).append('\n');
    y.append("  maintenance:\n    uploadpurging:\n      enabled: false\n");
    y.append("http:\n  addr: 127.0.0.1:").append(port).append('\n');
    y.append("  secret: ").append(UUID.randomUUID()).append('\n');
    if (auth == Auth.BASIC) {
      y.append("auth:\n  htpasswd:\n    realm: jmigrate-test\n    path: ").append(dir.resolve("htpasswd"))
          .append('\n');
    } else if (auth == Auth.TOKEN) {
      y.append("auth:\n  token:\n");
      y.append("    realm: http://127.0.0.1:").append(tokenServer.getAddress().getPort()).append("/token\n");
      y.append("    service: ").append(SERVICE).append('\n');
      y.append("    issuer: ").append(ISSUER).append('\n');
      y.append("    rootcertbundle: ").append(dir.resolve("token.pem")).append('\n');
    }
    return y.toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private void waitReady() throws IOException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("docker-registry exited with " + process.exitValue() + ":\n" + logTail());
      }
      try {
        HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/v2/").toURL()
            .openConnection();
        c.setConnectTimeout(500);
        c.setReadTimeout(2000);
        int code = c.getResponseCode();
        c.disconnect();
        if (code == 200 || code == 401) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for docker-registry");
      }
    }
    throw new IOException("docker-registry did not answer on 127.0.0.1:" + port + " within 20 s:\n" + logTail());
  }

  /** The port on 127.0.0.1. */
  public int port() {
    return port;
  }

  /** {@code 127.0.0.1:PORT}, as docker and config.json name it. */
  public String hostPort() {
    return "127.0.0.1:" + port;
  }

  /** {@code oci://127.0.0.1:PORT/REPOSITORY}. */
  public String url(String repository) {
    return "oci://" + hostPort() + "/" + repository;
  }

  /** The registry's storage root (distribution's filesystem driver layout below it). */
  public Path storageRoot() {
    return dir.resolve("data");
  }

  /** A scratch directory that {@link #close()} deletes. */
  public Path dir() {
    return dir;
  }

  /** Requests the token service answered (TOKEN auth). */
  public int tokenRequests() {
    return tokenRequests.get();
  }

  /** The scopes asked of the token service, in order. */
  public synchronized List<String> tokenScopes() {
    return List.copyOf(tokenScopes);
  }

  /** Flips one byte in the middle of a stored blob, behind the registry's back. */
  public void corrupt(Digest digest) throws IOException {
    Path data = storageRoot().resolve("docker/registry/v2/blobs/sha256").resolve(digest.hex().substring(0, 2))
        .resolve(digest.hex()).resolve("data");
    if (!Files.isRegularFile(data)) {
      throw new IOException("blob " + digest + " is not stored at " + data);
    }
    try (RandomAccessFile f = new RandomAccessFile(data.toFile(), "rw")) {
      long pos = f.length() / 2;
      f.seek(pos);
      int b = f.read();
      f.seek(pos);
      f.write(b ^ 0xff);
    }
  }

  /** Starts the registry again on the same port and storage, after {@link #stop()}. */
  public void restart() throws IOException {
    stop();
    process = new ProcessBuilder(BINARY.toString(), "serve", dir.resolve("config.yml").toString())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("registry.log").toFile()))
        .start();
    waitReady();
  }

  /** True while the registry process runs. */
  public boolean running() {
    return process != null && process.isAlive();
  }

  /** Stops the registry (SIGTERM to its pid, then SIGKILL after 10 s); the storage stays. */
  public void stop() {
    if (process == null) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  /** The registry's log. */
  public String log() {
    try {
      return Files.readString(dir.resolve("registry.log"));
    } catch (IOException e) {
      return "";
    }
  }

  private String logTail() {
    String l = log();
    return l.length() > 4000 ? l.substring(l.length() - 4000) : l;
  }

  @Override
  public void close() {
    stop();
    if (tokenServer != null) {
      tokenServer.stop(0);
    }
    deleteTree(dir);
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // best effort: /tmp is cleaned anyway
        }
      });
    } catch (IOException e) {
      // best effort
    }
  }

  // ---- token service ----

  private void startTokenService() throws IOException {
    Path store = dir.resolve("token.p12");
    String keytool = Paths.get(System.getProperty("java.home"), "bin", "keytool").toString();
    Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "token", "-keyalg", "RSA", "-keysize", "2048",
        "-sigalg", "SHA256withRSA", "-dname", "CN=jmigrate-test-token", "-validity", "2", "-storetype", "PKCS12",
        "-keystore", store.toString(), "-storepass", "changeit", "-keypass", "changeit")
        .redirectErrorStream(true).redirectOutput(dir.resolve("keytool.log").toFile()).start();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException("keytool failed: " + Files.readString(dir.resolve("keytool.log")));
      }
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(store)) {
        ks.load(in, "changeit".toCharArray());
      }
      tokenKey = (PrivateKey) ks.getKey("token", "changeit".toCharArray());
      tokenCert = (X509Certificate) ks.getCertificate("token");
      String pem = "-----BEGIN CERTIFICATE-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(tokenCert.getEncoded())
          + "\n-----END CERTIFICATE-----\n";
      Files.writeString(dir.resolve("token.pem"), pem);
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException("cannot make the token signing key: " + e, e);
    }
    tokenServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    tokenServer.createContext("/token", this::token);
    tokenServer.start();
  }

  private void token(HttpExchange ex) throws IOException {
    tokenRequests.incrementAndGet();
    try {
      List<String> scopes = new ArrayList<>();
      String service = null;
      boolean authorized;
      String subject = USER;
      if (ex.getRequestMethod().equals("POST")) {
        // OAuth2 refresh-token grant
        Map<String, List<String>> form = parseQuery(new String(ex.getRequestBody().readAllBytes(),
            StandardCharsets.UTF_8));
        authorized = List.of(IDENTITY_TOKEN).equals(form.get("refresh_token"))
            && List.of("refresh_token").equals(form.get("grant_type"));
        service = first(form, "service");
        String scope = first(form, "scope");
        if (scope != null) {
          scopes.addAll(List.of(scope.split(" ")));
        }
      } else {
        Map<String, List<String>> q = parseQuery(ex.getRequestURI().getRawQuery());
        service = first(q, "service");
        scopes.addAll(q.getOrDefault("scope", List.of()));
        String expected = "Basic " + Base64.getEncoder()
            .encodeToString((USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
        authorized = expected.equals(ex.getRequestHeaders().getFirst("Authorization"));
      }
      synchronized (this) {
        tokenScopes.addAll(scopes);
      }
      if (!authorized || !SERVICE.equals(service)) {
        byte[] body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}"
            .getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(401, body.length);
        ex.getResponseBody().write(body);
        return;
      }
      String jwt = jwt(subject, scopes);
      ObjectNode answer = JSON.createObjectNode();
      answer.put("token", jwt);
      answer.put("access_token", jwt);
      answer.put("expires_in", 300);
      answer.put("issued_at", Instant.now().toString());
      byte[] body = JSON.writeValueAsBytes(answer);
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(200, body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    } finally {
      ex.close();
    }
  }

  private String jwt(String subject, List<String> scopes) throws IOException {
    ObjectNode header = JSON.createObjectNode();
    header.put("typ", "JWT");
    header.put("alg", "RS256");
    try {
      header.putArray("x5c").add(Base64.getEncoder().encodeToString(tokenCert.getEncoded()));
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IOException(e);
    }
    long now = Instant.now().getEpochSecond();
    ObjectNode claims = JSON.createObjectNode();
    claims.put("iss", ISSUER);
    claims.put("sub", subject);
    claims.put("aud", SERVICE);
    claims.put("exp", now + 300);
    claims.put("nbf", now - 10);
    claims.put("iat", now);
    claims.put("jti", UUID.randomUUID().toString());
    ArrayNode access = claims.putArray("access");
    for (String scope : scopes) {
      // repository:NAME:ACTIONS, where NAME may not contain ':' in our tests
      String[] parts = scope.split(":");
      if (parts.length != 3) {
        continue;
      }
      ObjectNode a = access.addObject();
      a.put("type", parts[0]);
      a.put("name", parts[1]);
      ArrayNode actions = a.putArray("actions");
      for (String action : parts[2].split(",")) {
        actions.add(action);
      }
    }
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String signingInput = b64.encodeToString(JSON.writeValueAsBytes(header)) + "."
        + b64.encodeToString(JSON.writeValueAsBytes(claims));
    try {
      Signature sig = Signature.getInstance("SHA256withRSA");
      sig.initSign(tokenKey);
      sig.update(signingInput.getBytes(StandardCharsets.US_ASCII));
      return signingInput + "." + b64.encodeToString(sig.sign());
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot sign a token: " + e, e);
    }
  }

  private static Map<String, List<String>> parseQuery(String q) {
    Map<String, List<String>> m = new java.util.LinkedHashMap<>();
    if (q == null || q.isEmpty()) {
      return m;
    }
    for (String pair : q.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      m.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
    }
    return m;
  }

  private static String first(Map<String, List<String>> m, String k) {
    List<String> v = m.get(k);
    return v == null || v.isEmpty() ? null : v.get(0);
  }
}
