package io.jmigrate.cli;

import io.jmigrate.engine.HostSpec;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

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
        "  jmigrate host-a host-b web             move it from host-a to host-b (docker",
        "                                         contexts or URLs such as ssh://host)"},
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
        RecoverCommand.class,
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

  /** Runs jmigrate in-process and returns the exit code. */
  public static int run(String... args) {
    return execute(commandLine(), args);
  }

  /**
   * Runs {@code args} on a command line from {@link #commandLine()} (whose streams a test may have replaced), with
   * the {@code SOURCE TARGET CONTAINER} shorthand for migrate.
   */
  public static int execute(CommandLine cl, String... args) {
    return cl.execute(rewriteShortForm(args, word -> looksLikeHost(word, System.getenv())));
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
    cl.setParameterExceptionHandler(Main::parameterError);
    cl.setHelpFactory(new HelpFormat());
    applyExitCodeHelp(cl);
    return cl;
  }

  /**
   * A bad command line: picocli's message and its "did you mean" suggestions, then where the usage is. An unknown
   * first word is an unknown command, not "Unmatched arguments from index 0".
   */
  private static int parameterError(ParameterException ex, String[] args) {
    CommandLine where = ex.getCommandLine();
    PrintWriter err = where.getErr();
    String qualified = where.getCommandSpec().qualifiedName();
    if (ex instanceof UnmatchedArgumentException && where.getCommandSpec().parent() == null
        && !((UnmatchedArgumentException) ex).isUnknownOption()
        && !((UnmatchedArgumentException) ex).getUnmatched().isEmpty()) {
      UnmatchedArgumentException u = (UnmatchedArgumentException) ex;
      String word = u.getUnmatched().get(0);
      err.println("jmigrate: unknown command '" + word + "'");
      if (!u.printSuggestions(err)) {
        err.println("The commands are: " + String.join(", ", where.getSubcommands().keySet()) + ".");
      }
      if (args.length >= 3 && word.equals(args[0]) && !args[1].startsWith("-")) {
        // It had the shape of the migrate shorthand, which it did not take: say why.
        err.println("To migrate, SOURCE and TARGET are engines: unix:///path, tcp://host:port, ssh://[user@]host "
            + "or a docker context that exists (docker context ls).");
      }
      err.println("Run '" + qualified + " --help' for usage.");
    } else {
      err.println("jmigrate: " + ex.getMessage());
      UnmatchedArgumentException.printSuggestions(ex, err);
      err.println("Run '" + qualified + " --help' for usage.");
    }
    err.flush();
    return ExitCode.USAGE;
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
   * {@code jmigrate HOST_A HOST_B CONTAINER...} is the form people type for a migration. It means {@code migrate}
   * only when the first word is not a command or an option, at least three words are given, and the first two
   * look like engines ({@code isHost}); anything else is left to the parser, which reports an unknown command
   * with the nearest ones, rather than migrate's usage for a mistyped command.
   */
  static String[] rewriteShortForm(String[] args, Predicate<String> isHost) {
    if (args.length >= 3 && !args[0].startsWith("-")) {
      Set<String> commands = new CommandLine(new Main()).getSubcommands().keySet();
      if (!commands.contains(args[0]) && commands.contains("migrate") && isHost.test(args[0])
          && isHost.test(args[1])) {
        String[] out = new String[args.length + 1];
        out[0] = "migrate";
        System.arraycopy(args, 0, out, 1, args.length);
        return out;
      }
    }
    return Arrays.copyOf(args, args.length);
  }

  /** An engine URL (unix://, tcp://, ssh://; any scheme, which migrate then checks) or a docker context that exists. */
  static boolean looksLikeHost(String word, Map<String, String> env) {
    return word.contains("://") || HostSpec.isContext(word, env);
  }
}
