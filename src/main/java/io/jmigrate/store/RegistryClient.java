package io.jmigrate.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of a registry store: OCI distribution-spec v1.1 requests over {@code java.net.http}, with
 * <ul>
 *   <li>the scheme chosen once by {@code GET /v2/} (https; plain http only where {@link RegistryLocation} allows
 *       it, after https failed), whose 401 challenge primes {@link RegistryAuth};
 *   <li>authentication and one retry after a 401;
 *   <li>retries with exponential backoff on I/O errors and 408/429/5xx answers, for idempotent requests only
 *       (any request may be retried when the connection was refused, since then nothing was sent);
 *   <li>redirects followed by hand for GET and HEAD, dropping the Authorization header when the host changes
 *       (blob downloads are often redirected to object storage, which must not see registry credentials);
 *   <li>a count of requests per method, so that tests and benchmarks can prove that nothing was re-sent.
 * </ul>
 * Never logs credentials, tokens or upload URLs (their {@code _state} is an opaque server token).
 */
final class RegistryClient {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryClient.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<Integer> RETRY_STATUS = Set.of(408, 429, 500, 502, 503, 504);
  private static final int MAX_REDIRECTS = 5;
  private static final Duration REQUEST_TIMEOUT = Duration.ofMinutes(5);

  /** Retry geometry; tests shorten it. */
  static final class Retry {
    final int attempts;
    final Duration firstDelay;
    final Duration maxDelay;

    Retry(int attempts, Duration firstDelay, Duration maxDelay) {
      if (attempts < 1) {
        throw new IllegalArgumentException("retry attempts must be at least 1: " + attempts);
      }
      this.attempts = attempts;
      this.firstDelay = firstDelay;
      this.maxDelay = maxDelay;
    }

    static Retry defaults() {
      return new Retry(5, Duration.ofMillis(500), Duration.ofSeconds(8));
    }

    Duration delay(int attempt) {
      long base = firstDelay.toMillis() << Math.min(attempt, 20);
      long capped = Math.min(base, maxDelay.toMillis());
      return Duration.ofMillis(capped + ThreadLocalRandom.current().nextLong(capped / 4 + 1));
    }
  }

  /** One request to the registry: everything needed to send it again. */
  static final class Request {
    final String method;
    final URI uri;
    final byte[] body;
    final int bodyOffset;
    final int bodyLength;
    final Map<String, String> headers = new LinkedHashMap<>();
    final RegistryAuth.Access access;
    final List<String> extraScopes = new ArrayList<>();
    final String what;
    boolean idempotent;

    private Request(String method, URI uri, byte[] body, int off, int len, RegistryAuth.Access access, String what) {
      this.method = method;
      this.uri = uri;
      this.body = body;
      this.bodyOffset = off;
      this.bodyLength = len;
      this.access = access;
      this.what = what;
      this.idempotent = method.equals("GET") || method.equals("HEAD") || method.equals("PUT")
          || method.equals("DELETE");
    }

    /** A request without a body; {@code what} names the action and object for messages. */
    static Request of(String method, URI uri, RegistryAuth.Access access, String what) {
      return new Request(method, uri, null, 0, 0, access, what);
    }

    /** A request with {@code body[off, off+len)} as body; the array must not change until the request is done. */
    static Request withBody(String method, URI uri, byte[] body, int off, int len, RegistryAuth.Access access,
        String what) {
      return new Request(method, uri, body, off, len, access, what);
    }

    Request header(String name, String value) {
      headers.put(name, value);
      return this;
    }

    Request scope(String extraScope) {
      extraScopes.add(extraScope);
      return this;
    }

    Request idempotent(boolean v) {
      idempotent = v;
      return this;
    }
  }

  /** An answer; the caller closes it (which drops any unread body). */
  static final class Response implements Closeable {
    private final int status;
    private final HttpHeaders headers;
    private final InputStream body;
    private final URI uri;

    Response(int status, HttpHeaders headers, InputStream body, URI uri) {
      this.status = status;
      this.headers = headers;
      this.body = body;
      this.uri = uri;
    }

    int status() {
      return status;
    }

    Optional<String> header(String name) {
      return headers.firstValue(name);
    }

    /** The URI that answered (after redirects). */
    URI uri() {
      return uri;
    }

    /** The body stream; closing the response closes it. */
    InputStream body() {
      return body;
    }

