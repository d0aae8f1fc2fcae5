package io.jmigrate.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.core.ConsoleAppender;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;

/** -v, -q and --debug, shared by every command. */
public final class LoggingMixin {
  private static volatile boolean debug;

  @Option(names = {"-v", "--verbose"}, description = "Log more: every layer, volume and skip.")
  void verbose(boolean v) {
    if (v) {
      level("io.jmigrate", Level.DEBUG);
    }
  }

  @Option(names = {"-q", "--quiet"}, description = "Log only warnings and errors.")
  void quiet(boolean q) {
    if (q) {
      level("io.jmigrate", Level.WARN);
    }
  }

  @Option(names = "--debug", description = "Log everything with timestamps, and print stack traces on errors.")
  void debug(boolean d) {
    if (d) {
      debug = true;
      level("io.jmigrate", Level.DEBUG);
      level(Logger.ROOT_LOGGER_NAME, Level.INFO);
      LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
      Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
      root.detachAndStopAllAppenders();
      PatternLayoutEncoder enc = new PatternLayoutEncoder();
      enc.setContext(ctx);
      enc.setPattern("%d{HH:mm:ss.SSS} %-5level [%thread] %logger{20} - %msg%n");
      enc.start();
      ConsoleAppender<ch.qos.logback.classic.spi.ILoggingEvent> a = new ConsoleAppender<>();
      a.setContext(ctx);
      a.setTarget("System.err");
      a.setEncoder(enc);
      a.start();
      root.addAppender(a);
    }
  }

  /** True when --debug was given: errors then carry stack traces. */
  public static boolean debugEnabled() {
    return debug;
  }

  /** True when -v or --debug was given, on the command or before it: commands then print more detail. */
  public static boolean verboseEnabled() {
    return LoggerFactory.getLogger("io.jmigrate").isDebugEnabled();
  }

  /** Sets a logger's level; used by commands that are quiet by default (run). */
  public static void level(String logger, Level level) {
    ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(logger).setLevel(level);
  }
}
