package io.jmigrate.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A private {@code dockerd} for tests: its own data-root, exec-root, pidfile and unix socket under a short
 * directory in /tmp, no bridge and no iptables (see docs/engine-notes.md, "Running engines in tests"). Each daemon
 * starts its own containerd. {@link #stop()} kills only the processes this daemon started (found by pid), unmounts
 * what is left under its directories and removes them.
 */
public final class DockerDaemon implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration STOP_GRACE = Duration.ofSeconds(20);
  private static final Duration CLI_TIMEOUT = Duration.ofMinutes(10);

  private final String name;
  private final List<String> extraArgs;
  private final Path dir;
  private final Path socket;
  private Process process;
  private volatile boolean stopped;

  private DockerDaemon(String name, Path dir, List<String> extraArgs) {
    this.name = name;
    this.extraArgs = List.copyOf(extraArgs);
    this.dir = dir;
    this.socket = dir.resolve("docker.sock");
  }

  /**
   * Starts a new daemon named {@code name} (used in the directory name and in messages) and waits until its
   * {@code /_ping} answers.
   */
  public static DockerDaemon start(String name) {
    return start(name, List.of());
  }

  /**
   * As {@link #start(String)}, with more dockerd arguments, e.g. {@code -H tcp://127.0.0.1:PORT --tlsverify ...}
   * for a TLS test.
   */
  public static DockerDaemon start(String name, List<String> extraArgs) {
    Path dockerd = findExecutable("dockerd");
    if (dockerd == null) {
      throw new IllegalStateException(
          "dockerd is not installed: install docker.io (apt-get install -y docker.io), or run bin/test which "
              + "installs it");
    }
    Path dir;
    try {
      // Short on purpose: unix socket paths are limited to about 100 bytes.
      dir = Files.createTempDirectory(Path.of("/tmp"), "jmd-" + name + "-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory for dockerd " + name, e);
    }
    DockerDaemon d = new DockerDaemon(name, dir, extraArgs);
    d.launch();
    return d;
  }

  private void launch() {
    List<String> cmd = new ArrayList<>(
        List.of(
            findExecutable("dockerd").toString(),
            "--data-root",
            dataRoot().toString(),
            "--exec-root",
            execRoot().toString(),
            "--pidfile",
            dir.resolve("docker.pid").toString(),
            "-H",
            host(),
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            "--ip6tables=false"));
    cmd.addAll(extraArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start dockerd " + name, e);
    }
    stopped = false;
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (true) {
      if (!process.isAlive()) {
        String tail = logTail();
        if (retryContainerd && tail.contains("timeout waiting for containerd to start")) {
          // After a SIGKILL mid-load the old containerd was seen (once, under load) to hold its state past dockerd's
          // containerd start timeout. Clean up its leftovers and try once more on the same directories.
          killChildren();
          sleep(2000);
          retryContainerd = false;
          launch();
          return;
        }
        cleanupAfterDeath();
        throw new IllegalStateException(
            "dockerd " + name + " exited with " + process.exitValue() + " while starting; its log:\n" + tail);
      }
      if (ping()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        String tail = logTail();
        stop();
        throw new IllegalStateException(
            "dockerd " + name + " did not answer /_ping within " + START_TIMEOUT.toSeconds() + " s; its log:\n" + tail);
      }
      sleep(100);
    }
  }

  /** Starts dockerd again on the same directories, e.g. after {@link #kill()}. */
  public synchronized void restart() {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("dockerd " + name + " is still running");
    }
    killChildren();
    retryContainerd = true;
    try {
      launch();
    } finally {
      retryContainerd = false;
    }
  }

  /** Set while {@link #restart()} launches: one retry when containerd was slow to come up. */
  private boolean retryContainerd;

  private boolean ping() {
    if (!Files.exists(socket)) {
      return false;
    }
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      ch.write(ByteBuffer.wrap("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
      ByteBuffer buf = ByteBuffer.allocate(4096);
      StringBuilder sb = new StringBuilder();
      while (ch.read(buf) > 0) {
        buf.flip();
        sb.append(StandardCharsets.US_ASCII.decode(buf));
        buf.clear();
      }
      return sb.toString().startsWith("HTTP/1.") && sb.toString().endsWith("OK");
    } catch (IOException e) {
      return false;
    }
  }

  public String name() {
    return name;
  }

  /** The directory that holds everything of this daemon. */
  public Path dir() {
    return dir;
  }

  public Path socket() {
    return socket;
  }

  /** {@code unix:///tmp/jmd-.../docker.sock}. */
  public String host() {
    return "unix://" + socket;
  }

  public Path dataRoot() {
    return dir.resolve("root");
  }

  public Path execRoot() {
    return dir.resolve("exec");
  }

  private Path log() {
    return dir.resolve("dockerd.log");
  }

  /** The pid of dockerd. */
  public long pid() {
    return process.pid();
  }

  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  /**
   * Runs the docker CLI against this daemon and returns its stdout, trimmed of the final newline. Fails with the
   * command and its stderr when it exits non-zero.
   */
  public String docker(String... args) {
    return dockerWithInput(null, args);
  }

  /** As {@link #docker}, feeding {@code stdin} (may be null) to the CLI. */
  public String dockerWithInput(Path stdin, String... args) {
    Result r = run(stdin, args);
    if (r.exitCode != 0) {
      throw new IllegalStateException(
          "docker " + String.join(" ", args) + " on " + name + " failed (exit " + r.exitCode + "): " + r.stderr.strip());
    }
    return r.stdout.endsWith("\n") ? r.stdout.substring(0, r.stdout.length() - 1) : r.stdout;
  }

  /** The outcome of a docker CLI run that may fail. */
  public static final class Result {
    public final int exitCode;
    public final String stdout;
    public final String stderr;

    Result(int exitCode, String stdout, String stderr) {
      this.exitCode = exitCode;
      this.stdout = stdout;
      this.stderr = stderr;
    }
  }

  /** Runs the docker CLI against this daemon and returns exit code, stdout and stderr without failing. */
  public Result run(Path stdin, String... args) {
    Path docker = findExecutable("docker");
    if (docker == null) {
      throw new IllegalStateException(
          "the docker CLI is not installed: install docker.io, or run bin/test which installs it");
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(docker.toString());
    cmd.add("-H");
    cmd.add(host());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> env = pb.environment();
    env.remove("DOCKER_HOST");
    env.remove("DOCKER_CONTEXT");
    env.remove("DOCKER_TLS_VERIFY");
    env.remove("DOCKER_CERT_PATH");
    env.put("DOCKER_CONFIG", dir.resolve("cli").toString());
    env.put("DOCKER_CLI_HINTS", "false");
    if (stdin != null) {
      pb.redirectInput(stdin.toFile());
    } else {
      pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    }
    try {
      Process p = pb.start();
      CompletableFuture<String> out = readAsync(p.getInputStream());
      CompletableFuture<String> err = readAsync(p.getErrorStream());
      if (!p.waitFor(CLI_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(
            "docker " + String.join(" ", args) + " on " + name + " did not finish within " + CLI_TIMEOUT);
      }
      return new Result(p.exitValue(), out.join(), err.join());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run docker " + String.join(" ", args), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running docker " + String.join(" ", args), e);
    }
  }

  private static CompletableFuture<String> readAsync(InputStream in) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            return "";
          }
        });
  }

  /** SIGKILLs dockerd only (not its containerd), for fault-injection tests. {@link #stop()} still cleans up. */
  public synchronized void kill() {
    if (process != null && process.isAlive()) {
      signal(process.pid(), "KILL");
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Stops dockerd (TERM, then KILL after a grace period), kills what it left behind (its containerd and shims,
   * found by pid through /proc because their command lines name this daemon's directory), unmounts whatever is
   * still mounted under its directory and removes the directory. Idempotent.
   */
  @Override
  public synchronized void close() {
    stop();
  }

  /** See {@link #close()}. */
  public synchronized void stop() {
    if (stopped) {
      return;
    }
    stopped = true;
    if (process != null && process.isAlive()) {
      signal(process.pid(), "TERM");
      try {
        if (!process.waitFor(STOP_GRACE.toSeconds(), TimeUnit.SECONDS)) {
          signal(process.pid(), "KILL");
          process.waitFor(30, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    cleanupAfterDeath();
  }

  private void cleanupAfterDeath() {
    killChildren();
    unmountBelow(dir);
    deleteTree(dir);
  }

  /**
   * Kills processes whose command line names this daemon's directory (its managed containerd, container shims),
   * which outlive a killed dockerd. Only processes started for this daemon can name its unique directory.
   */
  private void killChildren() {
    String marker = dir.toString() + "/";
    for (int round = 0; round < 2; round++) {
      List<Long> pids = new ArrayList<>();
      try (var entries = Files.list(Path.of("/proc"))) {
        for (Path p : (Iterable<Path>) entries::iterator) {
          String fn = p.getFileName().toString();
          if (!fn.chars().allMatch(Character::isDigit)) {
            continue;
          }
          long pid = Long.parseLong(fn);
          if (pid == ProcessHandle.current().pid()) {
            continue;
          }
          try {
            String cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
            if (cmdline.contains(marker)) {
              pids.add(pid);
            }
          } catch (IOException e) {
            // The process ended meanwhile.
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list /proc", e);
      }
      if (pids.isEmpty()) {
        return;
      }
      for (long pid : pids) {
        signal(pid, round == 0 ? "TERM" : "KILL");
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (System.nanoTime() < deadline && pids.stream().anyMatch(pid -> Files.exists(Path.of("/proc/" + pid)))) {
        sleep(100);
      }
    }
  }

  /** Lazily unmounts every mount point below {@code root}, deepest first (read from /proc/self/mountinfo). */
  static void unmountBelow(Path root) {
    String prefix = root.toString() + "/";
    List<String> points = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        String[] f = line.split(" ");
        if (f.length > 4) {
          String mp = unescapeMountinfo(f[4]);
          if (mp.startsWith(prefix) || mp.equals(root.toString())) {
            points.add(mp);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/self/mountinfo", e);
    }
    points.sort(Comparator.comparingInt(String::length).reversed());
    for (String mp : points) {
      try {
        Process p = new ProcessBuilder("umount", "-l", mp).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        p.waitFor(30, TimeUnit.SECONDS);
      } catch (IOException e) {
        // Best effort: the delete below reports what is left.
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static String unescapeMountinfo(String s) {
    // mountinfo escapes space, tab, newline and backslash as \ooo octal.
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length()) {
        try {
          sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
          i += 3;
          continue;
        } catch (NumberFormatException e) {
          // not an escape
        }
      }
      sb.append(c);
    }
    return sb.toString();
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try {
      Files.walkFileTree(
          root,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
              Files.deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
              if (exc instanceof NoSuchFileException) {
                return FileVisitResult.CONTINUE;
              }
              throw exc;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
              Files.deleteIfExists(d);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + root, e);
    }
  }

  private static void signal(long pid, String sig) {
    try {
      Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      p.waitFor(10, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot send SIG" + sig + " to " + pid, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private String logTail() {
    try {
      List<String> lines = Files.readAllLines(log(), StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  static Path findExecutable(String name) {
    String path = System.getenv().getOrDefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    List<String> dirs = new ArrayList<>(List.of(path.split(":")));
    dirs.addAll(List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"));
    for (String d : dirs) {
      if (d.isEmpty()) {
        continue;
      }
      Path p = Path.of(d, name);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  @Override
  public String toString() {
    return "dockerd " + name + " (" + host() + ")";
  }
}
