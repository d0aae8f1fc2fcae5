package io.jmigrate.cli;

import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.engine.HostSpec;
import picocli.CommandLine.Option;

/** -H/--host: which engine, resolved as the docker CLI does. */
public final class HostMixin {
  @Option(names = {"-H", "--host"}, paramLabel = "HOST",
      description = "Docker engine: unix:///path, tcp://host:port, ssh://[user@]host[:port] or a context name. "
          + "Default: $DOCKER_HOST, then the current docker context, then unix:///var/run/docker.sock.")
  String host;

  /** Connects to the chosen engine; the caller closes it. */
  public Engine connect() throws EngineException {
    return Engine.connect(HostSpec.resolve(host, System.getenv(), null));
  }

  /** Connects to an engine named explicitly (migrate's source and target). */
  public static Engine connect(String host) throws EngineException {
    return Engine.connect(HostSpec.resolve(host, System.getenv(), null));
  }
}
