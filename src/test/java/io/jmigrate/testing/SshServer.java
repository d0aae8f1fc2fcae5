package io.jmigrate.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A private Debian {@code openssh-server} for tests: {@code sshd -f CONFIG -D -e} on 127.0.0.1 with a generated
 * host key, a generated user key in its AuthorizedKeysFile, and {@code AllowStreamLocalForwarding yes}, so that
 * {@code ssh -L LOCAL.sock:/path/docker.sock} forwards a private daemon (docs/engine-notes.md, "Reaching engines").
 *
 * <p>Clients get a private ssh_config through {@link #sshCommand}: {@code ssh -F FILE}, which jmigrate takes from
 * {@code JMIGRATE_SSH_COMMAND}. The user's own ~/.ssh is never read or written.
 */
public final class SshServer implements AutoCloseable {
  private final Path dir;
  private final int port;
  private final Process process;
  private boolean stopped;

  private SshServer(Path dir, int port, Process process) {
    this.dir = dir;
    this.port = port;
    this.process = process;
  }

  /** Generates the keys and config, starts sshd, and waits until it accepts connections. */
  public static SshServer start() {
    Path sshd = DockerDaemon.findExecutable("sshd");
    if (sshd == null || DockerDaemon.findExecutable("ssh") == null || DockerDaemon.findExecutable("ssh-keygen") == null) {
      throw new IllegalStateException(
          "sshd, ssh or ssh-keygen is missing: install openssh-server and openssh-client "
              + "(apt-get install -y openssh-server openssh-client), or run bin/test which installs them");
    }
    Path dir;
    try {
      dir = Files.createTempDirectory(Path.of("/tmp"), "jm-sshd-");
      // sshd's privilege separation directory.
      Files.createDirectories(Path.of("/run/sshd"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare sshd", e);
    }
    try {
      keygen(dir.resolve("host_key"));
      keygen(dir.resolve("user_key"));
      keygen(dir.resolve("other_key"));
      Files.copy(dir.resolve("user_key.pub"), dir.resolve("authorized_keys"));
      IllegalStateException last = null;
      for (int attempt = 0; attempt < 5; attempt++) {
        int port = freePort();
        Files.writeString(
            dir.resolve("sshd_config"),
            String.join(
                "\n",
                "Port " + port,
                "ListenAddress 127.0.0.1",
                "HostKey " + dir.resolve("host_key"),
                "PidFile " + dir.resolve("sshd.pid"),
                "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
                "AllowStreamLocalForwarding yes",
                "UsePAM no",
                // The keys live under /tmp, which StrictModes would reject as group/world-writable.
                "StrictModes no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "LogLevel VERBOSE",
                ""));
        Files.writeString(
            dir.resolve("known_hosts"), "[127.0.0.1]:" + port + " " + Files.readString(dir.resolve("host_key.pub")));
        Files.writeString(dir.resolve("no_known_hosts"), "");
        ProcessBuilder pb =
            new ProcessBuilder(sshd.toString(), "-f", dir.resolve("sshd_config").toString(), "-D", "-e");
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("sshd.log").toFile()));
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (p.isAlive() && System.nanoTime() < deadline) {
          if (accepts(port)) {
            return new SshServer(dir, port, p);
          }
          Thread.sleep(50);
        }
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        last = new IllegalStateException("sshd did not start on port " + port + "; its log:\n"
            + Files.readString(dir.resolve("sshd.log")));
      }
      throw last;
    } catch (IOException e) {
      DockerDaemon.deleteTree(dir);
      throw new UncheckedIOException("cannot start sshd", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      DockerDaemon.deleteTree(dir);
      throw new IllegalStateException("interrupted", e);
    } catch (RuntimeException e) {
      DockerDaemon.deleteTree(dir);
      throw e;
    }
  }

  public int port() {
    return port;
  }

  /** The key sshd accepts. */
  public Path userKey() {
    return dir.resolve("user_key");
  }

  /** A key sshd does not accept. */
  public Path otherKey() {
    return dir.resolve("other_key");
  }

  /** {@code ssh://root@127.0.0.1:PORT?socket=REMOTE} for a daemon reached through this server. */
  public String url(Path remoteSocket) {
    return "ssh://root@127.0.0.1:" + port + (remoteSocket == null ? "" : "?socket=" + remoteSocket);
  }

  /**
   * An ssh command line ({@code ssh -F CONFIG}) whose private config uses {@code key}, no agent, and either this
   * server's host key ({@code knowsHost}) or an empty known_hosts.
   */
  public String sshCommand(Path key, boolean knowsHost) {
    String name = "ssh_config_" + key.getFileName() + (knowsHost ? "_known" : "_unknown");
    Path cfg = dir.resolve(name);
    try {
      Files.writeString(
          cfg,
          String.join(
              "\n",
              "Host *",
              "  IdentityFile " + key,
              "  IdentitiesOnly yes",
              "  IdentityAgent none",
              "  UserKnownHostsFile " + dir.resolve(knowsHost ? "known_hosts" : "no_known_hosts"),
              "  GlobalKnownHostsFile /dev/null",
              "  ConnectTimeout 20",
              ""),
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return "ssh -F " + cfg;
  }

  /** The environment for HostSpec.resolve: JMIGRATE_SSH_COMMAND = {@link #sshCommand}. */
  public Map<String, String> env(Path key, boolean knowsHost) {
    return Map.of("JMIGRATE_SSH_COMMAND", sshCommand(key, knowsHost));
  }

  /** sshd's log (with -e and LogLevel VERBOSE). */
  public String log() {
    try {
      return Files.readString(dir.resolve("sshd.log"));
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public synchronized void close() {
    if (stopped) {
      return;
    }
    stopped = true;
    // sshd -D is the listener we started; the sessions it forked are its children: end them by pid too.
    for (ProcessHandle child : process.descendants().toList()) {
      child.destroy();
    }
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    DockerDaemon.deleteTree(dir);
  }

  private static void keygen(Path file) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "jmigrate-test", "-f", file.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("ssh-keygen failed: " + out);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
