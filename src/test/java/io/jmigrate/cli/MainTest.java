package io.jmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.testing.Cli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/** Tests for {@link Main}. */
class MainTest {
  @TempDir
  Path tmp;

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
  void help_everyCommand_breaksLinesOnlyAtSpacesWithinTheWidth() {
    CommandLine root = Main.commandLine();
    List<CommandLine> all = new ArrayList<>();
    all.add(root);
    all.addAll(root.getSubcommands().values());
    for (CommandLine cl : all) {
      String name = cl.getCommandSpec().qualifiedName();
      String help = cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
      for (String line : help.split("\\R")) {
        assertThat(line.length()).as(name + ": " + line).isLessThanOrEqualTo(80);
      }
      // Every text survives whole, only its spaces turned into line breaks: a break inside a word or URL
      // (ssh:⏎//host, ~/.⏎docker) would put a space where the text has none.
      String joined = help.replaceAll("\\s+", " ");
      for (String text : texts(cl.getCommandSpec())) {
        assertThat(joined).as(name).contains(text.replace("%n", " ").replaceAll("\\s+", " ").strip());
      }
    }
    String backup = root.getSubcommands().get("backup").getUsageMessage(CommandLine.Help.Ansi.OFF);
    assertThat(backup.replaceAll("\\s+", " ")).contains(" [--[no-]s3-path-style] ")
        .contains("ssh://[user@]host[:port]").contains("~/.docker").contains("s3://bucket/prefix");
  }

  private static List<String> texts(CommandSpec spec) {
    List<String> texts = new ArrayList<>(Arrays.asList(spec.usageMessage().description()));
    for (ArgSpec a : spec.args()) {
      if (!a.hidden()) {
        texts.addAll(Arrays.asList(a.description()));
      }
    }
    texts.addAll(spec.usageMessage().exitCodeList().values());
    texts.removeIf(String::isBlank);
    return texts;
  }

