package io.jmigrate.job;

import io.jmigrate.store.StoreOptions;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One repository a job writes to, with the options that do not fit in its URL. {@link #storeOptions()} maps
 * them onto {@link StoreOptions}.
 *
 * @param url a local path (absolute once loaded: relative paths are resolved against the config file's
 *     directory), {@code file:/PATH}, {@code s3://BUCKET[/PREFIX]} or {@code oci://REGISTRY[:PORT]/REPOSITORY}
 * @param s3Endpoint an S3-compatible endpoint URL, or null for AWS
 * @param s3Region null for the SDK's region chain
 * @param s3PathStyle null for the store's default (path style when an endpoint is set)
 * @param s3Checksum when the S3 client sends checksums
 * @param s3ChunkedSigning whether streamed S3 bodies may be signed in chunks (aws-chunked)
 * @param insecureRegistry allow plain http to a registry that is not on loopback
 */
public record RepositoryConfig(
    String url, String s3Endpoint, String s3Region, Boolean s3PathStyle, S3Checksum s3Checksum,
    StoreOptions.ChunkedSigning s3ChunkedSigning, boolean insecureRegistry) {

  /** What the error messages say is expected. */
  public static final String EXPECTED_URL =
      "a path, file:/PATH, s3://BUCKET[/PREFIX] or oci://REGISTRY[:PORT]/REPOSITORY";

  private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
  // The distribution spec's repository name grammar: path components of lower-case alphanumerics and separators.
  private static final Pattern REPO_PATH =
      Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*");

  /** Which store a URL opens. */
  public enum Kind {
    LOCAL,
    S3,
    OCI
  }

  /** The S3 client's checksum policy; S3-compatible servers often need {@link #WHEN_REQUIRED}. */
  public enum S3Checksum {
    /** The SDK default: send checksums whenever the operation supports them. */
    WHEN_SUPPORTED,
    /** Only when the operation requires one (MinIO, Ceph, older S3-compatible servers). */
    WHEN_REQUIRED;

    /** The YAML spelling. */
    public String value() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
  }

  public RepositoryConfig {
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(s3Checksum, "s3Checksum");
    Objects.requireNonNull(s3ChunkedSigning, "s3ChunkedSigning");
  }

  /** A repository with default options. */
  public static RepositoryConfig of(String url) {
    return new RepositoryConfig(url, null, null, null, S3Checksum.WHEN_SUPPORTED, StoreOptions.ChunkedSigning.AUTO,
        false);
  }

  /** Which store this URL opens. */
  public Kind kind() {
    return kindOf(url);
  }

  /** The options for opening the store. */
  public StoreOptions storeOptions() {
    return StoreOptions.builder()
        .s3Endpoint(s3Endpoint)
        .s3Region(s3Region)
        .s3PathStyle(s3PathStyle)
        .s3ChecksumWhenRequired(s3Checksum == S3Checksum.WHEN_REQUIRED)
        .s3ChunkedSigning(s3ChunkedSigning)
        .insecureRegistry(insecureRegistry)
        .build();
  }

  /** The kind of a URL that {@link #checkUrl} accepted. */
  static Kind kindOf(String url) {
    if (url.startsWith("s3://")) {
      return Kind.S3;
    }
    if (url.startsWith("oci://")) {
      return Kind.OCI;
    }
    return Kind.LOCAL;
  }

  /**
   * Checks a repository URL's syntax and returns it normalized: relative paths resolved against {@code baseDir},
   * {@code file:} URLs turned into paths.
   *
   * @throws IllegalArgumentException naming the URL, what is wrong, and {@link #EXPECTED_URL}
   */
  static String checkUrl(String url, Path baseDir) {
    if (url == null || url.isBlank()) {
      throw bad(url, "it is empty");
    }
    String u = url.strip();
    int colon = u.indexOf(':');
    boolean hasScheme = colon > 1 && u.substring(0, colon).matches("[A-Za-z][A-Za-z0-9+.-]*");
    if (!hasScheme) {
      return baseDir == null ? u : baseDir.resolve(u).normalize().toString();
    }
    String scheme = u.substring(0, colon).toLowerCase(java.util.Locale.ROOT);
    URI uri;
    try {
      uri = new URI(u);
    } catch (URISyntaxException e) {
      throw bad(url, e.getReason());
    }
    switch (scheme) {
      case "file": {
        if (uri.getRawAuthority() != null && !uri.getRawAuthority().equals("localhost")) {
          throw bad(url, "a file URL names no host");
        }
        if (uri.getPath() == null || !uri.getPath().startsWith("/")) {
          throw bad(url, "a file URL needs an absolute path");
        }
        return Path.of(uri.getPath()).normalize().toString();
      }
      case "s3": {
        if (uri.getRawUserInfo() != null) {
          throw bad(url, "credentials do not belong in the URL (use the AWS credential chain)");
        }
        String bucket = uri.getHost() != null ? uri.getHost() : uri.getRawAuthority();
        if (bucket == null || !BUCKET.matcher(bucket).matches()) {
          throw bad(url, "the bucket name must be 3 to 63 lower-case letters, digits, dots or hyphens");
        }
        if (uri.getQuery() != null || uri.getFragment() != null) {
          throw bad(url, "an S3 URL takes no ?query or #fragment (put options under the repository)");
        }
        return "s3://" + bucket + stripTrailingSlash(uri.getRawPath());
      }
      case "oci": {
        if (uri.getRawUserInfo() != null) {
          throw bad(url, "credentials do not belong in the URL (use docker login / config.json)");
        }
        if (uri.getHost() == null) {
          throw bad(url, "it names no registry host");
        }
        String path = uri.getRawPath() == null ? "" : stripTrailingSlash(uri.getRawPath());
        if (path.length() < 2 || !REPO_PATH.matcher(path.substring(1)).matches()) {
          throw bad(url, "the repository must be lower-case path components like team/backups, without a tag");
        }
        if (uri.getQuery() != null || uri.getFragment() != null) {
          throw bad(url, "an OCI URL takes no ?query or #fragment");
        }
        return "oci://" + uri.getRawAuthority() + path;
      }
      default:
        throw bad(url, "the scheme " + scheme + ": is not supported");
    }
  }

  private static String stripTrailingSlash(String p) {
    if (p == null) {
      return "";
    }
    String s = p;
    while (s.endsWith("/")) {
      s = s.substring(0, s.length() - 1);
    }
    return s;
  }

  private static IllegalArgumentException bad(String url, String why) {
    return new IllegalArgumentException("bad repository URL \"" + url + "\": " + why + "; expected " + EXPECTED_URL);
  }
}
