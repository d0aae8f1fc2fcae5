package io.jmigrate.job;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Tests for {@link WebhookNotifier}, against a real HTTP server on 127.0.0.1. */
class WebhookNotifierTest {

  /** What the server received. */
  record Received(String method, String path, String contentType, byte[] body) {}

  private HttpServer server;
  private ExecutorService executor;
  private final Queue<Received> received = new ConcurrentLinkedQueue<>();
  private final AtomicInteger requests = new AtomicInteger();
  private volatile int[] statuses = {204};
  private final CountDownLatch release = new CountDownLatch(1);
  private volatile boolean hang;
  private ListAppender<ILoggingEvent> logs;
  private Logger logger;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    executor = Executors.newCachedThreadPool();
    server.setExecutor(executor);
    server.createContext("/", exchange -> {
      int n = requests.getAndIncrement();
      byte[] body = exchange.getRequestBody().readAllBytes();
      received.add(new Received(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
          exchange.getRequestHeaders().getFirst("Content-Type"), body));
      if (hang) {
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      int status = statuses[Math.min(n, statuses.length - 1)];
      exchange.sendResponseHeaders(status, -1);
      exchange.close();
    });
    server.start();
    logger = (Logger) LoggerFactory.getLogger(WebhookNotifier.class);
    logs = new ListAppender<>();
    logs.start();
    logger.addAppender(logs);
  }

  @AfterEach
  void stop() {
    release.countDown();
    server.stop(0);
    executor.shutdownNow();
    logger.detachAppender(logs);
  }

  private URI url() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hooks/SECRET-TOKEN");
  }

  private static WebhookNotifier notifier(Duration timeout) {
    return new WebhookNotifier(HttpClient.newBuilder().connectTimeout(timeout).build(), timeout,
        Duration.ofMillis(10));
  }

  private static RunSummary summary(boolean ok) {
    RunSummary.Builder b = RunSummary.builder("nightly").host("unix:///run/docker.sock")
        .repositories(List.of("/r")).started(Instant.parse("2026-11-20T03:00:00Z"))
        .finished(Instant.parse("2026-11-20T03:01:00Z"));
    if (ok) {
      b.add(RunSummary.ContainerResult.success("web", "/r", "3f2a9c1b0d4e", 1024, Duration.ofSeconds(30)));
    } else {
      b.add(RunSummary.ContainerResult.failure("web", "/r", Duration.ofSeconds(2), "commit of web failed"));
    }
    return b.build();
  }

  private List<String> warnings() {
    return logs.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  @Test
  void notify_always_postsTheJsonSummary() throws Exception {
    RunSummary s = summary(true);

    WebhookNotifier.Outcome o = notifier(Duration.ofSeconds(10)).notify(new Notification(url(), Notification.On.ALWAYS), s);

    assertThat(o).isEqualTo(WebhookNotifier.Outcome.SENT);
    assertThat(received).hasSize(1);
    Received r = received.peek();
    assertThat(r.method()).isEqualTo("POST");
    assertThat(r.path()).isEqualTo("/hooks/SECRET-TOKEN");
    assertThat(r.contentType()).isEqualTo("application/json");
    RunSummary got = RunSummary.fromJson(r.body());
    assertThat(got.job()).isEqualTo("nightly");
    assertThat(got.status()).isEqualTo(RunSummary.Status.SUCCESS);
    assertThat(got.containers()).isEqualTo(s.containers());
    assertThat(r.body()).isEqualTo(s.toJson(false));
  }

  @Test
  void notify_onFailureAndRunSucceeded_sendsNothing() {
    WebhookNotifier.Outcome o = notifier(Duration.ofSeconds(10))
        .notify(new Notification(url(), Notification.On.FAILURE), summary(true));

    assertThat(o).isEqualTo(WebhookNotifier.Outcome.SKIPPED);
    assertThat(requests.get()).isZero();
  }

  @Test
  void notify_onFailureAndRunFailed_sends() throws Exception {
    WebhookNotifier.Outcome o = notifier(Duration.ofSeconds(10))
        .notify(new Notification(url(), Notification.On.FAILURE), summary(false));

    assertThat(o).isEqualTo(WebhookNotifier.Outcome.SENT);
    assertThat(RunSummary.fromJson(received.peek().body()).status()).isEqualTo(RunSummary.Status.FAILED);
  }

  @Test
  void send_serverErrorThenSuccess_retriesOnce() {
    statuses = new int[] {500, 200};

    WebhookNotifier.Outcome o = notifier(Duration.ofSeconds(10)).send(url(), summary(false));

    assertThat(o).isEqualTo(WebhookNotifier.Outcome.SENT);
    assertThat(requests.get()).isEqualTo(2);
    assertThat(warnings()).isEmpty();
  }

  @Test
  void send_serverKeepsFailing_logsAWarningWithoutTheTokenAndDoesNotThrow() {
    statuses = new int[] {503};

    WebhookNotifier.Outcome o = notifier(Duration.ofSeconds(10)).send(url(), summary(false));

    assertThat(o).isEqualTo(WebhookNotifier.Outcome.FAILED);
    assertThat(requests.get()).isEqualTo(2);
    assertThat(warnings()).hasSize(1);
    String w = warnings().get(0);
    assertThat(w).startsWith("could not notify webhook http://127.0.0.1:" + server.getAddress().getPort()
        + "/… of job nightly (failed): HTTP 503 after 2 attempts;");
    assertThat(w).doesNotContain("SECRET-TOKEN");
  }

  @Test
  void send_clientError_doesNotRetry() {
    statuses = new int[] {404};

    WebhookNotifier.Outcome o = notifier(Duration.ofSeconds(10)).send(url(), summary(false));

    assertThat(o).isEqualTo(WebhookNotifier.Outcome.FAILED);
    assertThat(requests.get()).isEqualTo(1);
    assertThat(warnings().get(0)).contains("HTTP 404 after 1 attempt;");
  }

  @Test
  void send_receiverHangs_timesOutRetriesAndGivesUp() {
    hang = true;

    WebhookNotifier.Outcome o = notifier(Duration.ofMillis(300)).send(url(), summary(false));

    assertThat(o).isEqualTo(WebhookNotifier.Outcome.FAILED);
    assertThat(warnings().get(0)).contains("no answer within 300ms after 2 attempts");
  }

  @Test
  void send_nothingListening_failsWithoutThrowing() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }

    WebhookNotifier.Outcome o = notifier(Duration.ofSeconds(2))
        .send(URI.create("http://127.0.0.1:" + port + "/x"), summary(false));

    assertThat(o).isEqualTo(WebhookNotifier.Outcome.FAILED);
    assertThat(warnings()).hasSize(1);
    assertThat(warnings().get(0)).contains(": cannot connect");
  }
}