  @Test
  void execute_unknownOption_isUsageError() {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    assertThat(cl.execute("snapshots", "--bogus")).isEqualTo(ExitCode.USAGE);
    assertThat(err.toString()).contains("Unknown option").contains("--help");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "backup --consistency paus web         | --consistency  | expected one of pause, stop, none but was 'paus'",
      "backup --volume-reader fast web       | --volume-reader | expected one of auto, direct, archive but was 'fast'",
      "backup --stop-timeout -1 web          | --stop-timeout | must be 0 or more, but was '-1'",
      "backup --lock-wait soon web           | --lock-wait    | expected a whole number but was 'soon'",
      "restore --volume-writer fast web      | --volume-writer | expected one of auto, direct, archive but was 'fast'",
      "restore --wait-timeout 0 web          | --wait-timeout | must be above 0, but was '0'",
      "restore --volume-prefix _x web        | --volume-prefix | volume prefix '_x' cannot start a volume name",
      "snapshots --s3-chunked-signing maybe  | --s3-chunked-signing | expected one of auto, on, off but was 'maybe'",
      "migrate --volume-reader x unix:///a unix:///b web | --volume-reader | but was 'x'",
      "migrate --volume-writer x unix:///a unix:///b web | --volume-writer | but was 'x'",
      "migrate --wait-timeout 0 unix:///a unix:///b web  | --wait-timeout | must be above 0",
      "migrate --cleanup-timeout -5 unix:///a unix:///b web | --cleanup-timeout | must be 0 or more",
      "migrate --stop-timeout -1 unix:///a unix:///b web | --stop-timeout | must be 0 or more",
      "run --consistency Paws                | --consistency  | expected one of pause, stop, none but was 'Paws'",
      "run --hook-timeout 5x                 | --hook-timeout | bad duration \"5x\"",
      "run --lock-wait -1                    | --lock-wait    | must be 0 or more",
      "schedule --stop-timeout 60            | --stop-timeout | a bare number has no unit: write 60s",
      "schedule --lock-wait -1               | --lock-wait    | must be 0 or more",
      "prune --gc-grace soon                 | --gc-grace     | bad duration \"soon\"",
      "prune --timezone Mars/Olympus         | --timezone     | unknown time zone 'Mars/Olympus'",
      "prune --lock-wait -1                  | --lock-wait    | must be 0 or more",
      "drill --timeout 0 web                 | --timeout      | must be above 0, but was '0'"})
  void execute_badOptionValue_exitsUsageWithPicocliMessage(String args, String option, String why) {
    Cli.Run r = Cli.run(args.strip().split("\\s+"));
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).as(r.toString()).contains("Invalid value for option '" + option.strip() + "'")
        .contains(why.strip()).contains("--help' for usage");
  }

  @Test
  void execute_s3PartSizeBelowTheMinimum_exitsUsage() {
    Cli.Run r = Cli.run("snapshots", "--repo", tmp.toString(), "--s3-part-size", "1");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).contains("below the 5 MiB minimum");
  }

  @Test
  void execute_malformedHost_exitsUsageBeforeTouchingAnything() {
    Path repo = tmp.resolve("repo");
    Cli.Run r = Cli.run("backup", "-H", "unix://relative.sock", "--repo", repo.toString(), "web");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).contains("a unix socket needs an absolute path");
    assertThat(repo).doesNotExist();
  }

  @Test
  void execute_unknownCommand_saysSoAndListsTheCommands() {
    Cli.Run r = Cli.run("init", "--repo", tmp.resolve("r").toString());
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).startsWith("jmigrate: unknown command 'init'")
        .contains("The commands are: backup, restore, migrate, snapshots").contains("'jmigrate --help'")
        .doesNotContain("jmigrate migrate --help").doesNotContain("To migrate").doesNotContain("Unmatched");
  }

  @Test
  void execute_mistypedCommand_suggestsTheNearest() {
    Cli.Run r = Cli.run("snapshot");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).startsWith("jmigrate: unknown command 'snapshot'")
        .contains("Did you mean: jmigrate snapshots?").doesNotContain("Unmatched");

    Cli.Run backup = Cli.run("bakup", "web");
    assertThat(backup.err()).contains("unknown command 'bakup'").contains("jmigrate backup");
  }

  @Test
  void execute_threeWordsThatAreNoHosts_isAnUnknownCommandWithTheMigrateForm() {
    Cli.Run r = Cli.run("no-such-context-a", "no-such-context-b", "web");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).startsWith("jmigrate: unknown command 'no-such-context-a'")
        .contains("To migrate, SOURCE and TARGET are engines");
  }

  @Test
  void execute_mistypedOption_suggestsTheNearest() {
    Cli.Run r = Cli.run("snapshots", "--jsn");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.USAGE);
    assertThat(r.err()).contains("Unknown option: '--jsn'").contains("Possible solutions: --json");
  }

  @Test
  void rewriteShortForm_knownCommand_isUnchanged() {
    assertThat(Main.rewriteShortForm(new String[] {"backup", "a", "b"}, w -> true))
        .containsExactly("backup", "a", "b");
    assertThat(Main.rewriteShortForm(new String[] {"-v", "a", "b"}, w -> true)).containsExactly("-v", "a", "b");
  }

  @Test
  void rewriteShortForm_twoHostsAndAContainer_isMigrate() {
    assertThat(Main.rewriteShortForm(new String[] {"ssh://a", "b", "web"}, w -> true))
        .containsExactly("migrate", "ssh://a", "b", "web");
  }

  @Test
  void rewriteShortForm_firstTwoWordsNotHosts_isUnchanged() {
    assertThat(Main.rewriteShortForm(new String[] {"init", "--repo", "R"}, w -> w.contains("://")))
        .containsExactly("init", "--repo", "R");
    assertThat(Main.rewriteShortForm(new String[] {"ssh://a", "web", "x"}, w -> w.contains("://")))
        .containsExactly("ssh://a", "web", "x");
  }

  @Test
  void looksLikeHost_urlsAndExistingContexts_areHosts() throws Exception {
    Path meta = tmp.resolve("contexts/meta/" + contextDir("prod"));
    Files.createDirectories(meta);
    Files.writeString(meta.resolve("meta.json"),
        "{\"Name\":\"prod\",\"Endpoints\":{\"docker\":{\"Host\":\"ssh://prod\"}}}");
    Map<String, String> env = Map.of("DOCKER_CONFIG", tmp.toString());
    assertThat(Main.looksLikeHost("unix:///var/run/docker.sock", env)).isTrue();
    assertThat(Main.looksLikeHost("tcp://h:2376", env)).isTrue();
    assertThat(Main.looksLikeHost("ssh://root@h", env)).isTrue();
    assertThat(Main.looksLikeHost("default", env)).isTrue();
    assertThat(Main.looksLikeHost("prod", env)).isTrue();
    assertThat(Main.looksLikeHost("init", env)).isFalse();
    assertThat(Main.looksLikeHost("prd", env)).isFalse();
  }

  private static String contextDir(String name) throws Exception {
    // The docker CLI names a context's directory by the sha256 of its name (see HostSpec).
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(name.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  @Test
  void oneLine_multilineMessage_isJoined() {
    assertThat(Main.oneLine(new RuntimeException("a\n  b\r\nc"))).isEqualTo("a b c");
  }
}
