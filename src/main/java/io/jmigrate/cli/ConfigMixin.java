package io.jmigrate.cli;

import io.jmigrate.job.ConfigException;
import io.jmigrate.job.JobConfig;
import io.jmigrate.job.JobConfigLoader;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --config: the job file of run, schedule and prune. */
public final class ConfigMixin {
  /** Where the job file is looked for when neither --config nor $JMIGRATE_CONFIG names one. */
  public static final String DEFAULT = "/etc/jmigrate/jmigrate.yaml";

  @Option(names = {"-c", "--config"}, paramLabel = "FILE",
      description = "The job file (see config/jmigrate.yaml). Default: $JMIGRATE_CONFIG, else " + DEFAULT + ".")
  Path config;

  /** True when --config was given. */
  public boolean given() {
    return config != null;
  }

  /** The file in effect. */
  public Path path() {
    if (config != null) {
      return config;
    }
    String env = System.getenv("JMIGRATE_CONFIG");
    return Path.of(env != null && !env.isBlank() ? env : DEFAULT);
  }

  /** Loads and validates the file. */
  public JobConfig load() throws ConfigException {
    return JobConfigLoader.load(path());
  }
}
