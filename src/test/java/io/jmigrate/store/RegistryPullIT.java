package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.archive.Compression;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestingOutputStream;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.testing.RegistryServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;

/**
 * Tests for {@link RegistryStore}: an image pushed through the store, with gzip layers, is a standard image that
 * a real engine pulls and runs.
 */
class RegistryPullIT {

  @Test
  void putManifest_imageFromDockerSave_isPulledAndRunByDocker() throws Exception {
    try (RegistryServer registry = RegistryServer.start();
        Dockerd docker = Dockerd.start();
        RegistryStore store = RegistryStoreIT.open(registry, "jm/pull",
            RegistryStoreIT.testSettings(registry.dir().resolve("none")))) {
      Path work = docker.dir;
      writeBusyboxRootfs(work.resolve("base.tar"));
      docker.run("import", work.resolve("base.tar").toString(), "jm-registry-test:1");
      docker.run("save", "-o", work.resolve("save.tar").toString(), "jm-registry-test:1");
      Path saved = Files.createDirectory(work.resolve("save"));
      untar(work.resolve("save.tar"), saved);

      JsonNode manifest = RegistryStore.JSON.readTree(saved.resolve("manifest.json").toFile()).get(0);
      byte[] config = Files.readAllBytes(saved.resolve(manifest.get("Config").asText()));
      Descriptor configDescriptor = store.putBlob(MediaTypes.OCI_CONFIG, config);
      List<Descriptor> layers = new ArrayList<>();
      for (JsonNode layerPath : manifest.get("Layers")) {
        layers.add(pushGzipLayer(store, saved.resolve(layerPath.asText())));
      }
      ObjectNode image = RegistryStore.JSON.createObjectNode();
      image.put("schemaVersion", 2);
      image.put("mediaType", MediaTypes.OCI_MANIFEST);
      image.set("config", RegistryStore.JSON.valueToTree(configDescriptor));
      var arr = image.putArray("layers");
      layers.forEach(l -> arr.add(RegistryStore.JSON.valueToTree(l)));
      byte[] imageBytes = RegistryStore.JSON.writeValueAsBytes(image);
      Descriptor imageDescriptor = Descriptor.of(MediaTypes.OCI_MANIFEST, Digest.of(imageBytes), imageBytes.length);
      store.putManifest(imageDescriptor, imageBytes);
      // Published the way a snapshot is: the tag points at an index that holds the image manifest.
      Descriptor index = RegistryStoreIT.putIndex(store,
          List.of(imageDescriptor.withAnnotation("io.jmigrate.role", "image")),
          Map.of("io.jmigrate.snapshot.container", "busybox"));
      store.putTag(Tag.of("busybox-20261124T000000Z", index));
      docker.run("rmi", "jm-registry-test:1");

      String ref = registry.hostPort() + "/jm/pull@" + imageDescriptor.digest();
      docker.run("pull", ref);
      String id = docker.run("image", "inspect", "--format", "{{.Id}}", ref).trim();
      String out = docker.run("run", "--rm", "--network", "none", ref, "sh", "-c", "echo pulled-ok").trim();

      assertThat(id).isEqualTo(configDescriptor.digest().toString());
      assertThat(out).isEqualTo("pulled-ok");
    }
  }

  private static Descriptor pushGzipLayer(Store store, Path layerTar) throws Exception {
    try (BlobUpload up = store.startUpload()) {
      DigestingOutputStream stored = new DigestingOutputStream(up.stream());
      try (OutputStream gz = Compression.GZIP.compress(stored); InputStream in = Files.newInputStream(layerTar)) {
        in.transferTo(gz);
      }
      return up.commit(MediaTypes.OCI_LAYER_GZIP, stored.digest(), stored.count());
    }
  }

