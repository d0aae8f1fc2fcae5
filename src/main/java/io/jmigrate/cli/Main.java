package io.jmigrate.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code jmigrate} command: dispatches to the subcommands and turns failures into one line and an exit code. */
@Command(
    name = "jmigrate",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = {
        "Back up, restore and migrate Docker containers: image, writable layer, volumes and configuration.",
        "",
        "  jmigrate backup web                    snapshot container web into ./backups",
        "  jmigrate restore web -H ssh://host-b   recreate it on another host",
        "  jmigrate host-a host-b web             move it (short for `jmigrate migrate host-a host-b web`)"},
    subcommands = {
        BackupCommand.class,
        RestoreCommand.class,
        MigrateCommand.class,
        SnapshotsCommand.class,
        VerifyCommand.class,
        CopyCommand.class,
        RunCommand.class,
        ScheduleCommand.class,
        PruneCommand.class,
        DrillCommand.class,
        CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs jmigrate in-process and returns the exit code (tests use this). */
  public static int run(String... args) {
    return commandLine().execute(rewriteShortForm(args));
  }

  /** The configured command line, shared by {@link #run} and tests that need its output streams. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      PrintWriter err = commandLine.getErr();
      err.println("jmigrate: " + oneLine(e));
      if (LoggingMixin.debugEnabled()) {
        e.printStackTrace(err);
      }
      err.flush();
      return ExitCode.of(e);
    });
    cl.setParameterExceptionHandler((ex, args) -> {
      PrintWriter err = ex.getCommandLine().getErr();
      err.println("jmigrate: " + ex.getMessage());
      err.println("Run '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for usage.");
      err.flush();
      return ExitCode.USAGE;
    });
    applyExitCodeHelp(cl);
    return cl;
  }

  private static void applyExitCodeHelp(CommandLine cl) {
    cl.getCommandSpec().usageMessage().exitCodeListHeading("%nExit codes:%n").exitCodeList(ExitCode.helpList());
    for (CommandLine sub : cl.getSubcommands().values()) {
      applyExitCodeHelp(sub);
    }
  }

  /** The message of a failure as one line: the outermost message that says something, without newlines. */
  static String oneLine(Throwable e) {
    String m = e.getMessage();
    if (m == null || m.isBlank()) {
      m = e.getClass().getSimpleName() + (e.getCause() != null ? ": " + oneLine(e.getCause()) : "");
    }
    return m.replaceAll("\\s*\\R\\s*", " ").trim();
  }

  /**
   * {@code jmigrate HOST_A HOST_B CONTAINER...} is the form people type for a migration: when the first word is
   * not a command or an option and at least three words follow, it means {@code migrate}.
   */
  static String[] rewriteShortForm(String[] args) {
    if (args.length >= 3 && !args[0].startsWith("-")) {
      Set<String> commands = new CommandLine(new Main()).getSubcommands().keySet();
      if (!commands.contains(args[0]) && commands.contains("migrate")) {
        String[] out = new String[args.length + 1];
        out[0] = "migrate";
        System.arraycopy(args, 0, out, 1, args.length);
        return out;
      }
    }
    return Arrays.copyOf(args, args.length);
  }
}
