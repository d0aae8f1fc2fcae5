package io.jmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Tests for {@link Main}. */
class MainTest {
  @Test
  void help_anyCommand_listsTheExitCodes() {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    cl.setOut(new PrintWriter(out));
    assertThat(cl.execute("backup", "--help")).isZero();
    assertThat(out.toString()).contains("Exit codes:").contains("repository locked by another jmigrate")
        .contains("--consistency");
  }

  @Test
  void help_commandList_givesEachCommandAWholeSentence() {
    CommandLine cl = Main.commandLine();
    for (CommandLine sub : cl.getSubcommands().values()) {
      if (sub.getCommandName().equals("help")) {
        continue;
      }
      String[] header = sub.getCommandSpec().usageMessage().header();
      assertThat(header).as(sub.getCommandName()).hasSize(1);
      assertThat(header[0]).as(sub.getCommandName()).endsWith(".").hasSizeLessThan(80);
    }
  }

  @Test
  void execute_unknownOption_isUsageError() {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    assertThat(cl.execute("snapshots", "--bogus")).isEqualTo(ExitCode.USAGE);
    assertThat(err.toString()).contains("Unknown option").contains("--help");
  }

  @Test
  void rewriteShortForm_knownCommand_isUnchanged() {
    assertThat(Main.rewriteShortForm(new String[] {"backup", "a", "b"})).containsExactly("backup", "a", "b");
    assertThat(Main.rewriteShortForm(new String[] {"-v", "a", "b"})).containsExactly("-v", "a", "b");
  }

  @Test
  void oneLine_multilineMessage_isJoined() {
    assertThat(Main.oneLine(new RuntimeException("a\n  b\r\nc"))).isEqualTo("a b c");
  }
}
