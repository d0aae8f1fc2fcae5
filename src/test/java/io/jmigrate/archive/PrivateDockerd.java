package io.jmigrate.archive;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private dockerd for archive integration tests, started by hand as docs/engine-notes.md describes (own
 * data-root, exec-root, pidfile and unix socket under a short /tmp dir; no bridge, no iptables). Stopped by its
 * own process handle only. To be replaced by io.jmigrate.testing.DockerHosts once that lands on main.
 */
final class PrivateDockerd implements AutoCloseable {
  private final Path dir;
  private final Process process;

  private PrivateDockerd(Path dir, Process process) {
    this.dir = dir;
    this.process = process;
  }

  /** Starts a daemon and waits until it answers; fails with the daemon's log when it does not. */
  static PrivateDockerd start() throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "jm-archive-it-");
    ProcessBuilder pb = new ProcessBuilder("dockerd", "--data-root", dir + "/root", "--exec-root", dir + "/exec",
        "--pidfile", dir + "/pid", "-H", "unix://" + dir + "/docker.sock", "--bridge=none", "--iptables=false",
        "--ip-masq=false", "--ip6tables=false");
    pb.redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile());
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot start dockerd (apt-get install -y docker.io): " + e.getMessage(), e);
    }
    PrivateDockerd d = new PrivateDockerd(dir, p);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new IllegalStateException("dockerd exited with " + p.exitValue() + ": " + d.logTail());
      }
      if (Files.exists(dir.resolve("docker.sock")) && d.docker("version").exitCode == 0) {
        return d;
      }
      Thread.sleep(200);
    }
    d.close();
    throw new IllegalStateException("dockerd did not answer within 60 s: " + d.logTail());
  }

  String host() {
    return "unix://" + dir + "/docker.sock";
  }

  /** The result of one docker CLI call. */
  static final class Result {
    final int exitCode;
    final String output;

    Result(int exitCode, String output) {
      this.exitCode = exitCode;
      this.output = output;
    }

    @Override
    public String toString() {
      return "exit " + exitCode + ": " + output;
    }
  }

  /** Runs the docker CLI against this daemon, output and errors together. */
  Result docker(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("docker", "-H", host()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("docker " + String.join(" ", args) + " did not finish in 120 s");
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).trim());
  }

  Path tempFile(String name) {
    return dir.resolve(name);
  }

  private String logTail() {
    try {
      String log = Files.readString(dir.resolve("log"));
      return log.substring(Math.max(0, log.length() - 2000));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() throws InterruptedException, IOException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
    new ProcessBuilder("rm", "-rf", "--one-file-system", dir.toString()).inheritIO().start().waitFor();
  }
}
