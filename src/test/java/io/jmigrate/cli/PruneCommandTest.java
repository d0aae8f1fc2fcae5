package io.jmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.testing.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link PruneCommand}'s report, on an empty local repository. */
class PruneCommandTest {
  @TempDir
  Path tmp;

  @Test
  void pruneDryRun_nothingToFree_saysWouldBeFreed() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    Cli.Run r = Cli.run("prune", "--repo", repo.toString(), "--dry-run");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).contains("file:" + repo + ": would delete 0 unreferenced blob(s), 0 B would be freed")
        .doesNotContain("would freed");
  }

  @Test
  void prune_nothingToFree_saysFreed() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    Cli.Run r = Cli.run("prune", "--repo", repo.toString());
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).contains("file:" + repo + ": deleted 0 unreferenced blob(s), 0 B freed");
  }
}
