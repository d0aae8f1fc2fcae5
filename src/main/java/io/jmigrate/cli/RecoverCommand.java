package io.jmigrate.cli;

import io.jmigrate.backup.RecoveryJournal;
import io.jmigrate.engine.Engine;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code jmigrate recover}: undoes what a killed jmigrate left on an engine (see {@link RecoveryJournal}), for
 * runbooks; backup, run and migrate do the same on their own before they start.
 */
@Command(name = "recover", mixinStandardHelpOptions = true,
    header = "Undo what a killed jmigrate left: paused containers, temporary images.",
    description = {"Undo what a jmigrate killed with SIGKILL (or by a power loss) left on the engine: unpause or "
        + "start again the containers it froze, remove the temporary images it committed. backup, run and migrate "
        + "do this on their own before they start; this command is for runbooks.",
        "Prints one line per thing done, or that there was nothing to do. Exit 1 when something could not be "
            + "undone (the line says what, and the record is kept for the next try)."})
final class RecoverCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  LoggingMixin logging;

  @Mixin
  HostMixin host;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    try (Engine engine = host.connect()) {
      List<String> done = RecoveryJournal.recover(engine);
      if (done.isEmpty()) {
        out.println("nothing to recover on " + engine.display());
        return ExitCode.OK;
      }
      done.forEach(out::println);
      return done.stream().anyMatch(l -> l.startsWith("could not") || l.startsWith("ignoring"))
          ? ExitCode.FAILED : ExitCode.OK;
    }
  }
}
