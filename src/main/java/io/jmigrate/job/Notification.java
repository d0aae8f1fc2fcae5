package io.jmigrate.job;

import java.net.URI;
import java.util.Locale;
import java.util.Objects;

/**
 * Where and when to report a run: a webhook that receives the {@link RunSummary} as JSON.
 *
 * @param webhook an http or https URL; it may hold a token, so logs show only its scheme and host
 * @param on when to send it
 */
public record Notification(URI webhook, On on) {

  /** When a run is reported. */
  public enum On {
    /** Only when the run was not a full success (status partial or failed). The default. */
    FAILURE,
    /** After every run. */
    ALWAYS;

    /** The YAML spelling. */
    public String value() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** True when a run that ended with {@code status} is reported. */
    public boolean shouldSend(RunSummary.Status status) {
      return this == ALWAYS || status != RunSummary.Status.SUCCESS;
    }
  }

  public Notification {
    Objects.requireNonNull(webhook, "webhook");
    Objects.requireNonNull(on, "on");
  }

  /**
   * Checks a webhook URL: absolute http or https with a host.
   *
   * @throws IllegalArgumentException naming the URL and what is expected
   */
  public static URI checkWebhook(String url) {
    String expected = "; expected an http:// or https:// URL with a host, like https://hooks.example.com/jmigrate";
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException("empty webhook URL" + expected);
    }
    URI uri;
    try {
      uri = new URI(url.strip());
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException("bad webhook URL \"" + url + "\": " + e.getReason() + expected, e);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException("bad webhook URL \"" + url + "\": "
          + (scheme.isEmpty() ? "it has no scheme" : "the scheme " + scheme + ": is not http or https") + expected);
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      throw new IllegalArgumentException("bad webhook URL \"" + url + "\": it names no host" + expected);
    }
    return uri;
  }

  /** The URL without path, query or user info, safe to log (webhook paths often carry tokens). */
  public String display() {
    return displayOf(webhook);
  }

  static String displayOf(URI uri) {
    return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() >= 0 ? ":" + uri.getPort() : "") + "/…";
  }
}
