package io.jmigrate.it;

import io.jmigrate.testing.DockerDaemon;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Small helpers shared by the job integration tests. */
final class JobTesting {
  private JobTesting() {}

  /** Waits until {@code path} exists in the running container. */
  static void awaitFile(DockerDaemon d, String container, String path) throws InterruptedException {
    for (int i = 0; i < 240; i++) {
      if (d.run(null, "exec", container, "test", "-f", path).exitCode == 0) {
        return;
      }
      Thread.sleep(250);
    }
    throw new AssertionError(path + " did not appear in " + container);
  }

  /** Waits until {@code container} is healthy. */
  static void awaitHealthy(DockerDaemon d, String container) throws InterruptedException {
    for (int i = 0; i < 240; i++) {
      if ("healthy".equals(d.docker("inspect", "--format", "{{.State.Health.Status}}", container).strip())) {
        return;
      }
      Thread.sleep(250);
    }
    throw new AssertionError(container + " did not become healthy");
  }

  /** {@code running}, {@code paused}, {@code exited}, ... */
  static String state(DockerDaemon d, String container) {
    return d.docker("inspect", "--format", "{{.State.Status}}", container).strip();
  }

  /** Writes a job file. */
  static Path writeConfig(Path dir, String yaml) throws IOException {
    Path f = dir.resolve("jmigrate.yaml");
    Files.writeString(f, yaml);
    return f;
  }

  /** The hex names of the stored blobs of a local repository. */
  static List<String> blobs(Path repo) throws IOException {
    Path dir = repo.resolve("blobs").resolve("sha256");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return new ArrayList<>(s.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  /** The tags (published snapshots) of a local repository. */
  static List<String> tags(Path repo) throws IOException {
    Path dir = repo.resolve("tags");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return new ArrayList<>(s.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }
}
