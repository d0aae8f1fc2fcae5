package io.jmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.store.StoreOptions;
import io.jmigrate.testing.Cli;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * Tests for {@link RepoMixin}: every command that reads a repository refuses one that does not exist (a mistyped
 * --repo must not look like an empty repository), creates nothing, and accepts an empty one; the S3 options are
 * typed.
 */
class RepoMixinTest {
  @TempDir
  Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"snapshots", "snapshots web", "snapshots --json", "verify", "verify web",
      "restore web -H unix:///nonexistent.sock", "drill web -H unix:///nonexistent.sock", "prune",
      "prune --keep-last 1 --dry-run"})
  void readingCommand_missingRepository_exitsNotFoundAndCreatesNothing(String command) {
    Path missing = tmp.resolve("no-such-repo");
    Cli.Run r = Cli.run((command + " --repo " + missing).split(" "));
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.NOT_FOUND);
    assertThat(r.err()).as(r.toString()).isEqualTo("jmigrate: repository file:" + missing
        + " does not exist; check --repo (a first backup creates a repository)" + System.lineSeparator());
    assertThat(r.out()).isEmpty();
    assertThat(missing).doesNotExist();
  }

  @Test
  void copy_missingSource_exitsNotFoundNamingFromAndCreatesNothing() {
    Path missing = tmp.resolve("no-such-repo");
    Path target = tmp.resolve("target");
    Cli.Run r = Cli.run("copy", "--from", missing.toString(), "--to", target.toString());
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.NOT_FOUND);
    assertThat(r.err()).contains("repository file:" + missing + " does not exist; check --from");
    assertThat(missing).doesNotExist();
    assertThat(target).doesNotExist();
  }

  @Test
  void snapshots_emptyExistingRepository_isNoError() throws Exception {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    Cli.Run r = Cli.run("snapshots", "--repo", empty.toString());
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.err()).contains("no snapshots in file:" + empty);

    Cli.Run json = Cli.run("snapshots", "--repo", empty.toString(), "--json");
    assertThat(json.exitCode()).as(json.toString()).isZero();
    assertThat(json.out().strip()).isEqualTo("[ ]");

    Cli.Run verify = Cli.run("verify", "--repo", empty.toString());
    assertThat(verify.exitCode()).as(verify.toString()).isZero();
  }

  @Test
  void s3ChunkedSigning_anyCase_mapsToTheStoreOption() {
    CommandLine.ParseResult r = Main.commandLine().parseArgs("snapshots", "--s3-chunked-signing", "OFF");

    StoreOptions.ChunkedSigning v = r.subcommand().matchedOptionValue("--s3-chunked-signing", null);
    assertThat(v).isEqualTo(StoreOptions.ChunkedSigning.OFF);
    assertThat(new RepoMixin().options().s3ChunkedSigning()).as("default").isEqualTo(StoreOptions.ChunkedSigning.AUTO);
  }

  @Test
  void s3ChunkedSigning_badValue_isUsageErrorNamingTheValues() {
    Cli.Run r = Cli.run("snapshots", "--s3-chunked-signing", "maybe");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).contains("Invalid value for option '--s3-chunked-signing'")
        .contains("expected one of auto, on, off but was 'maybe'");
  }
}
