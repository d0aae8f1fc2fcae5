package io.jmigrate.testing;

import io.jmigrate.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;

/**
 * Runs jmigrate for tests: in-process through {@link Main#commandLine()} (fast, same JVM), or as a real process from
 * {@code target/jmigrate.jar} with a small heap (for signals, and to prove memory stays bounded).
 */
public final class Cli {
  /** What a run printed and returned. */
  public record Run(int exitCode, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
    }
  }

  private Cli() {}

  /** Runs in-process as {@code jmigrate ARGS} would (the migrate shorthand included); stdout and stderr captured. */
  public static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = Main.execute(cl, args);
    return new Run(code, out.toString(), err.toString());
  }

  /** The packaged jar that failsafe tests run against. */
  public static Path jar() {
    Path jar = Path.of("target/jmigrate.jar").toAbsolutePath();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: run the integration tests with `mvn verify` (or bin/test)");
    }
    return jar;
  }

  /** The command that runs the jar with {@code heap} (e.g. "-Xmx128m"), ready for ProcessBuilder. */
  public static List<String> javaCommand(String heap, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add(heap);
    cmd.add("-jar");
    cmd.add(jar().toString());
    cmd.addAll(Arrays.asList(args));
    return cmd;
  }

  /** Runs the jar as a separate process and waits (bounded) for it. */
  public static Run process(String heap, String... args) throws IOException, InterruptedException {
    Path out = Files.createTempFile("jm-cli-out", ".txt");
    Path err = Files.createTempFile("jm-cli-err", ".txt");
    try {
      Process p = new ProcessBuilder(javaCommand(heap, args)).redirectOutput(out.toFile()).redirectError(err.toFile())
          .start();
      if (!p.waitFor(15, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IllegalStateException("jmigrate " + String.join(" ", args) + " did not finish in 15 minutes");
      }
      return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