    /** Reads the whole body; more than {@code limit} bytes is an IOException. */
    byte[] bytes(int limit) throws IOException {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      int n;
      while ((n = body.read(buf)) >= 0) {
        if (out.size() + n > limit) {
          throw new IOException("answer from " + uri.getHost() + " is larger than " + limit + " bytes");
        }
        out.write(buf, 0, n);
      }
      return out.toByteArray();
    }

    /** The registry's error, as "CODE: message" from its OCI error JSON, or the start of the body. */
    String errorText() {
      byte[] b;
      try {
        b = body.readNBytes(1 << 16);
      } catch (IOException e) {
        return "HTTP " + status;
      }
      String text = new String(b, StandardCharsets.UTF_8).trim();
      try {
        JsonNode errors = JSON.readTree(b).path("errors");
        if (errors.isArray() && errors.size() > 0) {
          List<String> parts = new ArrayList<>();
          for (JsonNode e : errors) {
            String code = e.path("code").asText("");
            String message = e.path("message").asText("");
            parts.add(code.isEmpty() ? message : code + (message.isEmpty() ? "" : ": " + message));
          }
          return String.join("; ", parts);
        }
      } catch (IOException | RuntimeException e) {
        // not the OCI error JSON: fall back to the text
      }
      if (text.isEmpty()) {
        return "HTTP " + status;
      }
      return text.length() > 200 ? text.substring(0, 200) + "…" : text;
    }

    /** The first error code of the OCI error JSON, e.g. MANIFEST_BLOB_UNKNOWN, or "". */
    static String code(String errorText) {
      int colon = errorText.indexOf(':');
      String first = colon < 0 ? errorText : errorText.substring(0, colon);
      return first.matches("[A-Z_]+") ? first : "";
    }

    @Override
    public void close() {
      try {
        body.close();
      } catch (IOException e) {
        // nothing to do: the connection is dropped
      }
    }
  }

  private final RegistryLocation location;
  private final HttpClient http;
  private final RegistryAuth auth;
  private final Retry retry;
  private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
  private volatile URI base;

  RegistryClient(RegistryLocation location, RegistryCredentials credentials, Retry retry) {
    this.location = location;
    this.retry = retry;
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(Duration.ofSeconds(30))
        .build();
    this.auth = new RegistryAuth(location, credentials, this);
  }

  RegistryLocation location() {
    return location;
  }

  /** Requests sent so far, per method (and "token" for the token service); retries count. */
  Map<String, Long> counts() {
    Map<String, Long> m = new TreeMap<>();
    counts.forEach((k, v) -> m.put(k, v.get()));
    return m;
  }

  /** {@code scheme://host:port} of the registry; pings it the first time. */
  URI base() throws StoreException {
    ping();
    return base;
  }

  /** An absolute URI for {@code /v2/<repository>/<suffix>} ({@code suffix} already escaped). */
  URI repoUri(String suffix) throws StoreException {
    return base().resolve("/v2/" + location.repository() + "/" + suffix);
  }

  /** Resolves a Location header against the URI that sent it. */
  static URI resolve(URI against, String location) {
    return against.resolve(location);
  }

