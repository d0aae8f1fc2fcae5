package io.jmigrate.engine;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where an engine is, as the user named it: {@code unix:///path}, {@code tcp://host:port} (TLS from
 * DOCKER_TLS_VERIFY / DOCKER_CERT_PATH or the context's tls dir), {@code ssh://[user@]host[:port]}, or a docker
 * context name from {@code ~/.docker/contexts}.
 *
 * <p>Resolution order when no value is given, as the docker CLI does it: DOCKER_HOST, then DOCKER_CONTEXT,
 * then the currentContext of config.json, then {@code unix:///var/run/docker.sock}.
 */
public final class HostSpec {
  // TODO(engine): implemented by the engine work (see the engine issue notes).
  private HostSpec() {}

  /**
   * Resolves {@code value} (null = default resolution) with the given environment and docker config dir
   * (null = $DOCKER_CONFIG, else ~/.docker). The message of a failure names the bad value or context.
   */
  public static HostSpec resolve(String value, Map<String, String> env, Path dockerConfigDir) throws EngineException {
    throw new UnsupportedOperationException("HostSpec.resolve");
  }

  /** What to show the user: the value as given (context name or URL). */
  public String display() {
    throw new UnsupportedOperationException("HostSpec.display");
  }
}
