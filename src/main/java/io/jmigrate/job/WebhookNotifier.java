package io.jmigrate.job;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts a {@link RunSummary} as JSON to a job's webhook, with a timeout and one retry. A notification is a side
 * channel: failing to deliver it is logged as a warning and never changes the run's outcome, so this class
 * never throws. Logs name the webhook by scheme and host only, since webhook paths often carry tokens.
 */
public final class WebhookNotifier {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookNotifier.class);

  /** Per attempt: connect plus answer. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
  /** Pause before the single retry. */
  public static final Duration DEFAULT_RETRY_DELAY = Duration.ofSeconds(2);

  /** What happened to a notification. */
  public enum Outcome {
    /** The webhook answered 2xx. */
    SENT,
    /** The policy said not to send ({@code on: failure} and the run succeeded). */
    SKIPPED,
    /** Not delivered after the retry (or a 4xx answer, which a retry will not fix); logged. */
    FAILED
  }

  private final HttpClient client;
  private final Duration timeout;
  private final Duration retryDelay;

  /** A notifier with its own HTTP client and the default timeout and retry delay. */
  public WebhookNotifier() {
    this(HttpClient.newBuilder().connectTimeout(DEFAULT_TIMEOUT).followRedirects(HttpClient.Redirect.NEVER).build(),
        DEFAULT_TIMEOUT, DEFAULT_RETRY_DELAY);
  }

  /**
   * @param client the HTTP client (its connect timeout should not exceed {@code timeout})
   * @param timeout how long one attempt may take
   * @param retryDelay the pause before the retry
   */
  public WebhookNotifier(HttpClient client, Duration timeout, Duration retryDelay) {
    this.client = Objects.requireNonNull(client, "client");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.retryDelay = Objects.requireNonNull(retryDelay, "retryDelay");
  }

  /** Sends the summary if the notification's policy asks for it. */
  public Outcome notify(Notification notification, RunSummary summary) {
    if (!notification.on().shouldSend(summary.status())) {
      LOG.debug("not notifying {} of job {}: status {} and on: {}", notification.display(), summary.job(),
          summary.status().value(), notification.on().value());
      return Outcome.SKIPPED;
    }
    return send(notification.webhook(), summary);
  }

  /** Sends the summary now, whatever its status. */
  public Outcome send(URI webhook, RunSummary summary) {
    String where = Notification.displayOf(webhook);
    String problem;
    try {
      HttpRequest request = HttpRequest.newBuilder(webhook)
          .timeout(timeout)
          .header("Content-Type", "application/json")
          .header("User-Agent", "jmigrate/" + version())
          .POST(HttpRequest.BodyPublishers.ofByteArray(summary.toJson(false)))
          .build();
      problem = attempt(request);
      if (problem == null) {
        return sent(where, summary);
      }
      if (!problem.startsWith("retry:")) {
        return failed(where, summary, problem, 1);
      }
      LOG.debug("webhook {} for job {} failed ({}); retrying in {}", where, summary.job(), problem.substring(6),
          Durations.format(retryDelay));
      Thread.sleep(retryDelay.toMillis());
      problem = attempt(request);
      if (problem == null) {
        return sent(where, summary);
      }
      return failed(where, summary, problem.startsWith("retry:") ? problem.substring(6) : problem, 2);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return failed(where, summary, "interrupted", 1);
    } catch (RuntimeException e) {
      // A bad URI or a client bug must not turn a finished backup into a failed one.
      return failed(where, summary, e.toString(), 1);
    }
  }

  /** Null on success; "retry:WHY" for what a retry may fix; "WHY" otherwise. */
  private String attempt(HttpRequest request) throws InterruptedException {
    try {
      HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
      int code = response.statusCode();
      if (code >= 200 && code < 300) {
        return null;
      }
      String why = "HTTP " + code;
      return code >= 500 || code == 429 || code == 408 ? "retry:" + why : why;
    } catch (java.net.http.HttpTimeoutException e) {
      return "retry:no answer within " + Durations.format(timeout);
    } catch (java.net.ConnectException e) {
      return "retry:cannot connect" + (e.getMessage() != null ? " (" + e.getMessage() + ")" : "");
    } catch (IOException e) {
      return "retry:" + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName());
    }
  }

  private static Outcome sent(String where, RunSummary summary) {
    LOG.debug("notified webhook {} of job {} ({})", where, summary.job(), summary.status().value());
    return Outcome.SENT;
  }

  private static Outcome failed(String where, RunSummary summary, String problem, int attempts) {
    LOG.warn("could not notify webhook {} of job {} ({}): {} after {} attempt{}; check the notify: URL and that "
        + "the receiver is up (the backup result is not affected)", where, summary.job(), summary.status().value(),
        problem, attempts, attempts == 1 ? "" : "s");
    return Outcome.FAILED;
  }

  private static String version() {
    String v = WebhookNotifier.class.getPackage().getImplementationVersion();
    return v != null ? v : "dev";
  }
}
