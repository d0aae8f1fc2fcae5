package io.jmigrate.cli;

import io.jmigrate.store.Store;
import io.jmigrate.store.StoreException;
import io.jmigrate.store.StoreOptions;
import io.jmigrate.store.Stores;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** --repo and the options of S3 and registry repositories. */
public final class RepoMixin {
  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(names = {"-r", "--repo"}, paramLabel = "REPO",
      description = "Repository: a directory or file: URL, s3://bucket/prefix, or oci://registry/repository. "
          + "Default: $JMIGRATE_REPO, else ./backups.")
  String repo;

  @Option(names = "--s3-endpoint", paramLabel = "URL",
      description = "S3-compatible endpoint (MinIO, Ceph, R2, ...). Implies path-style addressing.")
  String s3Endpoint;

  @Option(names = "--s3-region", paramLabel = "REGION", description = "S3 region (default: the SDK's chain).")
  String s3Region;

  @Option(names = "--s3-path-style", negatable = true, description = "Use path-style S3 addressing.")
  Boolean s3PathStyle;

  @Option(names = "--s3-checksum-when-required",
      description = "Send request checksums only when S3 requires them; many S3-compatible servers need this.")
  boolean s3ChecksumWhenRequired;

  @Option(names = "--s3-chunked-signing", paramLabel = "auto|on|off",
      converter = Converters.ChunkedSigningConverter.class,
      description = "Sign streamed S3 uploads in chunks (aws-chunked, over http). auto (default): off with "
          + "--s3-endpoint, since some S3-compatible servers store the chunk framing as data; on: the SDK's default.")
  StoreOptions.ChunkedSigning s3ChunkedSigning;

  @Option(names = "--s3-part-size", paramLabel = "BYTES", description = "Multipart part size (default 8 MiB).")
  long s3PartSize;

  @Option(names = "--s3-concurrency", paramLabel = "N", description = "Parts uploaded at once (default 4).")
  int s3Concurrency;

  @Option(names = "--insecure-registry", description = "Allow plain http to a registry that is not on loopback.")
  boolean insecureRegistry;

  @Option(names = "--docker-config", paramLabel = "DIR",
      description = "Directory of the config.json with registry credentials (default: $DOCKER_CONFIG, else ~/.docker).")
  java.nio.file.Path dockerConfig;

  /** The repository URL in effect. */
  public String url() {
    if (repo != null && !repo.isBlank()) {
      return repo;
    }
    String env = System.getenv("JMIGRATE_REPO");
    return env != null && !env.isBlank() ? env : "./backups";
  }

  /** The store options from the command line; a value StoreOptions refuses is a command-line error (exit 2). */
  public StoreOptions options() {
    try {
      return StoreOptions.builder()
          .s3Endpoint(s3Endpoint)
          .s3Region(s3Region)
          .s3PathStyle(s3PathStyle)
          .s3ChecksumWhenRequired(s3ChecksumWhenRequired)
          .s3ChunkedSigning(s3ChunkedSigning)
          .s3PartSize(s3PartSize)
          .s3Concurrency(s3Concurrency)
          .insecureRegistry(insecureRegistry)
          .dockerConfigDir(dockerConfig)
          .build();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(mixee.commandLine(), e.getMessage(), e);
    }
  }

  /** Opens the repository for writing (it may not exist yet: the first write creates it); the caller closes it. */
  public Store open() throws StoreException {
    return Stores.open(url(), options());
  }

  /** Opens another repository URL with the same options (copy's --to). */
  public Store open(String url) throws StoreException {
    return Stores.open(url, options());
  }

  /** Opens the repository for reading: one that does not exist is an error (exit 3), not an empty repository. */
  public Store openExisting() throws StoreException {
    return openExisting(url(), options(), repo != null ? "--repo" : "$JMIGRATE_REPO or --repo");
  }

  /**
   * Opens {@code url} for reading and fails with NOT_FOUND when it does not exist, naming {@code option} as what to
   * fix; the caller closes the store.
   */
  static Store openExisting(String url, StoreOptions options, String option) throws StoreException {
    Store store = Stores.open(url, options);
    try {
      if (!store.exists()) {
        throw new StoreException(StoreException.Kind.NOT_FOUND, "repository " + store.location()
            + " does not exist; check " + option + " (a first backup creates a repository)");
      }
      return store;
    } catch (StoreException | RuntimeException e) {
      store.close();
      throw e;
    }
  }
}
