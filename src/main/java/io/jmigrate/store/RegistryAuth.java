package io.jmigrate.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's authentication, as the docker CLI does it (distribution-spec "token authentication", and
 * distribution's docs/spec/auth/token.md):
 * <ul>
 *   <li>the registry answers 401 with {@code WWW-Authenticate: Basic realm=…} or
 *       {@code Bearer realm=…,service=…,scope=…};
 *   <li>Basic: send the config.json credentials with every request;
 *   <li>Bearer: {@code GET realm?service=…&scope=repository:<name>:pull,push} (Basic credentials when known,
 *       anonymous otherwise; with an identity token, the OAuth2 {@code POST} with {@code grant_type=refresh_token}),
 *       take {@code token} or {@code access_token} from the JSON, cache it per scope until it expires, and retry
 *       the request once.
 * </ul>
 * Credentials and tokens are never logged nor put into messages.
 */
final class RegistryAuth {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryAuth.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** distribution's token spec: a token without expires_in lasts 60 seconds. */
  private static final long DEFAULT_TOKEN_SECONDS = 60;
  /** Renew a token this long before it expires, so that a request never carries one that dies on the way. */
  private static final long TOKEN_MARGIN_SECONDS = 10;

  /** What a request needs from the registry, which decides the token scope. */
  enum Access {
    PULL("pull"),
    PUSH("pull,push"),
    /** distribution asks for the "delete" action on DELETE; its challenge says so and we add it then. */
    DELETE("pull,push");

    private final String actions;

    Access(String actions) {
      this.actions = actions;
    }

    String actions() {
      return actions;
    }
  }

  /** A parsed WWW-Authenticate challenge. */
  static final class Challenge {
    private final String scheme;
    private final Map<String, String> params;

    Challenge(String scheme, Map<String, String> params) {
      this.scheme = scheme;
      this.params = Map.copyOf(params);
    }

    /** "basic" or "bearer" (lowercase), or another scheme we do not speak. */
    String scheme() {
      return scheme;
    }

    String param(String name) {
      return params.get(name);
    }

    @Override
    public String toString() {
      return scheme + " " + params;
    }
  }

  private static final class Token {
    final String value;
    final Instant expires;

    Token(String value, Instant expires) {
      this.value = value;
      this.expires = expires;
    }
  }

  private final RegistryLocation location;
  private final RegistryCredentials credentials;
  private final RegistryClient client;
  private volatile Challenge challenge;
  private volatile boolean credentialsLoaded;
  private volatile RegistryCredentials.Credential credential;
  private final Map<String, Token> tokens = new ConcurrentHashMap<>();
  private final Object fetchLock = new Object();
  /** Scopes a registry's challenge asked for, per token key, beyond the ones we ask for ourselves. */
  private final Map<String, Set<String>> learnedScopes = new ConcurrentHashMap<>();

  RegistryAuth(RegistryLocation location, RegistryCredentials credentials, RegistryClient client) {
    this.location = location;
    this.credentials = credentials;
    this.client = client;
  }

