package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.testing.DockerDaemon;
import io.jmigrate.testing.DockerHosts;
import io.jmigrate.testing.TestImages;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tests for {@link VolumeArchive#rebase} on what a real engine's archive API returns ({@code docker cp C:/data -}
 * streams {@code GET /containers/{id}/archive?path=/data} unchanged), with a nested volume mounted inside.
 */
@ExtendWith(DockerHosts.class)
class VolumeArchiveRebaseIT {
  @TempDir
  Path tmp;

  private DockerDaemon engine;

  @AfterEach
  void cleanUp() {
    if (engine != null) {
      DockerHosts.cleanAll(engine);
    }
  }

  private static final String SCRIPT = String.join(" && ",
      "mkdir -p /data/sub/deep /data/empty '/data/sp ace'",
      "echo hello > /data/x",
      "echo nested > /data/nested/inner",
      "ln /data/x /data/h",
      "ln -s /abs/target /data/s",
      "echo deep > /data/sub/deep/f",
      "echo uni > '/data/sp ace/h\u00e9llo w\u00f6rld'",
      "mknod /data/null c 1 3",
      "mkfifo /data/fifo",
      "chown 1234:5678 /data/x",
      "chmod 4750 /data/x",
      "chown -h 42:43 /data/s",
      "chmod 2770 /data/sub",
      "touch -d '2023-11-14 22:13:20' /data/sub/deep/f");

  @Test
  void rebase_archiveApiTarWithNestedMount_matchesWriteOfTheVolumeDirectory(DockerDaemon a) throws Exception {
    engine = a;
    a.docker("volume", "create", "jm-rebase-data");
    a.docker("volume", "create", "jm-rebase-nested");
    a.docker("run", "--name", "jm-rebase", "--network", "none", "-v", "jm-rebase-data:/data",
        "-v", "jm-rebase-nested:/data/nested", TestImages.BASE, "sh", "-c", SCRIPT);
    Path api = tmp.resolve("api.tar");
    // `docker cp C:/data -` writes the archive API's tar to stdout unchanged; straight into a file.
    ProcessBuilder pb = new ProcessBuilder("docker", "-H", a.host(), "cp", "jm-rebase:/data", "-");
    pb.environment().remove("DOCKER_HOST");
    pb.environment().remove("DOCKER_CONTEXT");
    pb.redirectOutput(api.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
    assertThat(pb.start().waitFor()).isZero();

    ByteArrayOutputStream rebased = new ByteArrayOutputStream();
    try (InputStream in = Files.newInputStream(api)) {
      VolumeArchive.rebase(in, "data", Set.of("nested"), rebased);
    }
    Path mountpoint = Path.of(a.docker("volume", "inspect", "--format", "{{.Mountpoint}}", "jm-rebase-data"));
    ByteArrayOutputStream direct = new ByteArrayOutputStream();
    VolumeArchive.write(mountpoint, Set.of("nested"), direct);

    // Same entries in the same order, the same form as write(); nested mount contents dropped.
    List<String> rebasedNames = names(rebased.toByteArray());
    assertThat(rebasedNames).isEqualTo(names(direct.toByteArray()));
    assertThat(rebasedNames).contains("./", "./x", "./h", "./s", "./sub/", "./sub/deep/f", "./null", "./fifo",
        "./sp ace/héllo wörld", "./empty/").doesNotContain("./nested/inner");

    // Extracted, it matches the volume directory in everything the archive API keeps (mtimes to the second).
    Path dst = Files.createDirectory(tmp.resolve("dst"));
    VolumeArchive.extract(new ByteArrayInputStream(rebased.toByteArray()), dst);
    Map<String, String> expected = secondsOnly(VolumeArchiveTest.describe(mountpoint));
    expected.keySet().removeIf(k -> k.equals("nested") || k.startsWith("nested/"));
    Map<String, String> actual = secondsOnly(VolumeArchiveTest.describe(dst));
    // The nested volume's mount point is a directory of the outer volume; excluded on both sides.
    assertThat(actual).containsExactlyEntriesOf(expected);
    assertThat(Posix.lstat(dst.resolve("h").toString()).ino()).isEqualTo(Posix.lstat(dst.resolve("x").toString()).ino());
    assertThat(Posix.lstat(dst.resolve("x").toString()).mode() & 07777).isEqualTo(04750);
  }

  private static Map<String, String> secondsOnly(Map<String, String> d) {
    Map<String, String> out = new TreeMap<>();
    d.forEach((k, v) -> out.put(k, v.replaceAll("mtime=(\\d+)\\.\\d+", "mtime=$1")));
    return out;
  }

  private static List<String> names(byte[] tar) throws Exception {
    TarReader r = new TarReader(new ByteArrayInputStream(tar));
    List<String> names = new ArrayList<>();
    TarEntry e;
    while ((e = r.next()) != null) {
      names.add(e.name);
    }
    return names;
  }
}