  /**
   * Chooses the scheme with {@code GET /v2/}: https first; plain http only where allowed, when https failed.
   * Records the auth challenge of a 401.
   */
  private void ping() throws StoreException {
    if (base != null) {
      return;
    }
    synchronized (this) {
      if (base != null) {
        return;
      }
      List<String> schemes = new ArrayList<>(List.of("https"));
      if (location.plainHttpAllowed()) {
        schemes.add("http");
      }
      Exception last = null;
      for (int attempt = 0; attempt < retry.attempts; attempt++) {
        if (attempt > 0) {
          sleep(retry.delay(attempt - 1), "registry " + location.authority());
        }
        for (String scheme : List.copyOf(schemes)) {
          URI uri = location.base(scheme).resolve("/v2/");
          HttpRequest r = HttpRequest.newBuilder(uri).GET().timeout(Duration.ofSeconds(60))
              .header("User-Agent", "jmigrate").build();
          HttpResponse<InputStream> resp;
          try {
            resp = exchange(r, "GET");
          } catch (SSLException e) {
            last = e;
            if (scheme.equals("https") && schemes.size() > 1 && !certificateProblem(e)) {
              // The server does not speak TLS: stop trying https.
              LOG.debug("{} does not speak https ({}); using http", location.authority(), e.toString());
              schemes.remove("https");
              continue;
            }
            if (certificateProblem(e)) {
              throw new StoreException(StoreException.Kind.UNAVAILABLE, "the TLS certificate of registry "
                  + location.authority() + " is not trusted: " + e.getMessage() + "; add its CA to the Java "
                  + "trust store (-Djavax.net.ssl.trustStore=…)", e);
            }
            continue;
          } catch (IOException e) {
            last = e;
            continue;
          }
          int status = resp.statusCode();
          closeQuietly(resp.body());
          if (RETRY_STATUS.contains(status)) {
            last = new IOException("GET /v2/ answered " + status);
            continue;
          }
          if (status == 200) {
            base = location.base(scheme);
            return;
          }
          if (status == 401) {
            auth.pinged(resp.headers().firstValue("WWW-Authenticate").orElse(null));
            base = location.base(scheme);
            return;
          }
          throw new StoreException(StoreException.Kind.INVALID, location.authority() + " does not serve the OCI "
              + "distribution API (GET " + uri + " answered " + status + "); check the repository URL "
              + location.url());
        }
      }
      String tried = schemes.size() > 1 || location.plainHttpAllowed() ? "https and http" : "https";
      throw new StoreException(StoreException.Kind.UNAVAILABLE, "cannot reach registry " + location.authority()
          + " over " + tried + " (" + describe(last) + "); check that it is running and that the URL "
          + location.url() + " is right" + (location.plainHttpAllowed() ? "" : "; a plain-http registry needs "
          + "--insecure-registry"), last);
    }
  }

  private static boolean certificateProblem(SSLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof CertificateException || String.valueOf(t.getMessage()).contains("PKIX")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Sends {@code req}, authenticating, retrying and following redirects as the class comment says. Returns any
   * status but 401; the caller closes the response. Throws UNAVAILABLE when the registry cannot be reached after
   * the retries, AUTH when it refuses the credentials.
   */
  Response send(Request req) throws StoreException {
    ping();
    boolean authRetried = false;
    int attempt = 0;
    URI uri = req.uri;
    int redirects = 0;
    boolean sameHost = true;
    while (true) {
      String authorization = sameHost ? auth.authorization(req.access, req.extraScopes) : null;
      HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).header("User-Agent", "jmigrate");
      req.headers.forEach(b::header);
      if (authorization != null) {
        b.header("Authorization", authorization);
      }
      if (req.body != null) {
        b.method(req.method, body(req.body, req.bodyOffset, req.bodyLength));
      } else if (req.method.equals("POST") || req.method.equals("PUT") || req.method.equals("PATCH")) {
        b.method(req.method, HttpRequest.BodyPublishers.ofByteArray(new byte[0]));
      } else {
        b.method(req.method, HttpRequest.BodyPublishers.noBody());
      }
      HttpResponse<InputStream> resp;
      try {
        resp = exchange(b.build(), req.method);
      } catch (IOException e) {
        if ((req.idempotent || e instanceof ConnectException) && attempt + 1 < retry.attempts) {
          Duration d = retry.delay(attempt++);
          LOG.info("{} failed ({}); retrying in {} ms", req.what, describe(e), d.toMillis());
          sleep(d, req.what);
          continue;
        }
        throw new StoreException(StoreException.Kind.UNAVAILABLE, "cannot " + req.what + ": registry "
            + location.authority() + " did not answer (" + describe(e) + ")"
            + (attempt > 0 ? " after " + (attempt + 1) + " attempts" : "")
            + "; check that it is running and reachable", e);
      }
      int status = resp.statusCode();
      if (status == 401 && sameHost) {
        String challenge = resp.headers().firstValue("WWW-Authenticate").orElse(null);
        closeQuietly(resp.body());
        if (authRetried) {
          throw auth.refused();
        }
        auth.unauthorized(challenge, req.access, req.extraScopes, authorization != null);
        authRetried = true;
        continue;
      }
      if (RETRY_STATUS.contains(status) && req.idempotent && attempt + 1 < retry.attempts) {
        closeQuietly(resp.body());
        Duration d = retry.delay(attempt++);
        LOG.info("{}: registry answered {}; retrying in {} ms", req.what, status, d.toMillis());
        sleep(d, req.what);
        continue;
      }
      if ((req.method.equals("GET") || req.method.equals("HEAD")) && isRedirect(status)) {
        Optional<String> to = resp.headers().firstValue("Location");
        closeQuietly(resp.body());
        if (to.isEmpty()) {
          throw new StoreException(StoreException.Kind.OTHER, "cannot " + req.what + ": registry "
              + location.authority() + " answered " + status + " without a Location");
        }
        if (++redirects > MAX_REDIRECTS) {
          throw new StoreException(StoreException.Kind.OTHER, "cannot " + req.what + ": more than "
              + MAX_REDIRECTS + " redirects");
        }
        URI next = uri.resolve(to.get());
        // Credentials go only to the registry itself, never to the storage it redirects to.
        sameHost = sameHost && sameAuthority(next, uri);
        uri = next;
        continue;
      }
      return new Response(status, resp.headers(), resp.body(), uri);
    }
  }

