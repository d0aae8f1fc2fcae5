package io.jmigrate.archive;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link TarOrder}. */
class TarOrderTest {
  @TempDir
  Path tmp;

  /**
   * Names where plain string order and walk order differ: '-' (0x2d) and '.' (0x2e) sort below '/' (0x2f), and
   * U+FF61 (UTF-8 EF BD A1) sorts below U+1F600 (F0 9F 98 80) by bytes but above it in UTF-16 (FF61 > D83D).
   */
  private static final List<String> DIRS = List.of("a", "a/b", "a/b/c", "ab", "ä", "日本", "x\uFF61",
      "x\uD83D\uDE00", "Z", "a b");
  private static final List<String> FILES = List.of("a.b", "a-", "a0", "a/b.c", "a/b-", "a/b/c/d", "a/b/c.d",
      "a/ba", "ab/z", "ä/ö", "日本/語", "x\uFF61/1", "x\uD83D\uDE00/1", "Z/z", "a b/c", "a!", "\u00e9", "e\u0301");

  @Test
  void compare_sortsLikeVolumeArchiveWrite() throws IOException {
    Path root = tmp.resolve("vol");
    Files.createDirectory(root);
    for (String d : DIRS) {
      Files.createDirectories(root.resolve(d));
    }
    for (String f : FILES) {
      Files.writeString(root.resolve(f), f);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    VolumeArchive.write(root, Set.of(), out);
    List<String> written = new ArrayList<>();
    TarReader r = new TarReader(new ByteArrayInputStream(out.toByteArray()));
    TarEntry e;
    while ((e = r.next()) != null) {
      written.add(e.name);
    }
    assertThat(written).hasSize(1 + DIRS.size() + FILES.size());

    List<String> sorted = new ArrayList<>(written);
    sorted.sort(TarOrder.PATHS.reversed());
    sorted.sort(TarOrder.PATHS);
    assertThat(sorted).isEqualTo(written);
    for (int i = 1; i < written.size(); i++) {
      assertThat(TarOrder.compare(written.get(i - 1), written.get(i))).as(written.get(i)).isNegative();
      assertThat(TarOrder.compare(written.get(i), written.get(i - 1))).isPositive();
    }
    // The names are tricky enough: plain string order would get them wrong.
    List<String> naive = new ArrayList<>(written);
    naive.sort(null);
    assertThat(naive).isNotEqualTo(written);
  }

  @Test
  void compare_directoryBeforeItsContentsAndSiblings() {
    assertThat(TarOrder.compare("./", "./a")).isNegative();
    assertThat(TarOrder.compare("./a/", "./a/b")).isNegative();
    assertThat(TarOrder.compare("./a/", "./a-")).isNegative();
    assertThat(TarOrder.compare("./a/zzz", "./a-")).isNegative();
    assertThat(TarOrder.compare("./a/zzz", "./a.b")).isNegative();
    assertThat(TarOrder.compare("./a", "./a/")).isNegative();
    assertThat(TarOrder.compare("./x\uFF61", "./x\uD83D\uDE00")).isNegative();
    assertThat("./x\uFF61".compareTo("./x\uD83D\uDE00")).isPositive();
    assertThat(TarOrder.compare("./a/b", "./a/b")).isZero();
  }
}
