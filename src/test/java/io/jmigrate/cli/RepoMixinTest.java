package io.jmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.store.StoreOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Tests for {@link RepoMixin}. */
class RepoMixinTest {
  @Test
  void s3ChunkedSigning_anyCase_mapsToTheStoreOption() {
    CommandLine.ParseResult r = Main.commandLine().parseArgs("snapshots", "--s3-chunked-signing", "OFF");

    StoreOptions.ChunkedSigning v = r.subcommand().matchedOptionValue("--s3-chunked-signing", null);
    assertThat(v).isEqualTo(StoreOptions.ChunkedSigning.OFF);
    assertThat(new RepoMixin().options().s3ChunkedSigning()).as("default").isEqualTo(StoreOptions.ChunkedSigning.AUTO);
  }

  @Test
  void s3ChunkedSigning_badValue_isUsageErrorNamingTheValues() {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));

    assertThat(cl.execute("snapshots", "--s3-chunked-signing", "maybe")).isEqualTo(ExitCode.USAGE);
    assertThat(err.toString()).contains("--s3-chunked-signing").contains("'maybe' is not auto, on or off");
  }
}
