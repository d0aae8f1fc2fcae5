package io.jmigrate.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.dockerjava.core.LocalDirectorySSLConfig;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.transport.DockerHttpClient.Request;
import com.github.dockerjava.transport.DockerHttpClient.Response;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import io.jmigrate.archive.ChainIds;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.IoConsumer;
import io.jmigrate.blob.Pipe;
import io.jmigrate.engine.EngineException.Kind;
import java.io.Closeable;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to one Docker engine, through docker-java's zerodep transport, speaking raw JSON so that
 * fields jmigrate does not model survive a round trip. Thread-safe. Every failure is an {@link EngineException}
 * whose message names the action, the object and {@link #display()}.
 *
 * <p>Two HTTP clients share the engine: one with a response timeout for small calls, one without for long
 * operations (commit, save, load, archive, exec, stop), whose answers come only when the work is done. Both pool
 * connections, so several streams can run at once on one engine.
 */
public final class Engine implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

  /** The highest API version jmigrate speaks; newer engines are talked to in this version. */
  public static final String MAX_API_VERSION = "1.47";
  /** The oldest API version jmigrate accepts: Docker 19.03. */
  public static final String MIN_API_VERSION = "1.40";

  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(15);
  static final Duration API_TIMEOUT = Duration.ofMinutes(3);
  static final Duration SSH_TIMEOUT = Duration.ofSeconds(30);
  private static final int MAX_ERROR_BODY = 64 * 1024;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final HostSpec spec;
  private final String where;
  private final DockerHttpClient api;
  private final DockerHttpClient stream;
  private final SshTunnel tunnel;
  private final String apiVersion;
  private final ObjectNode version;
  private final ObjectNode info;
  private final AtomicBoolean closed = new AtomicBoolean();

  private Engine(
      HostSpec spec,
      String where,
      DockerHttpClient api,
      DockerHttpClient stream,
      SshTunnel tunnel,
      String apiVersion,
      ObjectNode version,
      ObjectNode info) {
    this.spec = spec;
    this.where = where;
    this.api = api;
    this.stream = stream;
    this.tunnel = tunnel;
    this.apiVersion = apiVersion;
    this.version = version;
    this.info = info;
  }

  /** Connects, checks the API version once, and reads /info. */
  public static Engine connect(HostSpec spec) throws EngineException {
    String where = spec.display().equals(spec.url()) ? spec.display() : spec.display() + " (" + spec.url() + ")";
    SshTunnel tunnel = null;
    URI target;
    LocalDirectorySSLConfig ssl = null;
    switch (spec.transport()) {
      case UNIX:
        {
          Path sock = spec.socketPath().orElseThrow();
          if (!Files.exists(sock)) {
            throw new EngineException(
                Kind.UNREACHABLE,
                "cannot reach the Docker engine at " + where + ": no such socket; is dockerd running? (-H/DOCKER_HOST)");
          }
          target = unixUri(sock);
          break;
        }
      case TCP:
        target = URI.create("tcp://" + hostPort(spec));
        if (spec.tlsDir().isPresent()) {
          ssl = new LocalDirectorySSLConfig(spec.tlsDir().get().toString());
        }
        break;
      default:
        tunnel = SshTunnel.open(spec, SSH_TIMEOUT);
        target = unixUri(tunnel.localSocket());
        break;
    }
    DockerHttpClient api = null;
    DockerHttpClient stream = null;
    try {
      try {
        api = client(target, ssl, API_TIMEOUT);
        stream = client(target, ssl, null);
      } catch (RuntimeException e) {
        if (ssl == null) {
          throw e;
        }
        // The SSLContext is built here: unreadable or mismatched PEM files fail now.
        throw new EngineException(Kind.AUTH,
            "cannot reach the Docker engine at " + where + ": cannot use the TLS files in " + spec.tlsDir().get()
                + " (" + rootCause(e).getMessage() + "); check ca.pem, cert.pem and key.pem there", e);
      }
      Probe probe = new Probe(spec, where, api, tunnel);
      String pong;
      try {
        pong = probe.text("GET", "/_ping", "ping", "the engine");
      } catch (EngineException e) {
        String m = e.getCause() == null ? "" : String.valueOf(rootCause(e.getCause()).getMessage());
        if (ssl != null && e.kind() == Kind.UNREACHABLE
            && (m.contains("Broken pipe") || m.contains("Connection reset"))) {
          // In TLS 1.3 the client's handshake ends before the server has checked the client certificate: a
          // refused certificate shows as the connection closed under the first request, not as an SSLException.
          throw new EngineException(Kind.AUTH, "cannot reach the Docker engine at " + where + ": TLS failed (the "
              + "engine closed the connection after the handshake: " + m + "; it most likely refused the client "
              + "certificate); check the certificates (DOCKER_CERT_PATH, DOCKER_TLS_VERIFY or the context's TLS "
              + "files)", e);
        }
        throw e;
      }
      if (!pong.strip().equals("OK")) {
        throw new EngineException(
            Kind.UNREACHABLE, "cannot reach the Docker engine at " + where + ": /_ping answered \"" + abbreviate(pong)
                + "\"; is this a Docker engine?");
      }
      ObjectNode version = probe.json("GET", "/version", "read the version of", "the engine");
      String negotiated = negotiate(version.path("ApiVersion").asText(""), where);
      ObjectNode info = probe.json("GET", "/v" + negotiated + "/info", "read the info of", "the engine");
      LOG.debug("connected to {}: engine {} API {} (using {})", where, version.path("Version").asText(),
          version.path("ApiVersion").asText(), negotiated);
      return new Engine(spec, where, api, stream, tunnel, negotiated, version, info);
    } catch (EngineException | RuntimeException e) {
      closeQuietly(api);
      closeQuietly(stream);
      if (tunnel != null) {
        tunnel.close();
      }
      throw e;
    }
  }

  private static String hostPort(HostSpec spec) {
    String h = spec.host().orElseThrow();
    return (h.contains(":") ? "[" + h + "]" : h) + ":" + spec.port().orElseThrow();
  }

  private static URI unixUri(Path sock) throws EngineException {
    try {
      return new URI("unix", null, sock.toString(), null);
    } catch (URISyntaxException e) {
      throw new EngineException(Kind.UNSUPPORTED, "bad unix socket path " + sock + ": " + e.getMessage());
    }
  }

  private static DockerHttpClient client(URI target, LocalDirectorySSLConfig ssl, Duration responseTimeout) {
    ZerodepDockerHttpClient.Builder b =
        new ZerodepDockerHttpClient.Builder().dockerHost(target).connectionTimeout(CONNECT_TIMEOUT).maxConnections(64);
    if (ssl != null) {
      b.sslConfig(ssl);
    }
    if (responseTimeout != null) {
      b.responseTimeout(responseTimeout);
    }
    return b.build();
  }

  /**
   * The API version to speak: the engine's, capped at {@link #MAX_API_VERSION}; UNSUPPORTED below
   * {@link #MIN_API_VERSION}.
   */
  static String negotiate(String serverApi, String where) throws EngineException {
    int[] server = parseVersion(serverApi);
    if (server == null) {
      throw new EngineException(
          Kind.UNSUPPORTED, "the Docker engine at " + where + " reports no usable API version (\"" + serverApi + "\")");
    }
    if (compare(server, parseVersion(MIN_API_VERSION)) < 0) {
      throw new EngineException(
          Kind.UNSUPPORTED,
          "the Docker engine at " + where + ": engine API " + serverApi + " is too old; jmigrate needs "
              + MIN_API_VERSION + " (Docker 19.03) or newer: upgrade Docker there");
    }
    return compare(server, parseVersion(MAX_API_VERSION)) > 0 ? MAX_API_VERSION : server[0] + "." + server[1];
  }

  private static int[] parseVersion(String v) {
    String[] p = v.strip().split("\\.");
    if (p.length != 2) {
      return null;
    }
    try {
      return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1])};
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static int compare(int[] a, int[] b) {
    return a[0] != b[0] ? Integer.compare(a[0], b[0]) : Integer.compare(a[1], b[1]);
  }

  /** The host as the user named it. */
  public String display() {
    return spec.display();
  }

  /** How the host was resolved. */
  public HostSpec spec() {
    return spec;
  }

  /** The negotiated API version, e.g. "1.41". */
  public String apiVersion() {
    return apiVersion;
  }

  /** The engine's /info document (cached from connect); a copy. */
  public ObjectNode info() {
    return info.deepCopy();
  }

  /** The engine's /version document (cached from connect); a copy. */
  public ObjectNode version() {
    return version.deepCopy();
  }

  /**
   * Whether the engine is Podman answering the Docker API ({@code podman system service}): its /version names a
   * "Podman Engine" component. Where the compatible API differs, callers adapt (docs/engine.md, "Podman").
   */
  public boolean isPodman() {
    for (com.fasterxml.jackson.databind.JsonNode c : version.path("Components")) {
      if (c.path("Name").asText("").startsWith("Podman")) {
        return true;
      }
    }
    return false;
  }

  /** The CPU architecture in OCI terms (amd64, arm64, ...), normalised from /info Architecture. */
  public String architecture() {
    return normaliseArchitecture(info.path("Architecture").asText(""));
  }

  /** Maps uname machine names (what /info reports) to OCI/Go architecture names. */
  static String normaliseArchitecture(String arch) {
    String a = arch.strip().toLowerCase(Locale.ROOT);
    switch (a) {
      case "x86_64":
      case "x86-64":
      case "amd64":
        return "amd64";
      case "aarch64":
      case "arm64":
      case "armv8l":
        return "arm64";
      case "armv7l":
      case "armv7":
      case "armv6l":
      case "armhf":
      case "arm":
        return "arm";
      case "i386":
      case "i486":
      case "i586":
      case "i686":
      case "x86":
        return "386";
      case "ppc64le":
        return "ppc64le";
      case "s390x":
        return "s390x";
      case "riscv64":
        return "riscv64";
      case "mips64":
      case "mips64el":
        return a.equals("mips64el") ? "mips64le" : "mips64";
      default:
        return a;
    }
  }

  /** Volume drivers the engine has (/info Plugins.Volume). */
  public Set<String> volumeDrivers() {
    Set<String> out = new LinkedHashSet<>();
    for (JsonNode n : info.path("Plugins").path("Volume")) {
      out.add(n.asText());
    }
    return Collections.unmodifiableSet(out);
  }

  /**
   * True when this engine runs on this machine (unix socket) and its data root is readable by this process, so
   * volume Mountpoints can be read and written directly, which is about 8 times faster than the archive API.
   */
  public boolean isLocal() {
    if (spec.transport() != HostSpec.Transport.UNIX) {
      return false;
    }
    Optional<Path> root = dataRoot();
    return root.isPresent() && Files.isDirectory(root.get()) && Files.isReadable(root.get());
  }

  /** The engine's DockerRootDir from /info, when it reports one. */
  public Optional<Path> dataRoot() {
    String r = info.path("DockerRootDir").asText("");
    return r.isEmpty() ? Optional.empty() : Optional.of(Path.of(r));
  }

  /** Free bytes under the engine's data root, when it can be known (local engines); empty otherwise. */
  public OptionalLong freeDiskBytes() {
    if (!isLocal()) {
      return OptionalLong.empty();
    }
    try {
      FileStore fs = Files.getFileStore(dataRoot().orElseThrow());
      return OptionalLong.of(fs.getUsableSpace());
    } catch (IOException e) {
      LOG.debug("cannot read the free space of {}", dataRoot(), e);
      return OptionalLong.empty();
    }
  }

  // ---- containers

  /** Inspects a container by name or id; NOT_FOUND when there is none. */
  public ObjectNode inspectContainer(String ref) throws EngineException {
    ObjectNode inspect = call(api, "GET", "/containers/" + seg(ref) + "/json", null, "inspect container", ref).json();
    if (isPodman()) {
      withoutPodmanDefaults(inspect);
    }
    return inspect;
  }

  static final String PODMAN_DEFAULT_NETWORK = "podman";

  /**
   * An image config without the environment Podman adds to a container (and so to what a commit of it writes);
   * the bytes unchanged when there is nothing to remove.
   */
  public static byte[] withoutPodmanImageDefaults(byte[] config) {
    try {
      ObjectNode c = (ObjectNode) JSON.readTree(config);
      if (!(c.path("config").path("Env") instanceof ArrayNode env)) {
        return config;
      }
      String hostname = c.path("config").path("Hostname").asText("");
      ArrayNode kept = env.arrayNode();
      for (JsonNode e : env) {
        String v = e.asText();
        // The committed container's HOSTNAME too: its own name (the short container id), stale anywhere else.
        boolean podmanHostname = v.startsWith("HOSTNAME=") && (v.equals("HOSTNAME=" + hostname)
            || v.substring("HOSTNAME=".length()).matches("[0-9a-f]{12}"));
        if (!PODMAN_ENV.contains(v) && !podmanHostname) {
          kept.add(e);
        }
      }
      if (kept.size() == env.size()) {
        return config;
      }
      ((ObjectNode) c.path("config")).set("Env", kept);
      return JSON.writeValueAsBytes(c);
    } catch (IOException | ClassCastException e) {
      return config;
    }
  }

  /** Bind options Docker's create takes; Podman also lists nosuid, nodev, rbind, which it sets by default. */
  private static final Set<String> DOCKER_BIND_OPTIONS = Set.of("rw", "ro", "z", "Z", "nocopy");
  private static final Set<String> PROPAGATION = Set.of("private", "rprivate", "shared", "rshared", "slave",
      "rslave");

  /**
   * A Podman bind ({@code web-data:/data:rw,rprivate,nosuid,nodev,rbind}) in Docker's form: Docker refuses the
   * options it does not know ("invalid mode"), and propagation on a named volume.
   */
  static String dockerBind(String bind) {
    String[] p = bind.split(":");
    if (p.length < 3) {
      return bind;
    }
    boolean hostPath = p[0].startsWith("/");
    List<String> kept = new ArrayList<>();
    for (String o : p[2].split(",")) {
      if (DOCKER_BIND_OPTIONS.contains(o) || hostPath && PROPAGATION.contains(o)) {
        kept.add(o);
      }
    }
    return p[0] + ":" + p[1] + (kept.isEmpty() ? "" : ":" + String.join(",", kept));
  }

  /** The shell's default PATH, which Podman (and Docker) set when the image has none. */
  static final String DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  /** What Podman 4.3 adds to a container's environment on create (HOSTNAME besides, with its own value). */
  static final Set<String> PODMAN_ENV = Set.of("container=podman", "HOME=/root", "TERM=xterm", DEFAULT_PATH);

  /**
   * Removes from a Podman container's inspect what only Podman means: its runtime name "oci", and from Config.Env
   * what Podman itself added on create (4.3: {@code container=podman},
   * {@code HOSTNAME=<its hostname>}, {@code HOME=/root}, {@code TERM=xterm}, the default {@code PATH}), so that the
   * environment recorded, compared and recreated is the one the user set, and the image's: a clone made on Podman
   * and moved back to Docker gets its original list, and Docker (or Podman again) adds its own defaults itself.
   * (A user who set exactly one of those values by hand loses nothing: each engine sets it again.)
   */
  static void withoutPodmanDefaults(ObjectNode inspect) {
    // Podman names its default OCI runtime "oci" in HostConfig.Runtime; Docker refuses a create naming it
    // ("Unknown runtime specified oci"), and both pick their default when none is named.
    if (inspect.path("HostConfig") instanceof ObjectNode host) {
      if ("oci".equals(host.path("Runtime").asText())) {
        host.remove("Runtime");
      }
      // Podman's default network is named "podman" where Docker's is "bridge": the same thing, not a user network
      // to recreate on the target.
      if (PODMAN_DEFAULT_NETWORK.equals(host.path("NetworkMode").asText())) {
        host.put("NetworkMode", "bridge");
      }
      if (inspect.path("NetworkSettings").path("Networks") instanceof ObjectNode nets
          && nets.has(PODMAN_DEFAULT_NETWORK) && !nets.has("bridge")) {
        nets.set("bridge", nets.remove(PODMAN_DEFAULT_NETWORK));
      }
      if (host.path("Binds") instanceof ArrayNode binds) {
        ArrayNode docker = binds.arrayNode();
        binds.forEach(b -> docker.add(dockerBind(b.asText())));
        host.set("Binds", docker);
      }
    }
    JsonNode config = inspect.path("Config");
    if (!(config.path("Env") instanceof ArrayNode)) {
      return;
    }
    String hostname = config.path("Hostname").asText("");
    Set<String> added = new java.util.HashSet<>(PODMAN_ENV);
    added.add("HOSTNAME=" + hostname);
    ArrayNode env = (ArrayNode) config.path("Env");
    ArrayNode kept = env.arrayNode();
    for (JsonNode e : env) {
      if (!added.contains(e.asText())) {
        kept.add(e);
      }
    }
    ((ObjectNode) config).set("Env", kept);
  }

  /** As {@link #inspectContainer}, empty when there is none. */
  public Optional<ObjectNode> findContainer(String ref) throws EngineException {
    return find(() -> inspectContainer(ref));
  }

  /** GET /containers/json with these filters (e.g. label=com.docker.compose.project=app). */
  public List<ObjectNode> listContainers(boolean all, Map<String, List<String>> filters) throws EngineException {
    String q = "?all=" + (all ? "1" : "0") + filtersParam(filters);
    return objects(call(api, "GET", "/containers/json" + q, null, "list containers", filtersText(filters)).node());
  }

  /** POST /containers/create; returns the new id. CONFLICT when the name is taken. */
  public String createContainer(String name, ObjectNode body) throws EngineException {
    String q = name == null || name.isEmpty() ? "" : "?name=" + q(name);
    ObjectNode r = call(api, "POST", "/containers/create" + q, body, "create container", name == null ? "" : name).json();
    for (JsonNode w : r.path("Warnings")) {
      LOG.warn("creating container {} on {}: {}", name, where, w.asText());
    }
    return r.path("Id").asText();
  }

  public void startContainer(String ref) throws EngineException {
    // 304: already started, which is what the caller wants.
    call(api, "POST", "/containers/" + seg(ref) + "/start", null, "start container", ref).discard();
  }

  /** Stops with the given grace period (null = the container's StopTimeout or the engine default). */
  public void stopContainer(String ref, Duration timeout) throws EngineException {
    String q = timeout == null ? "" : "?t=" + Math.max(0, timeout.toSeconds());
    // No response timeout: the engine answers after the grace period and the kill.
    call(stream, "POST", "/containers/" + seg(ref) + "/stop" + q, null, "stop container", ref).discard();
  }

  public void pauseContainer(String ref) throws EngineException {
    call(api, "POST", "/containers/" + seg(ref) + "/pause", null, "pause container", ref).discard();
  }

  public void unpauseContainer(String ref) throws EngineException {
    call(api, "POST", "/containers/" + seg(ref) + "/unpause", null, "unpause container", ref).discard();
  }

  public void killContainer(String ref, String signal) throws EngineException {
    String q = signal == null ? "" : "?signal=" + q(signal);
    call(api, "POST", "/containers/" + seg(ref) + "/kill" + q, null, "kill container", ref).discard();
  }

  public void renameContainer(String ref, String newName) throws EngineException {
    call(api, "POST", "/containers/" + seg(ref) + "/rename?name=" + q(newName), null, "rename container", ref)
        .discard();
  }

  /** DELETE /containers/{ref}; absent is not an error. */
  public void removeContainer(String ref, boolean force, boolean removeAnonymousVolumes) throws EngineException {
    String q = "?force=" + bool(force) + "&v=" + bool(removeAnonymousVolumes);
    ignoreNotFound(() -> call(stream, "DELETE", "/containers/" + seg(ref) + q, null, "remove container", ref).discard());
  }

  /**
   * POST /containers/{ref}/wait: waits until the container stops (condition "not-running") and returns its exit
   * code. No response timeout: the caller bounds the wait by stopping the container.
   */
  public int waitContainer(String ref) throws EngineException {
    ObjectNode r =
        call(stream, "POST", "/containers/" + seg(ref) + "/wait?condition=not-running", null, "wait for container", ref)
            .json();
    if (r.hasNonNull("Error") && r.path("Error").hasNonNull("Message")) {
      throw new EngineException(
          Kind.FAILED, "cannot wait for container " + ref + " on " + where + ": " + r.path("Error").path("Message").asText());
    }
    return r.path("StatusCode").asInt();
  }

  // ---- images

  /**
   * POST /commit. The answer comes only at the end, so the read timeout is long. Returns the image id
   * (sha256:...). {@code repo}/{@code tag} may be null.
   */
  public String commit(String container, String repo, String tag, boolean pause) throws EngineException {
    StringBuilder q = new StringBuilder("?container=").append(q(container)).append("&pause=").append(bool(pause));
    if (repo != null) {
      q.append("&repo=").append(q(repo));
    }
    if (tag != null) {
      q.append("&tag=").append(q(tag));
    }
    // An empty configuration as the body: Docker takes the container's own for every field left out, and Podman's
    // compatible API refuses a commit without a body ("Decode(): EOF", Podman 4.3).
    ObjectNode r = call(stream, "POST", "/commit" + q, JSON.createObjectNode(), "commit container", container)
        .json();
    return imageId(r.path("Id").asText());
  }

  /** An image id in Docker's form, {@code sha256:<hex>}: Podman's compatible API answers the bare hex. */
  static String imageId(String id) {
    return id.isEmpty() || id.contains(":") ? id : "sha256:" + id;
  }

  /** Inspects an image; NOT_FOUND when there is none. */
  public ObjectNode inspectImage(String ref) throws EngineException {
    return call(api, "GET", "/images/" + seg(ref) + "/json", null, "inspect image", ref).json();
  }

  public Optional<ObjectNode> findImage(String ref) throws EngineException {
    return find(() -> inspectImage(ref));
  }

  /** GET /images/json (all=1 includes intermediate images). */
  public List<ObjectNode> listImages(boolean all) throws EngineException {
    return objects(call(api, "GET", "/images/json?all=" + bool(all), null, "list images", "").node());
  }

  public void tagImage(String ref, String repo, String tag) throws EngineException {
    String q = "?repo=" + q(repo) + (tag == null ? "" : "&tag=" + q(tag));
    call(api, "POST", "/images/" + seg(ref) + "/tag" + q, null, "tag image", ref).discard();
  }

  /** DELETE /images/{ref}; absent is not an error. */
  public void removeImage(String ref, boolean force) throws EngineException {
    ignoreNotFound(
        () -> call(stream, "DELETE", "/images/" + seg(ref) + "?force=" + bool(force), null, "remove image", ref).discard());
  }

  /**
   * GET /images/get for one image: the live response body, read as the engine writes it. The caller closes the
   * stream; closing it before the end aborts the transfer and releases the connection. Legacy or OCI layout, per
   * engine version.
   */
  public InputStream saveImage(String ref) throws EngineException {
    return call(stream, "GET", "/images/" + seg(ref) + "/get", null, "save image", ref).stream();
  }

  /**
   * Loads the archive that {@code producer} writes, streamed through a {@link Pipe} named {@code name}. When the
   * producer fails (a layer that cannot be read: a truncated blob, a broken save on another engine), the stream the
   * engine reads breaks and the load fails too, with an error that blames the connection; the producer's own
   * failure is the cause worth reporting, so it is what this throws (an IOException; another failure wrapped in
   * one), read before the pipe is closed.
   *
   * @throws EngineException when the engine refused or failed the load on its own
   */
  public List<String> loadImage(String name, IoConsumer<OutputStream> producer) throws EngineException, IOException {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try (InputStream tar = Pipe.produce(name, out -> {
      try {
        producer.accept(out);
      } catch (IOException | RuntimeException | Error e) {
        failure.set(e);
        throw e;
      }
    })) {
      try {
        return loadImage(tar);
      } catch (EngineException | RuntimeException e) {
        Throwable p = failure.get();
        if (p instanceof IOException) {
          throw (IOException) p;
        }
        if (p != null) {
          throw new IOException(p.getMessage(), p);
        }
        throw e;
      }
    }
  }

  /**
   * POST /images/load. The engine answers 200 even when the load fails, so the JSON lines of the body are read
   * and an {@code error} line becomes an exception. Returns what the engine reports as loaded (image ids or
   * tags). The caller closes {@code tar}; it is streamed, never buffered whole.
   */
  public List<String> loadImage(InputStream tar) throws EngineException {
    String action = "load an image";
    Call c = call(stream, "POST", "/images/load?quiet=1", new NonClosingInputStream(tar), action, "", "application/x-tar");
    List<String> loaded = new ArrayList<>();
    try (c) {
      MappingIterator<JsonNode> it = JSON.readerFor(JsonNode.class).readValues(c.response.getBody());
      while (it.hasNextValue()) {
        JsonNode line = it.nextValue();
        String error =
            line.path("errorDetail").hasNonNull("message")
                ? line.path("errorDetail").path("message").asText()
                : line.hasNonNull("error") ? line.path("error").asText() : null;
        if (error != null) {
          throw new EngineException(Kind.FAILED, c.status, "cannot load the image on " + where + ": " + error, null);
        }
        String s = line.path("stream").asText("").strip();
        for (String prefix : List.of("Loaded image ID: ", "Loaded image: ")) {
          if (s.startsWith(prefix)) {
            loaded.add(s.substring(prefix.length()).strip());
          }
        }
      }
    } catch (JsonProcessingException e) {
      throw new EngineException(Kind.FAILED, "cannot load the image on " + where + ": unreadable answer: "
          + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw transportFailure(e, action, "");
    }
    return loaded;
  }

  /**
   * The layer chain ids the engine has, from every image's RootFS.Layers: chain(0)=diff(0),
   * chain(n)=sha256(chain(n-1) + " " + diff(n)). A load may omit the layers of chains in this set.
   */
  public Set<Digest> layerChainIds() throws EngineException {
    Set<Digest> out = new HashSet<>();
    Set<String> seen = new HashSet<>();
    for (ObjectNode img : listImages(true)) {
      String id = img.path("Id").asText();
      if (id.isEmpty() || !seen.add(id)) {
        continue;
      }
      Optional<ObjectNode> inspect = findImage(id); // may be removed meanwhile
      if (inspect.isEmpty()) {
        continue;
      }
      List<Digest> diffs = new ArrayList<>();
      for (JsonNode l : inspect.get().path("RootFS").path("Layers")) {
        if (Digest.isValid(l.asText())) {
          diffs.add(Digest.parse(l.asText()));
        }
      }
      out.addAll(ChainIds.of(diffs));
    }
    return out;
  }

  // ---- volumes

  public Optional<ObjectNode> findVolume(String name) throws EngineException {
    return find(() -> call(api, "GET", "/volumes/" + seg(name), null, "inspect volume", name).json());
  }

  /** GET /volumes (the "Volumes" array; empty when the engine reports null). */
  public List<ObjectNode> listVolumes(Map<String, List<String>> filters) throws EngineException {
    String q = filters == null || filters.isEmpty() ? "" : "?" + filtersParam(filters).substring(1);
    return objects(call(api, "GET", "/volumes" + q, null, "list volumes", filtersText(filters)).json().path("Volumes"));
  }

  /** POST /volumes/create with Name, Driver, DriverOpts, Labels. */
  public ObjectNode createVolume(ObjectNode body) throws EngineException {
    return call(api, "POST", "/volumes/create", body, "create volume", body.path("Name").asText("")).json();
  }

  /** DELETE /volumes/{name}; absent is not an error. */
  public void removeVolume(String name, boolean force) throws EngineException {
    ignoreNotFound(
        () -> call(api, "DELETE", "/volumes/" + seg(name) + "?force=" + bool(force), null, "remove volume", name).discard());
  }

  // ---- networks

  public Optional<ObjectNode> findNetwork(String ref) throws EngineException {
    return find(() -> call(api, "GET", "/networks/" + seg(ref), null, "inspect network", ref).json());
  }

  /** GET /networks with these filters. */
  public List<ObjectNode> listNetworks(Map<String, List<String>> filters) throws EngineException {
    String q = filters == null || filters.isEmpty() ? "" : "?" + filtersParam(filters).substring(1);
    return objects(call(api, "GET", "/networks" + q, null, "list networks", filtersText(filters)).node());
  }

  /** POST /networks/create; returns the id. */
  public String createNetwork(ObjectNode body) throws EngineException {
    ObjectNode r = call(api, "POST", "/networks/create", body, "create network", body.path("Name").asText("")).json();
    if (!r.path("Warning").asText("").isEmpty()) {
      LOG.warn("creating network {} on {}: {}", body.path("Name").asText(""), where, r.path("Warning").asText());
    }
    return r.path("Id").asText();
  }

  /** POST /networks/{net}/connect with an EndpointConfig (aliases, IPAMConfig). */
  public void connectNetwork(String network, String container, ObjectNode endpointConfig) throws EngineException {
    ObjectNode body = JSON.createObjectNode().put("Container", container);
    if (endpointConfig != null) {
      body.set("EndpointConfig", endpointConfig);
    }
    call(api, "POST", "/networks/" + seg(network) + "/connect", body, "connect container " + container + " to network",
        network).discard();
  }

  public void disconnectNetwork(String network, String container, boolean force) throws EngineException {
    ObjectNode body = JSON.createObjectNode().put("Container", container).put("Force", force);
    call(api, "POST", "/networks/" + seg(network) + "/disconnect", body,
        "disconnect container " + container + " from network", network).discard();
  }

  /** DELETE /networks/{ref}; absent is not an error. */
  public void removeNetwork(String ref) throws EngineException {
    ignoreNotFound(() -> call(api, "DELETE", "/networks/" + seg(ref), null, "remove network", ref).discard());
  }

  // ---- archive and exec

  /**
   * GET /containers/{ref}/archive?path=P: a tar whose top entry is the last element of P. Works on running,
   * paused, stopped and created containers. The stream is the live response body: the caller closes it, and
   * closing it before the end aborts the transfer and releases the connection.
   */
  public InputStream getArchive(String container, String path) throws EngineException {
    return call(stream, "GET", "/containers/" + seg(container) + "/archive?path=" + q(path), null,
        "read " + path + " from container", container).stream();
  }

  /**
   * PUT /containers/{ref}/archive?path=P; P must exist. Never sets copyUIDGID (it would chown everything to the
   * container's user). The tar is streamed, never buffered whole. The caller closes {@code tar}.
   */
  public void putArchive(String container, String path, InputStream tar) throws EngineException {
    call(stream, "PUT", "/containers/" + seg(container) + "/archive?path=" + q(path), new NonClosingInputStream(tar),
        "write " + path + " into container", container, "application/x-tar").discard();
  }

  /**
   * Runs a command in a running container, sending each output line (stdout and stderr) to {@code lines}.
   * On timeout, kills nothing (the engine has no exec kill) but returns with {@code timedOut} set.
   */
  public ExecResult exec(String container, List<String> cmd, Duration timeout, Consumer<String> lines)
      throws EngineException {
    String action = "run " + String.join(" ", cmd) + " in container";
    ObjectNode create = JSON.createObjectNode();
    create.put("AttachStdin", false).put("AttachStdout", true).put("AttachStderr", true).put("Tty", false);
    ArrayNode c = create.putArray("Cmd");
    cmd.forEach(c::add);
    String id = call(api, "POST", "/containers/" + seg(container) + "/exec", create, action, container).json()
        .path("Id").asText();
    ObjectNode start = JSON.createObjectNode().put("Detach", false).put("Tty", false);
    Call running = call(stream, "POST", "/exec/" + seg(id) + "/start", start, action, container);
    AtomicBoolean timedOut = new AtomicBoolean();
    Thread watchdog =
        new Thread(
            () -> {
              try {
                Thread.sleep(timeout.toMillis());
                timedOut.set(true);
                running.close();
              } catch (InterruptedException e) {
                // finished in time
              }
            },
            "jmigrate-exec-timeout");
    watchdog.setDaemon(true);
    watchdog.start();
    try (running) {
      Demux.lines(running.response.getBody(), lines);
    } catch (IOException e) {
      if (!timedOut.get()) {
        throw transportFailure(e, action, container);
      }
    } finally {
      watchdog.interrupt();
    }
    if (timedOut.get()) {
      return ExecResult.of(-1, true, execPid(id, container));
    }
    // The stream ends when the process ends; the exit code can lag a moment behind.
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (true) {
      ObjectNode st = call(api, "GET", "/exec/" + seg(id) + "/json", null, "inspect exec of", container).json();
      if (!st.path("Running").asBoolean(false) && st.hasNonNull("ExitCode")) {
        return ExecResult.of(st.path("ExitCode").asInt(), false);
      }
      if (System.nanoTime() > deadline) {
        return ExecResult.of(-1, true);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new EngineException(Kind.FAILED, "interrupted while waiting for " + action + " " + container, e);
      }
    }
  }

  /** The host pid of an exec's process as the engine reports it, or 0 when it cannot be told. */
  private long execPid(String execId, String container) {
    try {
      return call(api, "GET", "/exec/" + seg(execId) + "/json", null, "inspect exec of", container).json()
          .path("Pid").asLong(0);
    } catch (EngineException e) {
      LOG.debug("cannot inspect exec {} of {}: {}", execId, container, e.getMessage());
      return 0;
    }
  }

  /** The outcome of {@link #exec}. */
  public static final class ExecResult {
    private final int exitCode;
    private final boolean timedOut;
    private final long pid;

    private ExecResult(int exitCode, boolean timedOut, long pid) {
      this.exitCode = exitCode;
      this.timedOut = timedOut;
      this.pid = pid;
    }

    public static ExecResult of(int exitCode, boolean timedOut) {
      return new ExecResult(exitCode, timedOut, 0);
    }

    /** As {@link #of(int, boolean)}, with the host pid of a process that is still running. */
    public static ExecResult of(int exitCode, boolean timedOut, long pid) {
      return new ExecResult(exitCode, timedOut, pid);
    }

    /**
     * For a timed-out exec: the host pid (in the engine host's pid namespace) of its process, which the engine
     * API cannot stop; 0 when unknown.
     */
    public long pid() {
      return pid;
    }

    /** -1 when timed out. */
    public int exitCode() {
      return exitCode;
    }

    public boolean timedOut() {
      return timedOut;
    }
  }

  /** Closes the connections and, for ssh hosts, ends the ssh process. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    closeQuietly(api);
    closeQuietly(stream);
    if (tunnel != null) {
      tunnel.close();
    }
  }

  @Override
  public String toString() {
    return "Engine[" + where + ", API " + apiVersion + "]";
  }

  // ---- plumbing

  /** An HTTP exchange whose status was checked; closing it releases (or aborts) the connection. */
  private final class Call implements AutoCloseable {
    final Response response;
    final int status;
    final String action;
    final String object;

    Call(Response response, String action, String object) {
      this.response = response;
      this.status = response.getStatusCode();
      this.action = action;
      this.object = object;
    }

    ObjectNode json() throws EngineException {
      JsonNode n = node();
      if (n instanceof ObjectNode) {
        return (ObjectNode) n;
      }
      throw new EngineException(Kind.FAILED, status,
          "cannot " + action + " " + object + " on " + where + ": the engine answered " + n.getNodeType(), null);
    }

    JsonNode node() throws EngineException {
      try {
        JsonNode n = JSON.readTree(response.getBody());
        return n == null ? JSON.createObjectNode() : n;
      } catch (JsonProcessingException e) {
        throw new EngineException(Kind.FAILED, status,
            "cannot " + action + " " + object + " on " + where + ": unreadable answer: " + e.getOriginalMessage(), e);
      } catch (IOException e) {
        throw transportFailure(e, action, object);
      } finally {
        close();
      }
    }

    void discard() throws EngineException {
      try {
        response.getBody().transferTo(OutputStream.nullOutputStream());
      } catch (IOException e) {
        throw transportFailure(e, action, object);
      } finally {
        close();
      }
    }

    /**
     * The live body. A transfer that breaks (the engine died, the connection dropped) fails with an IOException
     * that names the action, the object and the host.
     */
    InputStream stream() {
      return new FilterInputStream(response.getBody()) {
        private boolean done;

        @Override
        public int read() throws IOException {
          try {
            return super.read();
          } catch (IOException e) {
            throw broken(e);
          }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          try {
            return super.read(b, off, len);
          } catch (IOException e) {
            throw broken(e);
          }
        }

        @Override
        public long skip(long n) throws IOException {
          try {
            return super.skip(n);
          } catch (IOException e) {
            throw broken(e);
          }
        }

        private IOException broken(IOException e) {
          if (done) {
            return e;
          }
          String obj = object == null || object.isEmpty() ? "" : " " + object;
          return new IOException(
              "cannot " + action + obj + " on " + where + ": the transfer broke (" + rootCause(e).getMessage()
                  + "); is dockerd still running?",
              e);
        }

        @Override
        public void close() {
          if (!done) {
            done = true;
            Call.this.close();
          }
        }
      };
    }

    @Override
    public void close() {
      response.close();
    }
  }

  private Call call(DockerHttpClient client, String method, String path, Object body, String action, String object)
      throws EngineException {
    return call(client, method, path, body, action, object, "application/json");
  }

  private Call call(
      DockerHttpClient client, String method, String path, Object body, String action, String object, String type)
      throws EngineException {
    if (closed.get()) {
      throw new EngineException(Kind.FAILED, "cannot " + action + " " + object + " on " + where + ": the connection is closed");
    }
    Request.Builder rb = Request.builder().method(method).path("/v" + apiVersion + path);
    if (body instanceof ObjectNode) {
      try {
        rb.bodyBytes(JSON.writeValueAsBytes(body)).putHeader("Content-Type", "application/json");
      } catch (JsonProcessingException e) {
        throw new IllegalArgumentException(e);
      }
    } else if (body instanceof InputStream) {
      // Expect: 100-continue lets the engine refuse before the body is sent (e.g. 404 for an archive path that
      // does not exist): without it the client keeps writing, the engine closes the connection, and the caller
      // sees a broken pipe instead of the engine's message (RFC 9110, 10.1.1; Go's net/http honours it).
      rb.body((InputStream) body).putHeader("Content-Type", type).putHeader("Expect", "100-continue");
    }
    Response r;
    try {
      r = client.execute(rb.build());
    } catch (RuntimeException e) {
      throw transportFailure(e, action, object);
    }
    Call c = new Call(r, action, object);
    if (c.status >= 400) {
      try (c) {
        throw httpError(c.status, readError(r), action, object);
      }
    }
    return c;
  }

  private static String readError(Response r) {
    try {
      byte[] b = r.getBody().readNBytes(MAX_ERROR_BODY);
      String text = new String(b, StandardCharsets.UTF_8).strip();
      try {
        JsonNode n = JSON.readTree(text);
        if (n != null && n.hasNonNull("message")) {
          return n.path("message").asText().strip();
        }
      } catch (JsonProcessingException e) {
        // Not JSON: the text itself is the message.
      }
      return text.isEmpty() ? "(no message)" : text;
    } catch (IOException e) {
      return "(unreadable answer: " + e.getMessage() + ")";
    }
  }

  private EngineException httpError(int status, String message, String action, String object) {
    Kind kind = status == 404 ? Kind.NOT_FOUND : status == 409 ? Kind.CONFLICT : Kind.FAILED;
    String obj = object == null || object.isEmpty() ? "" : " " + object;
    return new EngineException(kind, status, "cannot " + action + obj + " on " + where + ": " + message, null);
  }

  /** A transport failure (the request did not get an answer) as an EngineException. */
  private EngineException transportFailure(Exception e, String action, String object) {
    return transportFailure(spec, where, tunnel, e, action, object);
  }

  static EngineException transportFailure(
      HostSpec spec, String where, SshTunnel tunnel, Exception e, String action, String object) {
    if (tunnel != null) {
      EngineException ssh = tunnel.isAlive() ? tunnel.knownFailure() : tunnel.failure();
      if (ssh != null) {
        return new EngineException(ssh.kind(), ssh.status(), ssh.getMessage(), e);
      }
    }
    Throwable root = rootCause(e);
    String obj = object == null || object.isEmpty() ? "" : " " + object;
    String msg = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    if (root instanceof SocketTimeoutException || root instanceof InterruptedIOException && !(root instanceof java.nio.channels.ClosedByInterruptException)) {
      return new EngineException(Kind.TIMEOUT,
          "cannot " + action + obj + " on " + where + ": the engine did not answer in time (" + msg + ")", e);
    }
    if (root instanceof SSLException) {
      return new EngineException(Kind.AUTH, "cannot reach the Docker engine at " + where + ": TLS failed (" + msg
          + "); check the certificates (DOCKER_CERT_PATH, DOCKER_TLS_VERIFY or the context's TLS files)", e);
    }
    if (root instanceof UnknownHostException) {
      return new EngineException(Kind.UNREACHABLE,
          "cannot reach the Docker engine at " + where + ": unknown host " + msg + "; check -H/DOCKER_HOST", e);
    }
    if (root instanceof ConnectException || root instanceof NoRouteToHostException
        || msg.contains("Connection refused") || msg.contains("No such file")) {
      String hint = spec.transport() == HostSpec.Transport.TCP
          ? "is dockerd listening there? (-H/DOCKER_HOST)" : "is dockerd running? (-H/DOCKER_HOST)";
      return new EngineException(Kind.UNREACHABLE,
          "cannot reach the Docker engine at " + where + ": " + msg + "; " + hint, e);
    }
    if (msg.contains("Permission denied") || msg.contains("Access denied")) {
      return new EngineException(Kind.UNREACHABLE, "cannot reach the Docker engine at " + where
          + ": permission denied on the socket; run as root or as a member of the docker group", e);
    }
    return new EngineException(Kind.UNREACHABLE,
        "cannot " + action + obj + " on " + where + ": lost the connection to the engine (" + msg
            + "); is dockerd still running?", e);
  }

  private static Throwable rootCause(Throwable t) {
    Throwable r = t;
    while (r.getCause() != null && r.getCause() != r) {
      r = r.getCause();
    }
    return r;
  }

  /** Unversioned calls made before the API version is known. */
  private static final class Probe {
    final HostSpec spec;
    final String where;
    final DockerHttpClient client;
    final SshTunnel tunnel;

    Probe(HostSpec spec, String where, DockerHttpClient client, SshTunnel tunnel) {
      this.spec = spec;
      this.where = where;
      this.client = client;
      this.tunnel = tunnel;
    }

    String text(String method, String path, String action, String object) throws EngineException {
      try (Response r = client.execute(Request.builder().method(method).path(path).build())) {
        byte[] b = r.getBody().readNBytes(MAX_ERROR_BODY);
        String s = new String(b, StandardCharsets.UTF_8);
        if (r.getStatusCode() == 400 && s.contains("HTTPS server")) {
          throw new EngineException(Kind.AUTH, 400,
              "cannot reach the Docker engine at " + where + ": it wants TLS; set DOCKER_TLS_VERIFY=1 and "
                  + "DOCKER_CERT_PATH (or use a docker context with TLS files)", null);
        }
        if (r.getStatusCode() >= 400) {
          throw new EngineException(Kind.UNREACHABLE, r.getStatusCode(),
              "cannot reach the Docker engine at " + where + ": " + action + " answered " + r.getStatusCode() + " "
                  + abbreviate(s), null);
        }
        return s;
      } catch (RuntimeException | IOException e) {
        throw transportFailure(spec, where, tunnel, e, action, object);
      }
    }

    ObjectNode json(String method, String path, String action, String object) throws EngineException {
      String s = text(method, path, action, object);
      try {
        JsonNode n = JSON.readTree(s);
        if (n instanceof ObjectNode) {
          return (ObjectNode) n;
        }
      } catch (JsonProcessingException e) {
        // reported below
      }
      throw new EngineException(Kind.UNREACHABLE,
          "cannot " + action + " " + object + " at " + where + ": not a Docker engine answer: " + abbreviate(s));
    }
  }

  private static String abbreviate(String s) {
    String t = s.strip().replace('\n', ' ');
    return t.length() > 200 ? t.substring(0, 200) + "..." : t;
  }

  private static List<ObjectNode> objects(JsonNode n) {
    List<ObjectNode> out = new ArrayList<>();
    for (JsonNode e : n) {
      if (e instanceof ObjectNode) {
        out.add((ObjectNode) e);
      }
    }
    return out;
  }

  private interface EngineCall<T> {
    T run() throws EngineException;
  }

  private interface EngineAction {
    void run() throws EngineException;
  }

  private static <T> Optional<T> find(EngineCall<T> c) throws EngineException {
    try {
      return Optional.of(c.run());
    } catch (EngineException e) {
      if (e.kind() == Kind.NOT_FOUND) {
        return Optional.empty();
      }
      throw e;
    }
  }

  private static void ignoreNotFound(EngineAction a) throws EngineException {
    try {
      a.run();
    } catch (EngineException e) {
      if (e.kind() != Kind.NOT_FOUND) {
        throw e;
      }
    }
  }

  private static String filtersParam(Map<String, List<String>> filters) {
    if (filters == null || filters.isEmpty()) {
      return "";
    }
    try {
      return "&filters=" + q(JSON.writeValueAsString(new LinkedHashMap<>(filters)));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static String filtersText(Map<String, List<String>> filters) {
    return filters == null || filters.isEmpty() ? "" : "(filters " + filters + ")";
  }

  private static String bool(boolean b) {
    return b ? "1" : "0";
  }

  /** Encodes a query value. */
  static String q(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Encodes a path segment, keeping '/', ':' and '@', which image references use. */
  static String seg(String s) {
    if (s == null || s.isEmpty()) {
      throw new IllegalArgumentException("empty name or id");
    }
    StringBuilder sb = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "-._~:@/".indexOf(c) >= 0) {
        sb.append((char) c);
      } else {
        sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
      }
    }
    return sb.toString();
  }

  private static void closeQuietly(Closeable c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException | RuntimeException e) {
        LOG.debug("closing {}", c, e);
      }
    }
  }

  /** Keeps the HTTP client from closing the caller's stream: the caller closes it. */
  private static final class NonClosingInputStream extends FilterInputStream {
    NonClosingInputStream(InputStream in) {
      super(in);
    }

    @Override
    public void close() {}
  }
}
