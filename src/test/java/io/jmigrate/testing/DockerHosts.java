package io.jmigrate.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension that provides two private Docker daemons, host A and host B, shared by the whole test run:
 * they start lazily once (with {@link TestImages#BASE} imported on each) and stop when the run ends (they are kept
 * in the root {@link ExtensionContext.Store}, which closes {@link AutoCloseable} values at the end of the run; a
 * JVM shutdown hook is the safety net when they were reached only through the static accessors).
 *
 * <pre>{@code
 * @ExtendWith(DockerHosts.class)
 * class FooIT {
 *   @Test
 *   void x(DockerDaemon a, @DockerHosts.B DockerDaemon b) { ... }
 * }
 * }</pre>
 *
 * An unannotated {@link DockerDaemon} parameter is host A. Tests clean up what they create; {@link #cleanAll}
 * removes everything but the base test image. A test that needs a daemon of its own (e.g. one it will kill)
 * uses {@link #startExtra(String)} and stops it itself.
 */
public final class DockerHosts implements BeforeAllCallback, ParameterResolver {

  /** Marks a {@link DockerDaemon} parameter as host A (the default). */
  @Retention(RetentionPolicy.RUNTIME)
  @Target(ElementType.PARAMETER)
  public @interface A {}

  /** Marks a {@link DockerDaemon} parameter as host B. */
  @Retention(RetentionPolicy.RUNTIME)
  @Target(ElementType.PARAMETER)
  public @interface B {}

  private static final Object LOCK = new Object();
  private static Pair pair;

  /** The two shared daemons; closing stops both. */
  static final class Pair implements AutoCloseable {
    final DockerDaemon a;
    final DockerDaemon b;

    Pair(DockerDaemon a, DockerDaemon b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void close() {
      synchronized (LOCK) {
        try {
          a.stop();
        } finally {
          b.stop();
          if (pair == this) {
            pair = null;
          }
        }
      }
    }
  }

  private static Pair pair() {
    synchronized (LOCK) {
      if (pair == null) {
        DockerDaemon a = DockerDaemon.start("a");
        DockerDaemon b;
        try {
          b = DockerDaemon.start("b");
        } catch (RuntimeException e) {
          a.stop();
          throw e;
        }
        Pair p = new Pair(a, b);
        Runtime.getRuntime().addShutdownHook(new Thread(p::close, "jmigrate-test-dockerd-stop"));
        TestImages.base(a);
        TestImages.base(b);
        pair = p;
      }
      return pair;
    }
  }

  /** Host A, started on first use. */
  public static DockerDaemon hostA() {
    return pair().a;
  }

  /** Host B, started on first use. */
  public static DockerDaemon hostB() {
    return pair().b;
  }

  /**
   * A daemon of the test's own, with {@link TestImages#BASE} imported; the caller stops it (try-with-resources).
   */
  public static DockerDaemon startExtra(String name) {
    return startExtra(name, List.of());
  }

  /** As {@link #startExtra(String)}, with more dockerd arguments (see {@link DockerDaemon#start(String, List)}). */
  public static DockerDaemon startExtra(String name, List<String> dockerdArgs) {
    DockerDaemon d = DockerDaemon.start(name, dockerdArgs);
    try {
      TestImages.base(d);
    } catch (RuntimeException e) {
      d.stop();
      throw e;
    }
    return d;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    Pair p = pair();
    // The root store closes the pair once, at the end of the whole run.
    context.getRoot().getStore(ExtensionContext.Namespace.create(DockerHosts.class)).getOrComputeIfAbsent(
        "pair", k -> p, Pair.class);
  }

  @Override
  public boolean supportsParameter(ParameterContext pc, ExtensionContext ec) {
    return pc.getParameter().getType() == DockerDaemon.class;
  }

  @Override
  public Object resolveParameter(ParameterContext pc, ExtensionContext ec) throws ParameterResolutionException {
    if (pc.isAnnotated(A.class) && pc.isAnnotated(B.class)) {
      throw new ParameterResolutionException("a DockerDaemon parameter cannot be both @A and @B");
    }
    return pc.isAnnotated(B.class) ? hostB() : hostA();
  }

  /**
   * Removes every container (with its anonymous volumes), every volume, every user-defined network and every image
   * except {@link TestImages#BASE} from {@code daemon}.
   */
  public static void cleanAll(DockerDaemon daemon) {
    String containers = daemon.docker("ps", "-aq");
    if (!containers.isBlank()) {
      List<String> args = new ArrayList<>(List.of("rm", "-f", "-v"));
      args.addAll(List.of(containers.split("\\s+")));
      daemon.docker(args.toArray(String[]::new));
    }
    String volumes = daemon.docker("volume", "ls", "-q");
    if (!volumes.isBlank()) {
      List<String> args = new ArrayList<>(List.of("volume", "rm", "-f"));
      args.addAll(List.of(volumes.split("\\s+")));
      daemon.docker(args.toArray(String[]::new));
    }
    String networks = daemon.docker("network", "ls", "-q", "--filter", "type=custom");
    if (!networks.isBlank()) {
      List<String> args = new ArrayList<>(List.of("network", "rm"));
      args.addAll(List.of(networks.split("\\s+")));
      daemon.docker(args.toArray(String[]::new));
    }
    String keep = TestImages.base(daemon);
    Set<String> removed = new java.util.HashSet<>();
    for (String line : daemon.docker("images", "-a", "--no-trunc", "--format", "{{.ID}}").split("\n")) {
      String id = line.strip();
      if (!id.isEmpty() && !id.equals(keep) && removed.add(id)) {
        // An image may already be gone with a child removed before it.
        daemon.run(null, "rmi", "-f", id);
      }
    }
  }

  /** {@link #cleanAll(DockerDaemon)} on both shared hosts. */
  public static void cleanAll() {
    cleanAll(hostA());
    cleanAll(hostB());
  }
}