  /** A rootfs with the static busybox and a link per applet, as docs/engine-notes.md describes. */
  static void writeBusyboxRootfs(Path tar) throws Exception {
    Path busybox = Paths.get("/bin/busybox");
    if (!Files.isExecutable(busybox)) {
      throw new IllegalStateException("/bin/busybox is missing: apt-get install busybox-static");
    }
    Process list = new ProcessBuilder(busybox.toString(), "--list").redirectErrorStream(true).start();
    List<String> applets = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines()
        .filter(a -> !a.isBlank() && !a.equals("busybox")).toList();
    list.waitFor();
    try (TarArchiveOutputStream out = new TarArchiveOutputStream(Files.newOutputStream(tar))) {
      out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      TarArchiveEntry dir = new TarArchiveEntry("bin/");
      dir.setMode(040755);
      out.putArchiveEntry(dir);
      out.closeArchiveEntry();
      TarArchiveEntry tmp = new TarArchiveEntry("tmp/");
      tmp.setMode(041777);
      out.putArchiveEntry(tmp);
      out.closeArchiveEntry();
      TarArchiveEntry bin = new TarArchiveEntry(busybox.toFile(), "bin/busybox");
      bin.setMode(0100755);
      out.putArchiveEntry(bin);
      Files.copy(busybox, out);
      out.closeArchiveEntry();
      for (String applet : applets) {
        TarArchiveEntry link = new TarArchiveEntry("bin/" + applet, TarArchiveEntry.LF_SYMLINK);
        link.setLinkName("busybox");
        out.putArchiveEntry(link);
        out.closeArchiveEntry();
      }
    }
  }

  private static void untar(Path tar, Path into) throws IOException {
    try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(tar))) {
      TarArchiveEntry e;
      while ((e = in.getNextEntry()) != null) {
        Path target = into.resolve(e.getName()).normalize();
        if (!target.startsWith(into)) {
          throw new IOException("entry outside the archive root: " + e.getName());
        }
        if (e.isDirectory()) {
          Files.createDirectories(target);
        } else if (e.isFile()) {
          Files.createDirectories(target.getParent());
          Files.copy(in, target);
        }
      }
    }
  }

  /** A private dockerd for this test only, stopped by pid (docs/engine-notes.md, "Running engines in tests"). */
  static final class Dockerd implements AutoCloseable {
    final Path dir;
    private final Process process;
    private final String host;

    private Dockerd(Path dir, Process process) {
      this.dir = dir;
      this.process = process;
      this.host = "unix://" + dir.resolve("docker.sock");
    }

    static Dockerd start() throws Exception {
      if (!Files.isExecutable(Paths.get("/usr/sbin/dockerd"))) {
        throw new IllegalStateException("dockerd is missing: apt-get install docker.io, or run bin/test");
      }
      // Short: unix socket paths are limited to about 100 bytes.
      Path dir = Files.createTempDirectory(Paths.get("/tmp"), "jm-rg-");
      Files.createDirectories(dir.resolve("cli"));
      Process p = new ProcessBuilder("/usr/sbin/dockerd", "--data-root", dir.resolve("root").toString(),
          "--exec-root", dir.resolve("exec").toString(), "--pidfile", dir.resolve("pid").toString(),
          "-H", "unix://" + dir.resolve("docker.sock"), "--bridge=none", "--iptables=false", "--ip-masq=false",
          "--ip6tables=false")
          .redirectErrorStream(true).redirectOutput(dir.resolve("dockerd.log").toFile()).start();
      Dockerd d = new Dockerd(dir, p);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        if (!p.isAlive()) {
          String log = Files.readString(dir.resolve("dockerd.log"));
          d.close();
          throw new IllegalStateException("dockerd exited at start:\n" + log);
        }
        try {
          d.run("version");
          return d;
        } catch (IOException e) {
          if (System.nanoTime() > deadline) {
            d.close();
            throw new IllegalStateException("dockerd did not answer within 60 s: " + e.getMessage());
          }
          Thread.sleep(250);
        }
      }
    }

    /** Runs the docker CLI against this daemon; returns stdout, throws with the output on failure. */
    String run(String... args) throws IOException, InterruptedException {
      List<String> cmd = new ArrayList<>(List.of("docker", "-H", host));
      cmd.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().put("DOCKER_CONFIG", dir.resolve("cli").toString());
      pb.environment().remove("DOCKER_HOST");
      pb.environment().remove("DOCKER_CONTEXT");
      Process p = pb.start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(300, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("docker " + String.join(" ", args) + " did not finish within 300 s");
      }
      String text = new String(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IOException("docker " + String.join(" ", args) + " failed (" + p.exitValue() + "): " + text);
      }
      return text;
    }

    @Override
    public void close() {
      process.destroy();
      try {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      try (Stream<Path> s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (IOException e) {
        // best effort: the directory is under /tmp
      }
    }
  }
}