  /**
   * Parses a {@code WWW-Authenticate} value (RFC 7235 auth-params, quoted strings may hold commas, as in
   * {@code scope="repository:a:pull,push"}). When the header offers several challenges, Bearer wins over Basic.
   * Empty when the value holds no challenge.
   */
  static Optional<Challenge> parseChallenge(String header) {
    if (header == null || header.isBlank()) {
      return Optional.empty();
    }
    List<Challenge> found = new ArrayList<>();
    int i = 0;
    int n = header.length();
    String scheme = null;
    Map<String, String> params = new LinkedHashMap<>();
    while (i < n) {
      while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == ',' || header.charAt(i) == '\t')) {
        i++;
      }
      int start = i;
      while (i < n && header.charAt(i) != ' ' && header.charAt(i) != '=' && header.charAt(i) != ',') {
        i++;
      }
      String token = header.substring(start, i);
      if (token.isEmpty()) {
        break;
      }
      int j = i;
      while (j < n && header.charAt(j) == ' ') {
        j++;
      }
      if (j < n && header.charAt(j) == '=') {
        // key=value of the current challenge
        i = j + 1;
        while (i < n && header.charAt(i) == ' ') {
          i++;
        }
        StringBuilder value = new StringBuilder();
        if (i < n && header.charAt(i) == '"') {
          i++;
          while (i < n && header.charAt(i) != '"') {
            if (header.charAt(i) == '\\' && i + 1 < n) {
              i++;
            }
            value.append(header.charAt(i));
            i++;
          }
          i++;
        } else {
          while (i < n && header.charAt(i) != ',' && header.charAt(i) != ' ') {
            value.append(header.charAt(i));
            i++;
          }
        }
        params.put(token.toLowerCase(Locale.ROOT), value.toString());
      } else {
        // a new challenge starts with its scheme
        if (scheme != null) {
          found.add(new Challenge(scheme, params));
        }
        scheme = token.toLowerCase(Locale.ROOT);
        params = new LinkedHashMap<>();
      }
    }
    if (scheme != null) {
      found.add(new Challenge(scheme, params));
    }
    return found.stream().filter(c -> c.scheme().equals("bearer")).findFirst()
        .or(() -> found.stream().filter(c -> c.scheme().equals("basic")).findFirst())
        .or(() -> found.stream().findFirst());
  }

  /** Records the challenge of the registry's {@code GET /v2/} answer (401), so that requests authenticate ahead. */
  void pinged(String wwwAuthenticate) throws StoreException {
    Challenge c = parseChallenge(wwwAuthenticate).orElse(null);
    if (c == null) {
      throw new StoreException(StoreException.Kind.AUTH, "registry " + location.authority()
          + " demands authentication but sent no WWW-Authenticate challenge; jmigrate cannot log in to it");
    }
    accept(c);
  }

  private void accept(Challenge c) throws StoreException {
    if (!c.scheme().equals("basic") && !c.scheme().equals("bearer")) {
      throw new StoreException(StoreException.Kind.AUTH, "registry " + location.authority()
          + " asks for '" + c.scheme() + "' authentication; jmigrate speaks Basic and Bearer only");
    }
    if (c.scheme().equals("bearer") && (c.param("realm") == null || c.param("realm").isBlank())) {
      throw new StoreException(StoreException.Kind.AUTH, "registry " + location.authority()
          + " sent a Bearer challenge without a realm; jmigrate cannot get a token");
    }
    challenge = c;
  }

  private static String key(Access access, Collection<String> extraScopes) {
    return extraScopes.isEmpty() ? access.name() : access.name() + " " + String.join(" ", extraScopes);
  }

  /**
   * The Authorization header for a request, fetching a token first when the registry wants Bearer; null when
   * the registry wants none (or Basic without known credentials, which its 401 then reports).
   */
  String authorization(Access access, List<String> extraScopes) throws StoreException {
    Challenge c = challenge;
    if (c == null) {
      return null;
    }
    if (c.scheme().equals("basic")) {
      RegistryCredentials.Credential cred = credential();
      if (cred == null || cred.identityToken()) {
        return null;
      }
      return cred.basicHeader();
    }
    String key = key(access, extraScopes);
    Token t = tokens.get(key);
    if (valid(t)) {
      return "Bearer " + t.value;
    }
    // One fetch at a time, so that parallel requests (tag listing) share a token instead of each asking.
    synchronized (fetchLock) {
      t = tokens.get(key);
      if (valid(t)) {
        return "Bearer " + t.value;
      }
      Set<String> scopes = new LinkedHashSet<>();
      scopes.add("repository:" + location.repository() + ":" + access.actions());
      scopes.addAll(extraScopes);
      scopes.addAll(learnedScopes.getOrDefault(key, Set.of()));
      t = fetchToken(c, scopes);
      tokens.put(key, t);
      return "Bearer " + t.value;
    }
  }

  private static boolean valid(Token t) {
    return t != null && Instant.now().isBefore(t.expires.minusSeconds(TOKEN_MARGIN_SECONDS));
  }

  /**
   * The registry answered 401 to a request. Records the challenge; throws AUTH when retrying cannot help
   * (Basic credentials were sent and refused, or none are known).
   */
  void unauthorized(String wwwAuthenticate, Access access, List<String> extraScopes, boolean sentAuthorization)
      throws StoreException {
    Challenge c = parseChallenge(wwwAuthenticate).orElse(null);
    if (c == null) {
      if (sentAuthorization) {
        throw refused();
      }
      throw new StoreException(StoreException.Kind.AUTH, "registry " + location.authority()
          + " answered 401 Unauthorized without a WWW-Authenticate challenge for " + location.repository());
    }
    accept(c);
    if (c.scheme().equals("basic")) {
      if (sentAuthorization) {
        throw refused();
      }
      if (credential() == null) {
        throw needsCredentials();
      }
      return;
    }
    String key = key(access, extraScopes);
    tokens.remove(key);
    String scope = c.param("scope");
    if (scope != null && !scope.isBlank()) {
      learnedScopes.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).addAll(List.of(scope.split(" ")));
    }
  }

  /** The message for a second 401: the credentials (or anonymous access) were not accepted. */
  StoreException refused() {
    RegistryCredentials.Credential cred;
    try {
      cred = credential();
    } catch (StoreException e) {
      return e;
    }
    if (cred == null) {
      return needsCredentials();
    }
    return new StoreException(StoreException.Kind.AUTH, "registry " + location.authority()
        + " refused the credentials for " + location.repository() + ": run `docker login " + location.authority()
        + "` or fix " + credentials.configFile());
  }

  private StoreException needsCredentials() {
    return new StoreException(StoreException.Kind.AUTH, "registry " + location.authority()
        + " requires credentials for " + location.repository() + " and " + credentials.configFile()
        + " has none for it: run `docker login " + location.authority() + "`");
  }

  private RegistryCredentials.Credential credential() throws StoreException {
    if (!credentialsLoaded) {
      synchronized (this) {
        if (!credentialsLoaded) {
          credential = credentials.lookup(location.authority()).orElse(null);
          credentialsLoaded = true;
        }
      }
    }
    return credential;
  }

  private Token fetchToken(Challenge c, Set<String> scopes) throws StoreException {
    String realm = c.param("realm");
    URI realmUri;
    try {
      realmUri = URI.create(realm);
    } catch (IllegalArgumentException e) {
      throw new StoreException(StoreException.Kind.AUTH,
          "registry " + location.authority() + " named a token service that is not a URL: " + realm);
    }
    String scheme = realmUri.getScheme() == null ? "" : realmUri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http")) {
      throw new StoreException(StoreException.Kind.AUTH,
          "registry " + location.authority() + " named a token service that is not http(s): " + realm);
    }
    if (scheme.equals("http") && !location.plainHttpAllowed() && !loopbackHost(realmUri.getHost())) {
      // Credentials would cross the network in the clear.
      throw new StoreException(StoreException.Kind.AUTH, "registry " + location.authority()
          + " sends credentials to a plain-http token service (" + realm + "); allow it with --insecure-registry");
    }
    RegistryCredentials.Credential cred = credential();
    StringBuilder params = new StringBuilder();
    String service = c.param("service");
    HttpRequest.Builder builder;
    if (cred != null && cred.identityToken()) {
      // OAuth2 refresh-token grant (distribution docs/spec/auth/oauth.md), as the docker CLI does.
      appendParam(params, "grant_type", "refresh_token");
      if (service != null) {
        appendParam(params, "service", service);
      }
      appendParam(params, "scope", String.join(" ", scopes));
      appendParam(params, "client_id", "jmigrate");
      appendParam(params, "refresh_token", cred.secret());
      builder = HttpRequest.newBuilder(realmUri)
          .header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString(params.toString()));
    } else {
      if (service != null) {
        appendParam(params, "service", service);
      }
      for (String s : scopes) {
        appendParam(params, "scope", s);
      }
      String q = realmUri.getRawQuery();
      String sep = q == null || q.isEmpty() ? "?" : "&";
      builder = HttpRequest.newBuilder(URI.create(realm + sep + params)).GET();
      if (cred != null) {
        builder.header("Authorization", cred.basicHeader());
      }
    }
    HttpRequest request = builder.timeout(Duration.ofMinutes(1)).build();
    LOG.debug("fetching a registry token from {} for {}", realmUri.getHost(), scopes);
    try (RegistryClient.Response r = client.exchangeWithRetry(request, true, "token service " + realm, "token")) {
      if (r.status() == 401 || r.status() == 403) {
        throw cred == null ? needsCredentials() : refused();
      }
      if (r.status() != 200) {
        throw new StoreException(r.status() >= 500 ? StoreException.Kind.UNAVAILABLE : StoreException.Kind.AUTH,
            "token service " + realm + " of registry " + location.authority() + " answered " + r.status()
                + ": " + r.errorText());
      }
      JsonNode body;
      try {
        body = JSON.readTree(r.bytes(1 << 20));
      } catch (IOException e) {
        throw new StoreException(StoreException.Kind.AUTH,
            "token service " + realm + " answered with something that is not JSON: " + e.getMessage());
      }
      String token = body.hasNonNull("token") ? body.get("token").asText()
          : body.hasNonNull("access_token") ? body.get("access_token").asText() : null;
      if (token == null || token.isEmpty()) {
        throw new StoreException(StoreException.Kind.AUTH,
            "token service " + realm + " answered without a token for " + location.repository());
      }
      long seconds = body.path("expires_in").asLong(DEFAULT_TOKEN_SECONDS);
      if (seconds <= 0) {
        seconds = DEFAULT_TOKEN_SECONDS;
      }
      return new Token(token, Instant.now().plusSeconds(seconds));
    }
  }

  private static boolean loopbackHost(String host) {
    if (host == null) {
      return false;
    }
    try {
      return RegistryLocation.parse("oci://" + host + "/x", false).loopback();
    } catch (StoreException e) {
      return false;
    }
  }

  private static void appendParam(StringBuilder sb, String name, String value) {
    if (sb.length() > 0) {
      sb.append('&');
    }
    sb.append(URLEncoder.encode(name, StandardCharsets.UTF_8)).append('=')
        .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
  }
}
