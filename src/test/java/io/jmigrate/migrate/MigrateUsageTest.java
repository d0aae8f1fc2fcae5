package io.jmigrate.migrate;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.cli.ExitCode;
import io.jmigrate.testing.Cli;
import org.junit.jupiter.api.Test;

/** Tests for the bad input of {@code jmigrate migrate} ({@link MigrationRunner} through the command line). */
class MigrateUsageTest {
  private static final String A = "unix:///tmp/jm-migrate-none/a.sock";
  private static final String B = "unix:///tmp/jm-migrate-none/b.sock";

  @Test
  void migrate_noContainerNorProject_isAUsageError() {
    Cli.Run r = Cli.run("migrate", A, B);
    assertThat(r.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).contains("name at least one CONTAINER, or --project NAME");
  }

  @Test
  void migrate_removeVolumesWithoutRemoveSource_isAUsageError() {
    Cli.Run r = Cli.run("migrate", A, B, "--remove-volumes", "web");
    assertThat(r.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).contains("--remove-volumes needs --remove-source");
  }

  @Test
  void migrate_removeSourceWithKeepRunning_isAUsageError() {
    Cli.Run r = Cli.run("migrate", A, B, "--remove-source", "--keep-running", "web");
    assertThat(r.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).contains("--remove-source and --keep-running contradict each other");
  }

  @Test
  void migrate_sourceSocketMissing_exitsEngineNamingIt() {
    Cli.Run r = Cli.run("migrate", A, B, "web");
    assertThat(r.exitCode()).isEqualTo(ExitCode.ENGINE);
    assertThat(r.err()).contains("cannot reach the Docker engine at " + A + ": no such socket");
  }

  @Test
  void migrate_badVolumeReader_isAUsageError() {
    Cli.Run r = Cli.run("migrate", A, B, "--volume-reader", "fast", "web");
    assertThat(r.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).contains("Invalid value for option '--volume-reader'")
        .contains("expected one of auto, direct, archive but was 'fast'");
  }

  @Test
  void help_listsTheOptionsAndTheExitCodes() {
    Cli.Run r = Cli.run("migrate", "--help");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).contains("jmigrate migrate").contains("--project").contains("Exit codes");
  }
}
