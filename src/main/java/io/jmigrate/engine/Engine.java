package io.jmigrate.engine;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Digest;
import java.io.Closeable;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Consumer;

/**
 * One connection to one Docker engine, through docker-java's zerodep transport, speaking raw JSON so that
 * fields jmigrate does not model survive a round trip. Thread-safe. Every failure is an {@link EngineException}
 * whose message names the action, the object and {@link #display()}.
 */
public final class Engine implements Closeable {
  // TODO(engine): implemented by the engine work.
  private Engine() {}

  /** Connects, checks the API version once, and reads /info. */
  public static Engine connect(HostSpec spec) throws EngineException {
    throw new UnsupportedOperationException("Engine.connect");
  }

  /** The host as the user named it. */
  public String display() {
    throw new UnsupportedOperationException();
  }

  /** The negotiated API version, e.g. "1.41". */
  public String apiVersion() {
    throw new UnsupportedOperationException();
  }

  /** The engine's /info document (cached from connect). */
  public ObjectNode info() {
    throw new UnsupportedOperationException();
  }

  /** The engine's /version document (cached from connect). */
  public ObjectNode version() {
    throw new UnsupportedOperationException();
  }

  /** The CPU architecture in OCI terms (amd64, arm64, ...), normalised from /info Architecture. */
  public String architecture() {
    throw new UnsupportedOperationException();
  }

  /** Volume drivers the engine has (/info Plugins.Volume). */
  public Set<String> volumeDrivers() {
    throw new UnsupportedOperationException();
  }

  /**
   * True when this engine runs on this machine (unix socket) and its data root is readable by this process, so
   * volume Mountpoints can be read and written directly, which is about 8 times faster than the archive API.
   */
  public boolean isLocal() {
    throw new UnsupportedOperationException();
  }

  /** Free bytes under the engine's data root, when it can be known (local engines); empty otherwise. */
  public OptionalLong freeDiskBytes() {
    throw new UnsupportedOperationException();
  }

  // ---- containers

  /** Inspects a container by name or id; NOT_FOUND when there is none. */
  public ObjectNode inspectContainer(String ref) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** As {@link #inspectContainer}, empty when there is none. */
  public Optional<ObjectNode> findContainer(String ref) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** GET /containers/json with these filters (e.g. label=com.docker.compose.project=app). */
  public List<ObjectNode> listContainers(boolean all, Map<String, List<String>> filters) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** POST /containers/create; returns the new id. CONFLICT when the name is taken. */
  public String createContainer(String name, ObjectNode body) throws EngineException {
    throw new UnsupportedOperationException();
  }

  public void startContainer(String ref) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** Stops with the given grace period (null = the container's StopTimeout or the engine default). */
  public void stopContainer(String ref, Duration timeout) throws EngineException {
    throw new UnsupportedOperationException();
  }

  public void pauseContainer(String ref) throws EngineException {
    throw new UnsupportedOperationException();
  }

  public void unpauseContainer(String ref) throws EngineException {
    throw new UnsupportedOperationException();
  }

  public void killContainer(String ref, String signal) throws EngineException {
    throw new UnsupportedOperationException();
  }

  public void renameContainer(String ref, String newName) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** DELETE /containers/{ref}; absent is not an error. */
  public void removeContainer(String ref, boolean force, boolean removeAnonymousVolumes) throws EngineException {
    throw new UnsupportedOperationException();
  }

  // ---- images

  /**
   * POST /commit. The answer comes only at the end, so the read timeout is long. Returns the image id
   * (sha256:...). {@code repo}/{@code tag} may be null.
   */
  public String commit(String container, String repo, String tag, boolean pause) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** Inspects an image; NOT_FOUND when there is none. */
  public ObjectNode inspectImage(String ref) throws EngineException {
    throw new UnsupportedOperationException();
  }

  public Optional<ObjectNode> findImage(String ref) throws EngineException {
    throw new UnsupportedOperationException();
  }

  public void tagImage(String ref, String repo, String tag) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** DELETE /images/{ref}; absent is not an error. */
  public void removeImage(String ref, boolean force) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** GET /images/get for one image. The caller closes the stream. Legacy or OCI layout, per engine version. */
  public InputStream saveImage(String ref) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /**
   * POST /images/load. The engine answers 200 even when the load fails, so the JSON lines of the body are read
   * and an {@code error} line becomes an exception. Returns what the engine reports as loaded (image ids or
   * tags). The caller closes {@code tar}.
   */
  public List<String> loadImage(InputStream tar) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /**
   * The layer chain ids the engine has, from every image's RootFS.Layers: chain(0)=diff(0),
   * chain(n)=sha256(chain(n-1) + " " + diff(n)). A load may omit the layers of chains in this set.
   */
  public Set<Digest> layerChainIds() throws EngineException {
    throw new UnsupportedOperationException();
  }

  // ---- volumes

  public Optional<ObjectNode> findVolume(String name) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** POST /volumes/create with Name, Driver, DriverOpts, Labels. */
  public ObjectNode createVolume(ObjectNode body) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** DELETE /volumes/{name}; absent is not an error. */
  public void removeVolume(String name, boolean force) throws EngineException {
    throw new UnsupportedOperationException();
  }

  // ---- networks

  public Optional<ObjectNode> findNetwork(String ref) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** POST /networks/create; returns the id. */
  public String createNetwork(ObjectNode body) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** POST /networks/{net}/connect with an EndpointConfig (aliases, IPAMConfig). */
  public void connectNetwork(String network, String container, ObjectNode endpointConfig) throws EngineException {
    throw new UnsupportedOperationException();
  }

  public void disconnectNetwork(String network, String container, boolean force) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** DELETE /networks/{ref}; absent is not an error. */
  public void removeNetwork(String ref) throws EngineException {
    throw new UnsupportedOperationException();
  }

  // ---- archive and exec

  /**
   * GET /containers/{ref}/archive?path=P: a tar whose top entry is the last element of P. Works on running,
   * paused, stopped and created containers. The caller closes the stream.
   */
  public InputStream getArchive(String container, String path) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** PUT /containers/{ref}/archive?path=P; P must exist. Never sets copyUIDGID. The caller closes {@code tar}. */
  public void putArchive(String container, String path, InputStream tar) throws EngineException {
    throw new UnsupportedOperationException();
  }

  /**
   * Runs a command in a running container, sending each output line (stdout and stderr) to {@code lines}.
   * On timeout, kills nothing (the engine has no exec kill) but returns with {@code timedOut} set.
   */
  public ExecResult exec(String container, List<String> cmd, Duration timeout, Consumer<String> lines)
      throws EngineException {
    throw new UnsupportedOperationException();
  }

  /** The outcome of {@link #exec}. */
  public static final class ExecResult {
    private final int exitCode;
    private final boolean timedOut;

    private ExecResult(int exitCode, boolean timedOut) {
      this.exitCode = exitCode;
      this.timedOut = timedOut;
    }

    public static ExecResult of(int exitCode, boolean timedOut) {
      return new ExecResult(exitCode, timedOut);
    }

    /** -1 when timed out. */
    public int exitCode() {
      return exitCode;
    }

    public boolean timedOut() {
      return timedOut;
    }
  }

  @Override
  public void close() {
    throw new UnsupportedOperationException();
  }
}
