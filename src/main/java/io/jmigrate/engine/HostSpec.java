package io.jmigrate.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jmigrate.engine.EngineException.Kind;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Where an engine is, as the user named it: {@code unix:///path}, {@code tcp://host:port} (TLS from
 * DOCKER_TLS_VERIFY / DOCKER_CERT_PATH or the context's tls dir), {@code ssh://[user@]host[:port]}, or a docker
 * context name from {@code ~/.docker/contexts}.
 *
 * <p>Resolution order when no value is given, as the docker CLI does it: DOCKER_HOST, then DOCKER_CONTEXT,
 * then the currentContext of config.json, then {@code unix:///var/run/docker.sock}.
 *
 * <p>SSH hosts are reached the way the docker CLI reaches them, through the system {@code ssh} client (the user's
 * config, agent and known_hosts), which forwards the remote engine socket to a private local one. The remote socket
 * is {@code /var/run/docker.sock} unless the URL says otherwise with {@code ?socket=/path}, e.g.
 * {@code ssh://root@10.0.0.5:2222?socket=/run/user/1000/docker.sock}. The environment variable
 * {@code JMIGRATE_SSH_COMMAND} (like git's GIT_SSH_COMMAND) replaces the {@code ssh} command, e.g.
 * {@code ssh -F /etc/jmigrate/ssh_config}; it is split on spaces.
 */
public final class HostSpec {
  /** The engine socket the docker CLI uses when nothing else is said. */
  public static final String DEFAULT_UNIX = "unix:///var/run/docker.sock";
  /** The remote socket an ssh host forwards unless {@code ?socket=} says otherwise. */
  public static final String DEFAULT_REMOTE_SOCKET = "/var/run/docker.sock";

  /** How the engine is reached. */
  public enum Transport {
    UNIX,
    TCP,
    SSH
  }

  private final String display;
  private final Transport transport;
  private final String context;
  private final Path socketPath;
  private final String host;
  private final int port;
  private final Path tlsDir;
  private final String sshUser;
  private final String remoteSocket;
  private final List<String> sshCommand;

  private HostSpec(
      String display,
      Transport transport,
      String context,
      Path socketPath,
      String host,
      int port,
      Path tlsDir,
      String sshUser,
      String remoteSocket,
      List<String> sshCommand) {
    this.display = display;
    this.transport = transport;
    this.context = context;
    this.socketPath = socketPath;
    this.host = host;
    this.port = port;
    this.tlsDir = tlsDir;
    this.sshUser = sshUser;
    this.remoteSocket = remoteSocket;
    this.sshCommand = sshCommand;
  }

  /** {@link #resolve} with this process's environment and the default docker config dir. */
  public static HostSpec of(String value) throws EngineException {
    return resolve(value, System.getenv(), null);
  }

  /**
   * Resolves {@code value} (null = default resolution) with the given environment and docker config dir
   * (null = $DOCKER_CONFIG, else ~/.docker). The message of a failure names the bad value or context.
   */
  public static HostSpec resolve(String value, Map<String, String> env, Path dockerConfigDir) throws EngineException {
    Objects.requireNonNull(env, "env");
    Path configDir = dockerConfigDir != null ? dockerConfigDir : defaultConfigDir(env);
    if (value != null && !value.isBlank()) {
      String v = value.strip();
      if (v.contains("://")) {
        return parseUrl(v, v, null, env, configDir);
      }
      return fromContext(v, v, env, configDir);
    }
    String dockerHost = env.get("DOCKER_HOST");
    if (dockerHost != null && !dockerHost.isBlank()) {
      return parseUrl(dockerHost.strip(), dockerHost.strip(), null, env, configDir);
    }
    String ctx = env.get("DOCKER_CONTEXT");
    if (ctx != null && !ctx.isBlank()) {
      return fromContext(ctx.strip(), ctx.strip(), env, configDir);
    }
    Optional<String> current = currentContext(configDir);
    if (current.isPresent()) {
      return fromContext(current.get(), current.get(), env, configDir);
    }
    return parseUrl(DEFAULT_UNIX, DEFAULT_UNIX, null, env, configDir);
  }

  private static Path defaultConfigDir(Map<String, String> env) {
    String dc = env.get("DOCKER_CONFIG");
    if (dc != null && !dc.isBlank()) {
      return Path.of(dc);
    }
    String home = env.getOrDefault("HOME", System.getProperty("user.home"));
    return Path.of(home, ".docker");
  }

  private static Optional<String> currentContext(Path configDir) throws EngineException {
    Path config = configDir.resolve("config.json");
    if (!Files.isRegularFile(config)) {
      return Optional.empty();
    }
    try {
      JsonNode n = new ObjectMapper().readTree(config.toFile());
      String c = n == null ? null : n.path("currentContext").asText(null);
      return c == null || c.isBlank() || c.equals("default") ? Optional.empty() : Optional.of(c);
    } catch (IOException e) {
      throw new EngineException(
          Kind.UNSUPPORTED, "cannot read the docker config " + config + ": " + e.getMessage() + "; fix or remove it");
    }
  }

  /** The directory of a context's metadata or TLS files: contexts/&lt;kind&gt;/sha256(name). */
  static String contextDirName(String name) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(md.digest(name.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static HostSpec fromContext(String name, String display, Map<String, String> env, Path configDir)
      throws EngineException {
    if (name.equals("default")) {
      // The docker CLI's built-in default context: DOCKER_HOST, else the local socket.
      String dh = env.get("DOCKER_HOST");
      String url = dh != null && !dh.isBlank() ? dh.strip() : DEFAULT_UNIX;
      return parseUrl(url, display, name, env, configDir);
    }
    String dir = contextDirName(name);
    Path meta = configDir.resolve("contexts").resolve("meta").resolve(dir).resolve("meta.json");
    if (!Files.isRegularFile(meta)) {
      throw new EngineException(
          Kind.NOT_FOUND,
          "unknown docker context \""
              + name
              + "\"; known contexts: "
              + String.join(", ", knownContexts(configDir))
              + " (docker context ls), or give a host URL such as unix:///var/run/docker.sock, "
              + "tcp://host:2376 or ssh://user@host");
    }
    JsonNode endpoint;
    try {
      endpoint = new ObjectMapper().readTree(meta.toFile()).path("Endpoints").path("docker");
    } catch (IOException e) {
      throw new EngineException(
          Kind.UNSUPPORTED, "cannot read docker context \"" + name + "\" (" + meta + "): " + e.getMessage());
    }
    String url = endpoint.path("Host").asText("");
    if (url.isBlank()) {
      throw new EngineException(
          Kind.UNSUPPORTED, "docker context \"" + name + "\" (" + meta + ") has no docker endpoint Host");
    }
    if (endpoint.path("SkipTLSVerify").asBoolean(false)) {
      throw new EngineException(
          Kind.UNSUPPORTED,
          "docker context \"" + name + "\" sets SkipTLSVerify; jmigrate always verifies TLS: give the context "
              + "a CA certificate (docker context update --docker ca=...)");
    }
    Path tls = configDir.resolve("contexts").resolve("tls").resolve(dir).resolve("docker");
    return parseUrl(url, display, name, env, configDir, Files.isDirectory(tls) ? tls : null);
  }

  /**
   * True when {@code name} is a docker context that exists: "default", or one with metadata under the docker config
   * dir ($DOCKER_CONFIG, else ~/.docker). Reads nothing but that one file's presence.
   */
  public static boolean isContext(String name, Map<String, String> env) {
    if (name == null || name.isBlank()) {
      return false;
    }
    if (name.equals("default")) {
      return true;
    }
    Path meta = defaultConfigDir(env).resolve("contexts").resolve("meta").resolve(contextDirName(name))
        .resolve("meta.json");
    return Files.isRegularFile(meta);
  }

  /** The names of the contexts under {@code configDir}, "default" first. */
  static List<String> knownContexts(Path configDir) {
    TreeSet<String> names = new TreeSet<>();
    Path metaRoot = configDir.resolve("contexts").resolve("meta");
    if (Files.isDirectory(metaRoot)) {
      try (Stream<Path> dirs = Files.list(metaRoot)) {
        for (Path d : (Iterable<Path>) dirs::iterator) {
          Path meta = d.resolve("meta.json");
          if (Files.isRegularFile(meta)) {
            try {
              String n = new ObjectMapper().readTree(meta.toFile()).path("Name").asText("");
              if (!n.isEmpty()) {
                names.add(n);
              }
            } catch (IOException e) {
              // A broken context is not listed.
            }
          }
        }
      } catch (IOException e) {
        // Listing is only a hint in an error message.
      }
    }
    List<String> out = new ArrayList<>();
    out.add("default");
    out.addAll(names);
    return out;
  }

  private static HostSpec parseUrl(String url, String display, String context, Map<String, String> env, Path configDir)
      throws EngineException {
    return parseUrl(url, display, context, env, configDir, null);
  }

  private static HostSpec parseUrl(
      String url, String display, String context, Map<String, String> env, Path configDir, Path contextTls)
      throws EngineException {
    String what = context == null ? "host \"" + url + "\"" : "host \"" + url + "\" of docker context \"" + context + "\"";
    int sep = url.indexOf("://");
    String scheme = sep < 0 ? "" : url.substring(0, sep).toLowerCase(java.util.Locale.ROOT);
    switch (scheme) {
      case "unix":
        {
          String path = url.substring(sep + 3);
          if (!path.startsWith("/") || path.length() < 2) {
            throw new EngineException(
                Kind.UNSUPPORTED, "bad " + what + ": a unix socket needs an absolute path, e.g. unix:///var/run/docker.sock");
          }
          return new HostSpec(display, Transport.UNIX, context, Path.of(path), null, 0, null, null, null, null);
        }
      case "tcp":
        {
          URI u = parseUri(url, what);
          if (u.getHost() == null || u.getHost().isEmpty()) {
            throw new EngineException(Kind.UNSUPPORTED, "bad " + what + ": expected tcp://HOST:PORT");
          }
          if (u.getPath() != null && !u.getPath().isEmpty() && !u.getPath().equals("/")) {
            throw new EngineException(Kind.UNSUPPORTED, "bad " + what + ": a tcp host takes no path");
          }
          Path tls = contextTls;
          if (tls == null && context == null) {
            String verify = env.get("DOCKER_TLS_VERIFY");
            if (verify != null && !verify.isEmpty()) {
              String cp = env.get("DOCKER_CERT_PATH");
              tls = cp != null && !cp.isBlank() ? Path.of(cp) : configDir;
            }
          }
          if (tls != null) {
            for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
              if (!Files.isRegularFile(tls.resolve(f))) {
                throw new EngineException(
                    Kind.AUTH,
                    "cannot use TLS for "
                        + what
                        + ": "
                        + tls.resolve(f)
                        + " is missing; put ca.pem, cert.pem and key.pem there "
                        + (context == null ? "(DOCKER_CERT_PATH)" : "(docker context update)"));
              }
            }
          }
          int port = u.getPort() > 0 ? u.getPort() : tls != null ? 2376 : 2375;
          return new HostSpec(display, Transport.TCP, context, null, u.getHost(), port, tls, null, null, null);
        }
      case "ssh":
        {
          URI u = parseUri(url, what);
          if (u.getHost() == null || u.getHost().isEmpty()) {
            throw new EngineException(Kind.UNSUPPORTED, "bad " + what + ": expected ssh://[USER@]HOST[:PORT]");
          }
          if (u.getRawPath() != null && !u.getRawPath().isEmpty() && !u.getRawPath().equals("/")) {
            throw new EngineException(
                Kind.UNSUPPORTED,
                "bad " + what + ": an ssh host takes no path; name the remote socket with ?socket=/path/docker.sock");
          }
          String remote = DEFAULT_REMOTE_SOCKET;
          if (u.getRawQuery() != null) {
            for (String kv : u.getRawQuery().split("&")) {
              int eq = kv.indexOf('=');
              String k = eq < 0 ? kv : kv.substring(0, eq);
              String val = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
              if (k.equals("socket") && val.startsWith("/")) {
                remote = val;
              } else {
                throw new EngineException(
                    Kind.UNSUPPORTED,
                    "bad " + what + ": unknown or bad parameter \"" + kv + "\"; only socket=/absolute/path is known");
              }
            }
          }
          String cmd = env.get("JMIGRATE_SSH_COMMAND");
          List<String> ssh =
              cmd == null || cmd.isBlank() ? List.of("ssh") : List.copyOf(Arrays.asList(cmd.strip().split("\\s+")));
          return new HostSpec(
              display, Transport.SSH, context, null, u.getHost(), u.getPort(), null, u.getUserInfo(), remote, ssh);
        }
      default:
        throw new EngineException(
            Kind.UNSUPPORTED,
            "bad "
                + what
                + ": use unix:///path/docker.sock, tcp://host:port, ssh://[user@]host[:port] or a docker context name");
    }
  }

  private static URI parseUri(String url, String what) throws EngineException {
    try {
      return new URI(url);
    } catch (URISyntaxException e) {
      throw new EngineException(Kind.UNSUPPORTED, "bad " + what + ": " + e.getMessage());
    }
  }

  /** What to show the user: the value as given (context name or URL). */
  public String display() {
    return display;
  }

  public Transport transport() {
    return transport;
  }

  /** The docker context this host came from, if any. */
  public Optional<String> context() {
    return Optional.ofNullable(context);
  }

  /** The local socket of a unix host. */
  public Optional<Path> socketPath() {
    return Optional.ofNullable(socketPath);
  }

  /** The host name of a tcp or ssh host. */
  public Optional<String> host() {
    return Optional.ofNullable(host);
  }

  /** The port of a tcp host (defaulted), or of an ssh host when one was given. */
  public OptionalInt port() {
    return port > 0 ? OptionalInt.of(port) : OptionalInt.empty();
  }

  /** For a tcp host with TLS: the directory with ca.pem, cert.pem and key.pem. */
  public Optional<Path> tlsDir() {
    return Optional.ofNullable(tlsDir);
  }

  /** The ssh user, when the URL names one (else the user's ssh config decides). */
  public Optional<String> sshUser() {
    return Optional.ofNullable(sshUser);
  }

  /** The engine socket on the ssh host. */
  public Optional<String> remoteSocket() {
    return Optional.ofNullable(remoteSocket);
  }

  /** The ssh command and its leading arguments ({@code ssh} unless JMIGRATE_SSH_COMMAND says otherwise). */
  public List<String> sshCommand() {
    return sshCommand == null ? List.of() : sshCommand;
  }

  /** The URL the transport connects to (for ssh, the remote side; the local forwarded socket is private). */
  public String url() {
    switch (transport) {
      case UNIX:
        return "unix://" + socketPath;
      case TCP:
        return "tcp://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
      default:
        return "ssh://" + (sshUser == null ? "" : sshUser + "@") + host + (port > 0 ? ":" + port : "")
            + (remoteSocket.equals(DEFAULT_REMOTE_SOCKET) ? "" : "?socket=" + remoteSocket);
    }
  }

  @Override
  public String toString() {
    return display;
  }
}
