package io.jmigrate.store;

import java.net.URI;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A parsed {@code oci://host[:port]/repository[/more]} repository URL.
 *
 * <p>The repository must follow the distribution name grammar (distribution-spec v1.1, "Pulling manifests":
 * {@code [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*}); a tag or digest is not part
 * of a repository URL. Plain http is allowed only for loopback hosts or when the user allows an insecure
 * registry, as the docker CLI does.
 */
final class RegistryLocation {
  private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*");
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?");
  private static final Pattern IPV4_LOOPBACK = Pattern.compile("127(?:\\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}");
  private static final String USAGE = "expected oci://host[:port]/repository, e.g. oci://registry.example.com/backups/web";

  private final String host;
  private final int port;
  private final String repository;
  private final boolean insecure;

  private RegistryLocation(String host, int port, String repository, boolean insecure) {
    this.host = host;
    this.port = port;
    this.repository = repository;
    this.insecure = insecure;
  }

  /** Parses {@code url}; the message of the INVALID exception names the bad part. */
  static RegistryLocation parse(String url, boolean insecureAllowed) throws StoreException {
    if (url == null || !url.startsWith("oci://")) {
      throw invalid(url, "it does not start with oci://");
    }
    String rest = url.substring("oci://".length());
    if (rest.contains("@")) {
      throw invalid(url, "it contains '@': credentials come from ~/.docker/config.json (docker login), and a "
          + "repository URL names no digest");
    }
    int slash = rest.indexOf('/');
    if (slash <= 0) {
      throw invalid(url, "it names no repository after the host");
    }
    String authority = rest.substring(0, slash);
    String repo = rest.substring(slash + 1);
    while (repo.endsWith("/")) {
      repo = repo.substring(0, repo.length() - 1);
    }
    String host;
    int port = -1;
    String portText = null;
    if (authority.startsWith("[")) {
      int close = authority.indexOf(']');
      if (close < 0) {
        throw invalid(url, "the IPv6 host has no closing ']'");
      }
      host = authority.substring(0, close + 1);
      String after = authority.substring(close + 1);
      if (!after.isEmpty()) {
        if (!after.startsWith(":")) {
          throw invalid(url, "unexpected text after the IPv6 host: '" + after + "'");
        }
        portText = after.substring(1);
      }
      if (!host.substring(1, host.length() - 1).matches("[0-9A-Fa-f:.]+")) {
        throw invalid(url, "not an IPv6 address: '" + host + "'");
      }
    } else {
      int colon = authority.indexOf(':');
      host = colon < 0 ? authority : authority.substring(0, colon);
      portText = colon < 0 ? null : authority.substring(colon + 1);
      if (!HOST.matcher(host).matches()) {
        throw invalid(url, "not a host name: '" + host + "'");
      }
    }
    if (portText != null) {
      try {
        port = Integer.parseInt(portText);
      } catch (NumberFormatException e) {
        port = -1;
      }
      if (port < 1 || port > 65535) {
        throw invalid(url, "not a port number: '" + portText + "'");
      }
    }
    if (repo.isEmpty()) {
      throw invalid(url, "it names no repository after the host");
    }
    if (repo.contains(":")) {
      throw invalid(url, "a repository URL names no tag ('" + repo + "'); snapshots are tags inside it");
    }
    for (String component : repo.split("/", -1)) {
      if (!COMPONENT.matcher(component).matches()) {
        throw invalid(url, "'" + component + "' is not a valid repository path component (lowercase letters, "
            + "digits, and '.', '_', '__' or '-' between them)");
      }
    }
    if (authority.length() + 1 + repo.length() > 255) {
      throw invalid(url, "the repository name is longer than 255 characters");
    }
    return new RegistryLocation(host.toLowerCase(Locale.ROOT), port, repo, insecureAllowed);
  }

  private static StoreException invalid(String url, String why) {
    return new StoreException(StoreException.Kind.INVALID,
        "not a registry repository URL: '" + redact(url) + "': " + why + "; " + USAGE);
  }

  /** The URL without what stands before an '@' in its authority, which may be a password. */
  private static String redact(String url) {
    if (url == null) {
      return null;
    }
    int scheme = url.indexOf("://");
    int start = scheme < 0 ? 0 : scheme + 3;
    int slash = url.indexOf('/', start);
    int at = url.lastIndexOf('@', slash < 0 ? url.length() : slash);
    return at < start ? url : url.substring(0, start) + "***@" + url.substring(at + 1);
  }

  /** The host as written, lowercased; an IPv6 literal keeps its brackets. */
  String host() {
    return host;
  }

  /** The port, or -1 when the URL names none. */
  int port() {
    return port;
  }

  /** {@code host[:port]}: the registry's name in config.json and in messages. */
  String authority() {
    return port < 0 ? host : host + ":" + port;
  }

  String repository() {
    return repository;
  }

  /** The URL, normalised: {@code oci://host[:port]/repository}. */
  String url() {
    return "oci://" + authority() + "/" + repository;
  }

  /** A URL for another repository on the same registry. */
  String url(String otherRepository) {
    return "oci://" + authority() + "/" + otherRepository;
  }

  /** True when the host is loopback by its name: localhost, 127.0.0.0/8 or ::1 (no DNS lookup). */
  boolean loopback() {
    String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    return h.equals("localhost") || h.endsWith(".localhost") || IPV4_LOOPBACK.matcher(h).matches()
        || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1");
  }

  /** Plain http may be used: loopback, or the user allowed an insecure registry. */
  boolean plainHttpAllowed() {
    return insecure || loopback();
  }

  /**
   * {@code scheme://host[:port]} of the registry API. Docker Hub's names ({@code docker.io},
   * {@code index.docker.io}) serve the API at {@code registry-1.docker.io}, as the docker CLI knows.
   */
  URI base(String scheme) {
    String apiHost = host.equals("docker.io") || host.equals("index.docker.io") ? "registry-1.docker.io" : host;
    return URI.create(scheme + "://" + (port < 0 ? apiHost : apiHost + ":" + port));
  }

  @Override
  public String toString() {
    return url();
  }
}
