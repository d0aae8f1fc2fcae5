package io.jmigrate.store;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Opens a repository from what the user gave {@code --repo}: a directory or {@code file:} URL (a
 * {@link LocalStore}), {@code s3://bucket[/prefix]} (an S3 store) or {@code oci://host[:port]/repository} (a
 * registry store).
 */
public final class Stores {
  private static final Pattern SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*://");
  private static final Pattern USERINFO = Pattern.compile("^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@");
  /**
   * S3 bucket names (AWS "Bucket naming rules"): 3–63 characters, letters, digits, dots and hyphens, starting
   * and ending with a letter or digit. Upper case and '_' are allowed for the legacy buckets some
   * S3-compatible stores still have.
   */
  private static final Pattern BUCKET = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9._-]{1,61}[a-zA-Z0-9]");
  private static final String KINDS =
      "give a directory, file:PATH, s3://BUCKET[/PREFIX] or oci://HOST[:PORT]/REPOSITORY";

  private Stores() {}

  /**
   * Opens the repository at {@code url}. Opening checks the URL and, for a local directory, that it is a
   * repository or may become one; it creates nothing (the first write does). The caller closes the store.
   *
   * @throws StoreException INVALID naming a malformed URL; whatever the store reports when it cannot open
   */
  public static Store open(String url, StoreOptions options) throws StoreException {
    StoreOptions o = options == null ? StoreOptions.defaults() : options;
    String u = url == null ? "" : url.strip();
    if (u.isEmpty()) {
      throw new StoreException(StoreException.Kind.INVALID, "the repository URL is empty; " + KINDS);
    }
    if (u.startsWith("s3://")) {
      S3Location loc = s3Location(u);
      return S3Store.open(loc.bucket, loc.prefix, o);
    }
    if (u.startsWith("oci://")) {
      ociLocation(u);
      return RegistryStore.open(u, o);
    }
    if (u.startsWith("file:")) {
      return LocalStore.open(filePath(u), o);
    }
    if (SCHEME.matcher(u).lookingAt()) {
      throw new StoreException(StoreException.Kind.INVALID,
          "unsupported repository URL '" + describe(u) + "'; " + KINDS);
    }
    try {
      return LocalStore.open(Path.of(u), o);
    } catch (InvalidPathException e) {
      throw new StoreException(StoreException.Kind.INVALID, "not a valid repository path '" + u + "': "
          + e.getReason(), e);
    }
  }

  /**
   * The repository URL as it may appear in messages and logs: a local path made absolute with {@code file:},
   * any user:password part of a URL removed.
   */
  public static String describe(String url) {
    String u = url == null ? "" : url.strip();
    if (u.startsWith("file:")) {
      try {
        return "file:" + filePath(u).toAbsolutePath().normalize();
      } catch (StoreException | InvalidPathException e) {
        return u;
      }
    }
    if (SCHEME.matcher(u).lookingAt()) {
      return USERINFO.matcher(u).replaceFirst("$1");
    }
    try {
      return "file:" + Path.of(u).toAbsolutePath().normalize();
    } catch (InvalidPathException e) {
      return u;
    }
  }

  /** A parsed {@code s3://bucket/prefix}: the prefix has no leading or trailing '/', and may be empty. */
  static final class S3Location {
    final String bucket;
    final String prefix;

    S3Location(String bucket, String prefix) {
      this.bucket = bucket;
      this.prefix = prefix;
    }
  }

  static S3Location s3Location(String url) throws StoreException {
    String rest = url.substring("s3://".length());
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String prefix = slash < 0 ? "" : rest.substring(slash + 1);
    if (bucket.contains("@")) {
      // Never echo it: the part before '@' is likely a secret.
      throw new StoreException(StoreException.Kind.INVALID, "the S3 repository URL " + describe(url)
          + " carries credentials; remove them from the URL and use the AWS environment variables, a profile"
          + " or an instance role");
    }
    if (bucket.isEmpty()) {
      throw new StoreException(StoreException.Kind.INVALID,
          "the S3 repository URL '" + url + "' names no bucket; use s3://BUCKET[/PREFIX]");
    }
    if (!BUCKET.matcher(bucket).matches()) {
      throw new StoreException(StoreException.Kind.INVALID, "'" + bucket + "' in '" + url
          + "' is not a valid S3 bucket name (3-63 letters, digits, '.', '-')");
    }
    StringBuilder p = new StringBuilder();
    for (String seg : prefix.split("/")) {
      if (seg.isEmpty()) {
        continue;
      }
      if (seg.equals(".") || seg.equals("..")) {
        throw new StoreException(StoreException.Kind.INVALID,
            "the S3 prefix in '" + url + "' must not contain '.' or '..' segments");
      }
      if (p.length() > 0) {
        p.append('/');
      }
      p.append(seg);
    }
    return new S3Location(bucket, p.toString());
  }

  /** Checks {@code oci://host[:port]/repository}; returns {host[:port], repository}. */
  static String[] ociLocation(String url) throws StoreException {
    String rest = url.substring("oci://".length());
    int slash = rest.indexOf('/');
    String host = slash < 0 ? rest : rest.substring(0, slash);
    String repo = slash < 0 ? "" : rest.replaceFirst("^[^/]*/+", "").replaceAll("/+$", "");
    if (host.contains("@")) {
      throw new StoreException(StoreException.Kind.INVALID, "the registry URL " + describe(url)
          + " carries credentials; remove them and use docker login (~/.docker/config.json)");
    }
    if (host.isEmpty() || repo.isEmpty()) {
      throw new StoreException(StoreException.Kind.INVALID,
          "the registry URL '" + url + "' needs a host and a repository: oci://HOST[:PORT]/REPOSITORY");
    }
    return new String[] {host, repo};
  }

  /** The path of {@code file:PATH}, {@code file:/abs}, {@code file:///abs} or {@code file://localhost/abs}. */
  static Path filePath(String url) throws StoreException {
    String rest = url.substring("file:".length());
    if (rest.startsWith("//")) {
      int slash = rest.indexOf('/', 2);
      String host = slash < 0 ? rest.substring(2) : rest.substring(2, slash);
      if (!host.isEmpty() && !host.equals("localhost")) {
        throw new StoreException(StoreException.Kind.INVALID, "the file URL '" + url + "' names host '" + host
            + "'; a file: repository must be local (file:/PATH or file:///PATH)");
      }
      rest = slash < 0 ? "" : rest.substring(slash);
    }
    if (rest.isEmpty()) {
      throw new StoreException(StoreException.Kind.INVALID, "the file URL '" + url + "' has no path");
    }
    String path = rest;
    if (rest.indexOf('%') >= 0) {
      try {
        // Percent-escapes as in a real URI (file:/a%20b); a raw path that is no valid URI is taken as it is.
        path = new URI("file:" + rest).getSchemeSpecificPart();
      } catch (URISyntaxException e) {
        path = rest;
      }
    }
    try {
      return Path.of(path);
    } catch (InvalidPathException e) {
      throw new StoreException(StoreException.Kind.INVALID, "not a valid repository path in '" + url + "': "
          + e.getReason(), e);
    }
  }
}
