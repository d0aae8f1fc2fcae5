package io.jmigrate.store;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings for opening a repository that do not fit in its URL. Unset fields take each store's defaults.
 * Built with {@link #builder()}; immutable.
 */
public final class StoreOptions {
  private final String s3Endpoint;
  private final String s3Region;
  private final Boolean s3PathStyle;
  private final boolean s3ChecksumWhenRequired;
  private final ChunkedSigning s3ChunkedSigning;
  private final long s3PartSize;
  private final int s3Concurrency;
  private final boolean insecureRegistry;
  private final Path dockerConfigDir;
  private final Duration gcGrace;

  private StoreOptions(Builder b) {
    this.s3Endpoint = b.s3Endpoint;
    this.s3Region = b.s3Region;
    this.s3PathStyle = b.s3PathStyle;
    this.s3ChecksumWhenRequired = b.s3ChecksumWhenRequired;
    this.s3ChunkedSigning = b.s3ChunkedSigning;
    this.s3PartSize = b.s3PartSize;
    this.s3Concurrency = b.s3Concurrency;
    this.insecureRegistry = b.insecureRegistry;
    this.dockerConfigDir = b.dockerConfigDir;
    this.gcGrace = b.gcGrace;
  }

  public static StoreOptions defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** An S3-compatible endpoint URL (MinIO, Ceph, R2, S3Proxy), or null for AWS. */
  public String s3Endpoint() {
    return s3Endpoint;
  }

  /** Null means the SDK's region chain, then us-east-1. */
  public String s3Region() {
    return s3Region;
  }

  /** Null means: path style when an endpoint is set, virtual-hosted otherwise. */
  public Boolean s3PathStyle() {
    return s3PathStyle;
  }

  /** Send checksums only when an operation requires them, as S3-compatible servers need (see docs). */
  public boolean s3ChecksumWhenRequired() {
    return s3ChecksumWhenRequired;
  }

  /** Whether streamed S3 bodies may be signed in chunks ({@code aws-chunked}); never null. */
  public ChunkedSigning s3ChunkedSigning() {
    return s3ChunkedSigning;
  }

  /** Multipart part size in bytes; 0 means the default. */
  public long s3PartSize() {
    return s3PartSize;
  }

  /** Parts in flight per upload; 0 means the default. */
  public int s3Concurrency() {
    return s3Concurrency;
  }

  /** Allow plain http to a registry that is not on loopback. */
  public boolean insecureRegistry() {
    return insecureRegistry;
  }

  /** Where config.json lives for registry credentials; null means $DOCKER_CONFIG, else ~/.docker. */
  public Path dockerConfigDir() {
    return dockerConfigDir;
  }

  /** Blobs younger than this are never garbage-collected, so a running backup's new blobs survive prune. */
  public Duration gcGrace() {
    return gcGrace;
  }

  /**
   * Whether the S3 client may sign a streamed body in chunks, sending it {@code aws-chunked} (what the AWS SDK does
   * over plain http). A server that does not decode that encoding stores the framing as the object (s3rver 3.7.1);
   * with it off the SDK signs the whole body (over http) or sends it unsigned (over https), as plain bytes.
   */
  public enum ChunkedSigning {
    /** Off for a custom endpoint (any S3-compatible server), the SDK's default for AWS. */
    AUTO,
    /** The SDK's default: chunks over plain http. */
    ON,
    /** Never: the body goes as it is. */
    OFF;

    /** The spelling on the command line and in job files. */
    public String value() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Parses auto, on or off (any case). */
    public static ChunkedSigning parse(String v) {
      for (ChunkedSigning c : values()) {
        if (c.value().equalsIgnoreCase(v == null ? "" : v.strip())) {
          return c;
        }
      }
      throw new IllegalArgumentException("bad chunked signing \"" + v + "\"; expected auto, on or off");
    }
  }

  /** Builder for {@link StoreOptions}. */
  public static final class Builder {
    private String s3Endpoint;
    private String s3Region;
    private Boolean s3PathStyle;
    private boolean s3ChecksumWhenRequired;
    private ChunkedSigning s3ChunkedSigning = ChunkedSigning.AUTO;
    private long s3PartSize;
    private int s3Concurrency;
    private boolean insecureRegistry;
    private Path dockerConfigDir;
    private Duration gcGrace = Duration.ofHours(1);

    private Builder() {}

    public Builder s3Endpoint(String v) {
      s3Endpoint = v;
      return this;
    }

    public Builder s3Region(String v) {
      s3Region = v;
      return this;
    }

    public Builder s3PathStyle(Boolean v) {
      s3PathStyle = v;
      return this;
    }

    public Builder s3ChecksumWhenRequired(boolean v) {
      s3ChecksumWhenRequired = v;
      return this;
    }

    /** Null means {@link ChunkedSigning#AUTO}. */
    public Builder s3ChunkedSigning(ChunkedSigning v) {
      s3ChunkedSigning = v == null ? ChunkedSigning.AUTO : v;
      return this;
    }

    public Builder s3PartSize(long v) {
      if (v != 0 && v < 5L * 1024 * 1024) {
        throw new IllegalArgumentException("S3 part size " + v + " is below the 5 MiB minimum of multipart uploads");
      }
      s3PartSize = v;
      return this;
    }

    public Builder s3Concurrency(int v) {
      if (v < 0) {
        throw new IllegalArgumentException("S3 concurrency must not be negative: " + v);
      }
      s3Concurrency = v;
      return this;
    }

    public Builder insecureRegistry(boolean v) {
      insecureRegistry = v;
      return this;
    }

    public Builder dockerConfigDir(Path v) {
      dockerConfigDir = v;
      return this;
    }

    public Builder gcGrace(Duration v) {
      if (v == null || v.isNegative()) {
        throw new IllegalArgumentException("garbage-collection grace must be zero or more: " + v);
      }
      gcGrace = v;
      return this;
    }

    public StoreOptions build() {
      return new StoreOptions(this);
    }
  }
}
