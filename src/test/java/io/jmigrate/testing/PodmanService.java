package io.jmigrate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private Podman (Debian's 4.3) answering the Docker API, for tests: {@code podman system service --time=0}
 * with its own storage (graph root, run root) under /tmp/jmp-*, its own containers.conf (this VM's rlimits need
 * {@code default_ulimits}, and cgroupfs with file events need no systemd), stopped by pid and its storage removed
 * by {@link #close()}. The {@code docker} CLI talks to it through its socket, as to a daemon.
 */
public final class PodmanService implements AutoCloseable {
  private final Path dir;
  private final Process process;

  private PodmanService(Path dir, Process process) {
    this.dir = dir;
    this.process = process;
  }

  /** Starts a service and waits (bounded) until it answers; fails naming what is missing. */
  public static PodmanService start() throws IOException, InterruptedException {
    if (!Files.isExecutable(Path.of("/usr/bin/podman"))) {
      throw new IllegalStateException("podman is not installed: apt-get install -y podman (bin/test installs it)");
    }
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "jmp-");
    Files.writeString(dir.resolve("containers.conf"), "[containers]\n"
        + "default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n"
        + "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n");
    Files.writeString(dir.resolve("storage.conf"), "[storage]\ndriver = \"overlay\"\nrunroot = \"" + dir.resolve("run")
        + "\"\ngraphroot = \"" + dir.resolve("root") + "\"\n");
    ProcessBuilder pb = new ProcessBuilder(podman(dir, "system", "service", "--time=0", "unix://" + dir.resolve(
        "podman.sock"))).redirectErrorStream(true).redirectOutput(dir.resolve("service.log").toFile());
    env(pb, dir);
    Process p = pb.start();
    PodmanService s = new PodmanService(dir, p);
    for (int i = 0; i < 300; i++) {
      if (!p.isAlive()) {
        throw new IllegalStateException("podman system service exited: " + s.log());
      }
      if (Files.exists(dir.resolve("podman.sock")) && s.run("version").exitCode == 0) {
        return s;
      }
      Thread.sleep(100);
    }
    s.close();
    throw new IllegalStateException("podman system service did not answer in 30 s: " + s.log());
  }

  private static List<String> podman(Path dir, String... args) {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/podman", "--root", dir.resolve("root").toString(),
        "--runroot", dir.resolve("run").toString()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  private static void env(ProcessBuilder pb, Path dir) {
    pb.environment().put("CONTAINERS_CONF", dir.resolve("containers.conf").toString());
    pb.environment().put("CONTAINERS_STORAGE_CONF", dir.resolve("storage.conf").toString());
  }

  /** The host URL, as {@code -H} takes it. */
  public String host() {
    return "unix://" + dir.resolve("podman.sock");
  }

  /** Runs {@code docker -H <this> ARGS}; returns stdout, fails with stderr. */
  public String docker(String... args) {
    DockerDaemon.Result r = run(args);
    if (r.exitCode != 0) {
      throw new IllegalStateException("docker " + String.join(" ", args) + " on podman failed (exit " + r.exitCode
          + "): " + r.stderr);
    }
    return r.stdout;
  }

  /** Runs {@code docker -H <this> ARGS}, whatever its exit code. */
  public DockerDaemon.Result run(String... args) {
    List<String> cmd = new ArrayList<>(List.of("docker", "-H", host()));
    cmd.addAll(List.of(args));
    try {
      Path out = Files.createTempFile(dir, "out", ".txt");
      Path err = Files.createTempFile(dir, "err", ".txt");
      Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!p.waitFor(5, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", cmd) + " did not finish in 5 minutes");
      }
      DockerDaemon.Result r = new DockerDaemon.Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
      Files.delete(out);
      Files.delete(err);
      return r;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Imports the test image ({@link TestImages#BASE}) from the busybox rootfs tar. */
  public void importBase() {
    docker("import", "--change", "CMD [\"/bin/sh\"]", TestImages.rootfsTar().toString(), TestImages.BASE);
  }

  /** Removes every container and volume, keeping the images. */
  public void clean() {
    for (String id : docker("ps", "-aq").strip().split("\\s+")) {
      if (!id.isEmpty()) {
        run("rm", "-f", "-v", id);
      }
    }
    for (String v : docker("volume", "ls", "-q").strip().split("\\s+")) {
      if (!v.isEmpty()) {
        run("volume", "rm", "-f", v);
      }
    }
  }

  private String log() {
    try {
      return Files.readString(dir.resolve("service.log"));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Removes the containers, stops the service by pid, unmounts and deletes its storage. */
  @Override
  public void close() throws IOException, InterruptedException {
    if (process.isAlive()) {
      ProcessBuilder rm = new ProcessBuilder(podman(dir, "rm", "-a", "-f", "-t", "0")).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD);
      env(rm, dir);
      rm.start().waitFor(2, TimeUnit.MINUTES);
      process.destroy();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(20, TimeUnit.SECONDS);
      }
    }
    // Overlay mounts the storage may still hold, deepest first, then the files.
    List<String> mounts = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
      String[] f = line.split(" ");
      if (f.length > 4 && f[4].startsWith(dir.toString())) {
        mounts.add(f[4]);
      }
    }
    mounts.sort((x, y) -> y.length() - x.length());
    for (String m : mounts) {
      new ProcessBuilder("umount", "-l", m).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start().waitFor(30, TimeUnit.SECONDS);
    }
    new ProcessBuilder("rm", "-rf", dir.toString()).start().waitFor(2, TimeUnit.MINUTES);
  }
}
