package io.jmigrate.cli;

import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import io.jmigrate.engine.HostSpec;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** -H/--host: which engine, resolved as the docker CLI does. */
public final class HostMixin {
  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(names = {"-H", "--host"}, paramLabel = "HOST",
      description = "Docker engine: unix:///path, tcp://host:port, ssh://[user@]host[:port] or a context name. "
          + "Default: $DOCKER_HOST, then the current docker context, then unix:///var/run/docker.sock.")
  String host;

  /** Connects to the chosen engine; the caller closes it. */
  public Engine connect() throws EngineException {
    return connect(host, mixee.commandLine());
  }

  /**
   * Connects to an engine named explicitly (migrate's source and target). A value that is no host at all (a
   * malformed URL, an unreadable context) is a bad command line: exit 2, before anything is touched.
   */
  public static Engine connect(String host, CommandLine commandLine) throws EngineException {
    HostSpec spec;
    try {
      spec = HostSpec.resolve(host, System.getenv(), null);
    } catch (EngineException e) {
      // Resolving only parses the value and reads the docker config: UNSUPPORTED here means the value or the
      // config is wrong, not the engine (an unknown context stays NOT_FOUND, missing TLS files AUTH).
      if (e.kind() == EngineException.Kind.UNSUPPORTED) {
        throw new ParameterException(commandLine, e.getMessage(), e);
      }
      throw e;
    }
    return Engine.connect(spec);
  }
}
