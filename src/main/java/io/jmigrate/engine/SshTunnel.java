package io.jmigrate.engine;

import io.jmigrate.engine.EngineException.Kind;
import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards a remote engine socket to a private local unix socket with the system {@code ssh} client, as the
 * docker CLI reaches ssh hosts: the user's ssh config, agent and known_hosts apply. The command is
 * {@code ssh -nNT -o ExitOnForwardFailure=yes -o StreamLocalBindUnlink=yes -o BatchMode=yes
 * -o ControlMaster=no -o ControlPath=none -L LOCAL.sock:REMOTE.sock [-p PORT] [USER@]HOST}. BatchMode makes ssh fail at once instead of prompting for a
 * password or a host key, and its stderr is turned into a clear {@link EngineException}.
 *
 * <p>The ssh process ends with {@link #close()}, and with the JVM (a shutdown hook).
 */
final class SshTunnel implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(SshTunnel.class);
  private static final Set<SshTunnel> OPEN = new LinkedHashSet<>();
  private static boolean hookInstalled;

  private final HostSpec spec;
  private final Path dir;
  private final Path local;
  private final Path stderr;
  private final Process process;
  private boolean closed;

  private SshTunnel(HostSpec spec, Path dir, Process process) {
    this.spec = spec;
    this.dir = dir;
    this.local = dir.resolve("docker.sock");
    this.stderr = dir.resolve("ssh.err");
    this.process = process;
  }

  /** Starts ssh and waits until the local socket exists, or ssh fails. */
  static SshTunnel open(HostSpec spec, Duration timeout) throws EngineException {
    Path dir;
    try {
      // Short, private (0700) and unique: unix socket paths are limited to about 100 bytes.
      dir =
          Files.createTempDirectory(
              Path.of("/tmp"), "jm-ssh-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (IOException e) {
      throw new EngineException(
          Kind.UNREACHABLE, "cannot reach the Docker engine at " + spec.display() + ": cannot create a temp dir for "
              + "the ssh tunnel: " + e.getMessage(), e);
    }
    Path local = dir.resolve("docker.sock");
    List<String> cmd = new ArrayList<>(spec.sshCommand());
    cmd.addAll(
        List.of(
            "-nNT",
            "-o", "ExitOnForwardFailure=yes",
            "-o", "StreamLocalBindUnlink=yes",
            "-o", "BatchMode=yes",
            // A connection of its own, not one multiplexed through the user's ControlMaster: the forward must
            // live and die with this process.
            "-o", "ControlMaster=no",
            "-o", "ControlPath=none",
            "-L", local + ":" + spec.remoteSocket().orElseThrow()));
    if (spec.port().isPresent()) {
      cmd.add("-p");
      cmd.add(Integer.toString(spec.port().getAsInt()));
    }
    cmd.add("--");
    cmd.add(spec.sshUser().map(u -> u + "@").orElse("") + spec.host().orElseThrow());
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.redirectError(dir.resolve("ssh.err").toFile());
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      deleteDir(dir);
      throw new EngineException(
          Kind.UNREACHABLE,
          "cannot reach the Docker engine at " + spec.display() + ": cannot run " + cmd.get(0) + " (" + e.getMessage()
              + "); install the ssh client (apt-get install openssh-client) or set JMIGRATE_SSH_COMMAND",
          e);
    }
    SshTunnel t = new SshTunnel(spec, dir, p);
    register(t);
    LOG.debug("ssh tunnel for {}: {}", spec.display(), cmd);
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (!Files.exists(local)) {
        if (!p.isAlive()) {
          EngineException e = t.failure();
          t.close();
          throw e;
        }
        if (System.nanoTime() > deadline) {
          String err = t.stderrText();
          t.close();
          throw new EngineException(
              Kind.TIMEOUT,
              "cannot reach the Docker engine at " + spec.display() + ": ssh did not open the tunnel within "
                  + timeout.toSeconds() + " s" + (err.isEmpty() ? "" : " (" + err + ")")
                  + "; check that the host answers (ssh " + spec.host().orElse("") + ")");
        }
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      t.close();
      throw new EngineException(Kind.UNREACHABLE, "interrupted while opening the ssh tunnel to " + spec.display(), e);
    }
    return t;
  }

  Path localSocket() {
    return local;
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** What ssh wrote to stderr so far, one line per problem, trimmed. */
  String stderrText() {
    try {
      return Files.readString(stderr, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "";
    }
  }

  /**
   * The error to report after ssh exited or a request through the tunnel failed: the first waits briefly for ssh
   * to write why (a failed channel open is logged just after the connection is closed).
   */
  EngineException failure() {
    EngineException known = knownFailure();
    if (known != null) {
      return known;
    }
    String err = stderrText();
    String status = process.isAlive() ? "" : " (ssh exited with " + process.exitValue() + ")";
    return new EngineException(
        Kind.UNREACHABLE,
        "cannot reach the Docker engine at " + spec.display() + " through ssh" + status + ": "
            + (err.isEmpty() ? "no answer" : lastLine(err)) + "; try: ssh " + sshTarget(spec) + " docker version");
  }

  /**
   * The error ssh reported, waiting up to a second for it (a failed channel open is logged just after the
   * forwarded connection is closed); null when ssh reported nothing known.
   */
  EngineException knownFailure() {
    String err = stderrText();
    for (int i = 0; i < 20 && classify(err, spec) == null && process.isAlive(); i++) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      err = stderrText();
    }
    if (!process.isAlive()) {
      try {
        process.waitFor(1, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      err = stderrText();
    }
    return classify(err, spec);
  }

  /** Maps ssh's stderr to a clear error, or null when nothing known is in it. */
  static EngineException classify(String err, HostSpec spec) {
    String at = "cannot reach the Docker engine at " + spec.display() + ": ";
    if (err.contains("Host key verification failed")) {
      String port = spec.port().isPresent() ? "-p " + spec.port().getAsInt() + " " : "";
      return new EngineException(
          Kind.AUTH,
          at + "ssh: Host key verification failed; add the host key to known_hosts (ssh-keyscan " + port
              + spec.host().orElse("") + " >> ~/.ssh/known_hosts, after checking its fingerprint)");
    }
    if (err.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")) {
      return new EngineException(
          Kind.AUTH,
          at + "ssh: the host key changed; if that is expected, remove the old key (ssh-keygen -R "
              + spec.host().orElse("") + ") and add the new one");
    }
    if (err.contains("Permission denied")) {
      return new EngineException(
          Kind.AUTH,
          at + "ssh: " + lineWith(err, "Permission denied") + "; check the key/agent (ssh-add -l, IdentityFile in "
              + "~/.ssh/config) and the remote authorized_keys");
    }
    if (err.contains("open failed")) {
      String line = lineWith(err, "open failed");
      if (line.contains("administratively prohibited")) {
        return new EngineException(
            Kind.UNREACHABLE,
            at + "the ssh server refuses to forward the engine socket (" + line + "); allow it with "
                + "AllowStreamLocalForwarding yes in its sshd_config");
      }
      return new EngineException(
          Kind.UNREACHABLE,
          at + "the remote engine socket " + spec.remoteSocket().orElse(HostSpec.DEFAULT_REMOTE_SOCKET)
              + " cannot be opened (ssh: " + line + "); is dockerd running there? name another socket with "
              + "?socket=/path/docker.sock");
    }
    for (String known :
        List.of(
            "Could not resolve hostname",
            "Connection refused",
            "Connection timed out",
            "No route to host",
            "Network is unreachable",
            "Connection closed by",
            "Connection reset by")) {
      if (err.contains(known)) {
        String line = lineWith(err, known);
        return new EngineException(Kind.UNREACHABLE, at + (line.startsWith("ssh: ") ? line : "ssh: " + line));
      }
    }
    return null;
  }

  private static String sshTarget(HostSpec spec) {
    return (spec.port().isPresent() ? "-p " + spec.port().getAsInt() + " " : "")
        + spec.sshUser().map(u -> u + "@").orElse("")
        + spec.host().orElse("");
  }

  private static String lineWith(String text, String needle) {
    for (String l : text.split("\n")) {
      if (l.contains(needle)) {
        return l.strip();
      }
    }
    return needle;
  }

  private static String lastLine(String text) {
    String[] lines = text.strip().split("\n");
    return lines[lines.length - 1].strip();
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    synchronized (OPEN) {
      OPEN.remove(this);
    }
    stop();
  }

  private void stop() {
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    deleteDir(dir);
  }

  private static void register(SshTunnel t) {
    synchronized (OPEN) {
      OPEN.add(t);
      if (!hookInstalled) {
        hookInstalled = true;
        // After the shutdown actions: a rollback on an ssh target must still reach it through its tunnel.
        Shutdown.atLast(SshTunnel::closeAll);
      }
    }
  }

  private static void closeAll() {
    List<SshTunnel> all;
    synchronized (OPEN) {
      all = new ArrayList<>(OPEN);
    }
    for (SshTunnel t : all) {
      t.close();
    }
  }

  private static void deleteDir(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.debug("cannot remove {}", dir, e);
    }
  }
}
