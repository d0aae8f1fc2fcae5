package io.jmigrate.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the credentials the docker CLI would use for a registry, from {@code config.json} in
 * {@link StoreOptions#dockerConfigDir()}, else {@code $DOCKER_CONFIG}, else {@code ~/.docker}:
 * <ol>
 *   <li>{@code credHelpers[host]}, else {@code credsStore}: run {@code docker-credential-NAME get} with the server
 *       address on stdin; it prints {@code {"ServerURL","Username","Secret"}} (docker-credential-helpers
 *       protocol; a Username of {@code <token>} means the secret is an identity token);
 *   <li>{@code auths[host]}: {@code auth} (base64 of {@code user:password}), or {@code username}/{@code password},
 *       or {@code identitytoken}.
 * </ol>
 * Secrets are never logged nor put into messages.
 */
final class RegistryCredentials {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryCredentials.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Docker Hub's historical key in config.json (docker/cli registry.IndexServer). */
  private static final String DOCKER_HUB_KEY = "https://index.docker.io/v1/";
  private static final long HELPER_TIMEOUT_SECONDS = 30;

  /** A user name with a password, or an identity token (an OAuth2 refresh token). */
  static final class Credential {
    private final String username;
    private final String secret;
    private final boolean identityToken;

    Credential(String username, String secret, boolean identityToken) {
      this.username = username;
      this.secret = secret;
      this.identityToken = identityToken;
    }

    String username() {
      return username;
    }

    /** The password or the identity token. Never log it. */
    String secret() {
      return secret;
    }

    boolean identityToken() {
      return identityToken;
    }

    /** The value of a Basic Authorization header. */
    String basicHeader() {
      return "Basic " + Base64.getEncoder()
          .encodeToString((username + ":" + secret).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
      return identityToken ? "identity token of " + username : "password of " + username;
    }
  }

  private final Path configDir;
  private final Map<String, String> env;

  /** {@code env} supplies PATH for helper lookup (and the helper's environment). */
  RegistryCredentials(Path configDir, Map<String, String> env) {
    this.configDir = configDir;
    this.env = Map.copyOf(env);
  }

  /** The docker CLI's own lookup of the config directory. */
  static RegistryCredentials fromEnvironment(StoreOptions options) {
    Map<String, String> env = System.getenv();
    return new RegistryCredentials(configDir(options, env), env);
  }

  static Path configDir(StoreOptions options, Map<String, String> env) {
    if (options != null && options.dockerConfigDir() != null) {
      return options.dockerConfigDir();
    }
    String dockerConfig = env.get("DOCKER_CONFIG");
    if (dockerConfig != null && !dockerConfig.isBlank()) {
      return Paths.get(dockerConfig);
    }
    return Paths.get(System.getProperty("user.home"), ".docker");
  }

  Path configFile() {
    return configDir.resolve("config.json");
  }

  /** The key under which docker stores credentials for {@code authority} (host[:port]). */
  static String serverKey(String authority) {
    switch (authority) {
      case "docker.io":
      case "index.docker.io":
      case "registry-1.docker.io":
        return DOCKER_HUB_KEY;
      default:
        return authority;
    }
  }

  /** The credentials for {@code authority}, or empty for anonymous access. */
  Optional<Credential> lookup(String authority) throws StoreException {
    Path file = configFile();
    if (!Files.isRegularFile(file)) {
      LOG.debug("no {}: anonymous access to {}", file, authority);
      return Optional.empty();
    }
    JsonNode config;
    try {
      config = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new StoreException(StoreException.Kind.INVALID,
          "cannot read registry credentials from " + file + ": " + e.getMessage() + "; fix the file or run "
              + "`docker login " + authority + "` again", e);
    }
    if (config == null || !config.isObject()) {
      throw new StoreException(StoreException.Kind.INVALID,
          "cannot read registry credentials from " + file + ": it is not a JSON object");
    }
    String key = serverKey(authority);
    String helper = null;
    String helperSource = null;
    JsonNode helpers = config.path("credHelpers");
    for (Iterator<Map.Entry<String, JsonNode>> it = helpers.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (matches(e.getKey(), authority)) {
        helper = e.getValue().asText();
        helperSource = "credHelpers";
      }
    }
    if (helper == null && config.hasNonNull("credsStore") && !config.get("credsStore").asText().isBlank()) {
      helper = config.get("credsStore").asText();
      helperSource = "credsStore";
    }
    if (helper != null) {
      Optional<Credential> fromHelper = runHelper(helper, helperSource, key, authority);
      if (fromHelper.isPresent()) {
        return fromHelper;
      }
    }
    JsonNode auths = config.path("auths");
    for (Iterator<Map.Entry<String, JsonNode>> it = auths.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (matches(e.getKey(), authority)) {
        Optional<Credential> c = fromAuthEntry(e.getValue(), file, authority);
        if (c.isPresent()) {
          return c;
        }
      }
    }
    LOG.debug("no credentials for {} in {}: anonymous access", authority, file);
    return Optional.empty();
  }

  /**
   * True when a config.json key names this registry: the key itself, or the key without its scheme and path
   * (docker/cli's ConvertToHostname), or Docker Hub's historical key.
   */
  static boolean matches(String key, String authority) {
    if (key.equals(authority) || key.equals(serverKey(authority))) {
      return true;
    }
    String k = key;
    if (k.startsWith("http://")) {
      k = k.substring("http://".length());
    } else if (k.startsWith("https://")) {
      k = k.substring("https://".length());
    }
    int slash = k.indexOf('/');
    if (slash >= 0) {
      k = k.substring(0, slash);
    }
    return k.equalsIgnoreCase(authority);
  }

  private static Optional<Credential> fromAuthEntry(JsonNode entry, Path file, String authority)
      throws StoreException {
    String identityToken = text(entry, "identitytoken");
    String user = text(entry, "username");
    String password = text(entry, "password");
    String auth = text(entry, "auth");
    if (auth != null) {
      String decoded;
      try {
        decoded = new String(Base64.getDecoder().decode(auth.trim()), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        throw new StoreException(StoreException.Kind.INVALID, "the auth entry for " + authority + " in " + file
            + " is not valid base64; run `docker login " + authority + "` again");
      }
      int colon = decoded.indexOf(':');
      if (colon < 0) {
        throw new StoreException(StoreException.Kind.INVALID, "the auth entry for " + authority + " in " + file
            + " is not base64 of user:password; run `docker login " + authority + "` again");
      }
      user = decoded.substring(0, colon);
      password = decoded.substring(colon + 1);
    }
    if (identityToken != null) {
      return Optional.of(new Credential(user == null ? "" : user, identityToken, true));
    }
    if (user != null && password != null) {
      return Optional.of(new Credential(user, password, false));
    }
    return Optional.empty();
  }

  private static String text(JsonNode node, String field) {
    JsonNode v = node.get(field);
    return v == null || v.isNull() || v.asText().isEmpty() ? null : v.asText();
  }

  /** Runs {@code docker-credential-NAME get}; empty when the helper knows no credentials for the server. */
  private Optional<Credential> runHelper(String name, String source, String serverKey, String authority)
      throws StoreException {
    String program = "docker-credential-" + name;
    Path exe = findOnPath(program);
    if (exe == null) {
      throw new StoreException(StoreException.Kind.AUTH, "credential helper " + program + " (named by "
          + source + " in " + configFile() + ") is not on PATH; install it, or remove it from config.json");
    }
    ProcessBuilder pb = new ProcessBuilder(exe.toString(), "get");
    pb.environment().putAll(env);
    pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new StoreException(StoreException.Kind.AUTH,
          "cannot run credential helper " + exe + " for " + authority + ": " + e.getMessage(), e);
    }
    byte[] out;
    try {
      try (OutputStream stdin = p.getOutputStream()) {
        stdin.write(serverKey.getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        // A helper may exit before reading stdin; its exit code and output say what happened.
        LOG.debug("credential helper {} did not read its input: {}", program, e.toString());
      }
      out = readLimited(p.getInputStream(), 1 << 16);
      if (!p.waitFor(HELPER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new StoreException(StoreException.Kind.AUTH, "credential helper " + program + " did not answer for "
            + authority + " within " + HELPER_TIMEOUT_SECONDS + " s");
      }
    } catch (IOException e) {
      p.destroyForcibly();
      throw new StoreException(StoreException.Kind.AUTH,
          "cannot read the answer of credential helper " + program + " for " + authority + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new StoreException(StoreException.Kind.AUTH, "interrupted while running " + program);
    }
    String text = new String(out, StandardCharsets.UTF_8).trim();
    if (p.exitValue() != 0) {
      // docker-credential-helpers' ErrCredentialsNotFound message; the docker CLI treats it as "no credentials".
      if (text.contains("credentials not found")) {
        LOG.debug("credential helper {} has no credentials for {}", program, authority);
        return Optional.empty();
      }
      String firstLine = text.isEmpty() ? "exit code " + p.exitValue() : text.lines().findFirst().orElse(text);
      throw new StoreException(StoreException.Kind.AUTH, "credential helper " + program + " failed for "
          + authority + ": " + firstLine + "; run `docker login " + authority + "` or check the helper");
    }
    JsonNode answer;
    try {
      answer = JSON.readTree(out);
    } catch (IOException e) {
      answer = null;
    }
    if (answer == null || !answer.isObject()) {
      throw new StoreException(StoreException.Kind.AUTH, "credential helper " + program + " answered for "
          + authority + " with something that is not the JSON of the credential-helper protocol");
    }
    String user = text(answer, "Username");
    String secret = text(answer, "Secret");
    if (secret == null) {
      return Optional.empty();
    }
    LOG.debug("credentials for {} from {}", authority, program);
    if ("<token>".equals(user)) {
      return Optional.of(new Credential("", secret, true));
    }
    return Optional.of(new Credential(user == null ? "" : user, secret, false));
  }

  private Path findOnPath(String program) {
    String path = env.get("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Paths.get(dir, program);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  private static byte[] readLimited(InputStream in, int limit) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    byte[] b = new byte[8192];
    int n;
    while ((n = in.read(b)) >= 0) {
      if (buf.size() < limit) {
        buf.write(b, 0, Math.min(n, limit - buf.size()));
      }
    }
    return buf.toByteArray();
  }
}