  private static boolean isRedirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  }

  private static boolean sameAuthority(URI a, URI b) {
    return String.valueOf(a.getScheme()).equalsIgnoreCase(String.valueOf(b.getScheme()))
        && String.valueOf(a.getAuthority()).equalsIgnoreCase(String.valueOf(b.getAuthority()));
  }

  /**
   * Sends a prepared request (the token service's), retrying I/O errors and 5xx when {@code idempotent}. The
   * caller closes the response.
   */
  Response exchangeWithRetry(HttpRequest request, boolean idempotent, String what, String countAs)
      throws StoreException {
    int attempt = 0;
    while (true) {
      HttpResponse<InputStream> resp;
      try {
        resp = exchange(request, countAs);
      } catch (IOException e) {
        if ((idempotent || e instanceof ConnectException) && attempt + 1 < retry.attempts) {
          sleep(retry.delay(attempt++), what);
          continue;
        }
        throw new StoreException(StoreException.Kind.UNAVAILABLE,
            "cannot reach " + what + " (" + describe(e) + "); check that it is running and reachable", e);
      }
      if (RETRY_STATUS.contains(resp.statusCode()) && idempotent && attempt + 1 < retry.attempts) {
        closeQuietly(resp.body());
        sleep(retry.delay(attempt++), what);
        continue;
      }
      return new Response(resp.statusCode(), resp.headers(), resp.body(), request.uri());
    }
  }

  private HttpResponse<InputStream> exchange(HttpRequest request, String countAs) throws IOException {
    counts.computeIfAbsent(countAs, k -> new AtomicLong()).incrementAndGet();
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while talking to registry " + location.authority());
    }
  }

  /**
   * The exception for an unexpected answer: 404 NOT_FOUND, 401/403 AUTH, 5xx UNAVAILABLE, else OTHER; the
   * message is "cannot WHAT in URL: STATUS CODE: message".
   */
  StoreException error(Response r, String what) {
    String text = r.errorText();
    int s = r.status();
    StoreException.Kind kind = s == 404 ? StoreException.Kind.NOT_FOUND
        : s == 401 || s == 403 ? StoreException.Kind.AUTH
        : s >= 500 || s == 429 || s == 408 ? StoreException.Kind.UNAVAILABLE
        : StoreException.Kind.OTHER;
    String hint = "";
    if (s == 403) {
      hint = "; the credentials for " + location.authority() + " lack permission on " + location.repository();
    } else if (s >= 500) {
      hint = "; the registry failed, try again later";
    }
    return new StoreException(kind, "cannot " + what + " in " + location.url() + ": registry answered " + s
        + " (" + text + ")" + hint);
  }

  private static void sleep(Duration d, String what) throws StoreException {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(StoreException.Kind.UNAVAILABLE, "interrupted while waiting to retry: " + what);
    }
  }

  private static String describe(Throwable e) {
    if (e == null) {
      return "no answer";
    }
    String m = e.getMessage();
    if (e instanceof ConnectException && (m == null || m.isEmpty())) {
      return "connection refused";
    }
    return e.getClass().getSimpleName() + (m == null || m.isEmpty() ? "" : ": " + m);
  }

  static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException e) {
      // the connection is dropped anyway
    }
  }

  /**
   * The request body. {@code ofByteArray} copies its array into fresh 16 KiB buffers on every send (half a GiB of
   * garbage per GiB uploaded, which grew the heap); {@code ofByteArrays} wraps each array as it is, so a whole
   * upload chunk goes out without a copy. The caller keeps the array unchanged until the response has arrived.
   */
  private static HttpRequest.BodyPublisher body(byte[] body, int off, int len) {
    if (off == 0 && len == body.length) {
      return HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofByteArrays(List.of(body)), len);
    }
    return HttpRequest.BodyPublishers.ofByteArray(body, off, len);
  }
}
