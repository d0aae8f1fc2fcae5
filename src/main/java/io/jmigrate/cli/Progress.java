package io.jmigrate.cli;

import io.jmigrate.blob.TransferListener;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shows long transfers to people: on a terminal, a progress bar per transfer (bytes, rate and time left, drawn
 * by {@link #render} through me.tongfei:progressbar) once it has run for a second, so short ones never flicker;
 * without a terminal (cron, systemd, a pipe), a plain log line every {@link #LOG_EVERY} and one when a long
 * transfer ends. Never changes a transfer: it only hears byte counts.
 */
final class Progress implements TransferListener {
  private static final Logger LOG = LoggerFactory.getLogger(Progress.class);
  /** How often a line is logged without a terminal. */
  static final Duration LOG_EVERY = Duration.ofSeconds(30);
  /** How long a transfer runs before a bar appears on a terminal. */
  static final Duration BAR_AFTER = Duration.ofSeconds(1);

  private final boolean terminal;
  private final Duration every;
  private final Consumer<String> lines;
  private final LongSupplier nanos;
  private final PrintStream bars;

  Progress(boolean terminal, Duration every, Consumer<String> lines, LongSupplier nanos) {
    this(terminal, every, lines, nanos, System.err);
  }

  /** As above, drawing bars on {@code bars} (a test's buffer) instead of stderr. */
  Progress(boolean terminal, Duration every, Consumer<String> lines, LongSupplier nanos, PrintStream bars) {
    this.terminal = terminal;
    this.every = Objects.requireNonNull(every, "every");
    this.lines = Objects.requireNonNull(lines, "lines");
    this.nanos = Objects.requireNonNull(nanos, "nanos");
    this.bars = Objects.requireNonNull(bars, "bars");
  }

  /** Bars when stderr is a terminal (and TERM is not dumb), log lines at INFO otherwise. */
  static TransferListener forStderr() {
    String term = System.getenv("TERM");
    boolean tty = System.console() != null && term != null && !term.equals("dumb");
    return new Progress(tty, LOG_EVERY, LOG::info, System::nanoTime);
  }

  @Override
  public Transfer start(String what, long totalBytes) {
    return terminal ? new Bar(what, totalBytes) : new Lines(what, totalBytes);
  }

  /** A bar, created once the transfer has lasted {@link #BAR_AFTER}. */
  private final class Bar implements Transfer {
    private final String what;
    private final long total;
    private final long start = nanos.getAsLong();
    private final AtomicLong done = new AtomicLong();
    private ProgressBar bar;
    private boolean closed;

    Bar(String what, long total) {
      this.what = what;
      this.total = total;
    }

    @Override
    public void transferred(long bytes) {
      long now = done.addAndGet(bytes);
      synchronized (this) {
        if (closed) {
          return;
        }
        if (bar == null) {
          long elapsed = nanos.getAsLong() - start;
          if (elapsed < BAR_AFTER.toNanos()) {
            return;
          }
          // Our own renderer: the library's rate is bytes since the bar appeared over whole seconds since then
          // ("?MiB/s" in the first second, then too high), and its ETA reads 0:00:00 before it knows anything.
          String task = shorten(what, 40);
          bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total < 0 ? -1 : total)
              .setRenderer((state, width) -> padded(render(task, state.getCurrent(), total,
                  state.getTotalElapsed(), !state.isAlive(), width), width))
              .setConsumer(new ConsoleProgressBarConsumer(bars)).setUpdateIntervalMillis(500)
              .startsFrom(0, Duration.ofNanos(elapsed)).build();
          bar.stepTo(now);
          // Draw the first frame here, on the transfer's thread. Left to the library's own thread, the first
          // drawing (which also sets up its terminal) could come after a short transfer had closed the bar, and
          // the bar would then only ever show its final line (JobProgressIT saw that under load).
          bar.refresh();
          return;
        }
        bar.stepTo(now);
      }
    }

    @Override
    public synchronized void close() {
      closed = true;
      if (bar != null) {
        bar.close();
      }
    }
  }

  /** Plain lines: one every {@code every}, and a last one for a transfer that lasted that long. */
  private final class Lines implements Transfer {
    private final String what;
    private final long total;
    private final long start = nanos.getAsLong();
    private final AtomicLong done = new AtomicLong();
    private volatile long nextLine = start + every.toNanos();
    private volatile boolean spoke;

    Lines(String what, long total) {
      this.what = what;
      this.total = total;
    }

    @Override
    public void transferred(long bytes) {
      long n = done.addAndGet(bytes);
      long now = nanos.getAsLong();
      if (now >= nextLine) {
        synchronized (this) {
          if (now >= nextLine) {
            nextLine = now + every.toNanos();
            spoke = true;
            lines.accept(line(n, now, false));
          }
        }
      }
    }

    @Override
    public void close() {
      if (spoke) {
        lines.accept(line(done.get(), nanos.getAsLong(), true));
      }
    }

    private String line(long n, long now, boolean end) {
      double secs = Math.max(1e-3, (now - start) / 1e9);
      double rate = n / secs;
      StringBuilder b = new StringBuilder(what).append(": ");
      if (end) {
        return b.append(Format.bytes(n)).append(" in ").append(seconds(secs)).append(" (")
            .append(Format.bytes((long) rate)).append("/s)").toString();
      }
      b.append(Format.bytes(n));
      if (total > 0) {
        b.append(" of ").append(Format.bytes(total)).append(String.format(Locale.ROOT, " (%d%%)", n * 100 / total));
      } else {
        b.append(" so far");
      }
      b.append(", ").append(Format.bytes((long) rate)).append("/s");
      if (total > 0 && rate > 0 && n < total) {
        b.append(", about ").append(seconds((total - n) / rate)).append(" left");
      }
      return b.toString();
    }
  }

  /** The narrowest bar worth drawing; with less room the line keeps its figures and drops the bar. */
  static final int MIN_BAR = 10;

  /**
   * One line of a bar, at most {@code width} characters: {@code volume web-data  45% [=====>    ] 450.0 MiB of
   * 1.0 GiB, 50.2 MiB/s, 11s left} while it runs, {@code volume web-data: 1.0 GiB in 20s (51.2 MiB/s)} once done.
   * The rate is over the whole transfer (bytes and time both count from its start), shown once there is one; the
   * time left (rounded up) only when the total is known and some bytes have gone. An unknown total gets no bar,
   * and a line too long for one (a long name on an 80-column terminal) keeps its figures and drops the bar.
   */
  static String render(String task, long done, long total, Duration elapsed, boolean finished, int width) {
    double secs = elapsed.toNanos() / 1e9;
    double rate = secs > 0 ? done / secs : 0;
    String line;
    if (finished) {
      line = task + ": " + Format.bytes(done) + " in " + seconds(secs)
          + (rate > 0 ? " (" + Format.bytes((long) rate) + "/s)" : "");
    } else {
      StringBuilder tail = new StringBuilder(Format.bytes(done));
      tail.append(total > 0 ? " of " + Format.bytes(total) : " so far");
      if (rate > 0) {
        tail.append(", ").append(Format.bytes((long) rate)).append("/s");
        if (total > 0 && done < total) {
          tail.append(", ").append(seconds(Math.ceil((total - done) / rate))).append(" left");
        }
      }
      if (total > 0) {
        int pct = (int) Math.min(100, done * 100 / total);
        String head = task + String.format(Locale.ROOT, " %3d%% ", pct);
        int inner = width - head.length() - tail.length() - 3;
        if (inner >= MIN_BAR) {
          int filled = (int) Math.min(inner, (long) inner * Math.min(done, total) / total);
          String bar = "=".repeat(filled) + (filled < inner ? ">" + " ".repeat(inner - filled - 1) : "");
          line = head + "[" + bar + "] " + tail;
        } else {
          line = head + tail;
        }
      } else {
        line = task + ": " + tail;
      }
    }
    return width > 0 && line.length() > width ? line.substring(0, width) : line;
  }

  /**
   * The line filled with spaces to {@code width}: the consumer only returns the cursor ('\r') before each line, so a
   * shorter line (the last one, or a bar whose figures shrank) would leave the end of the previous one visible.
   */
  static String padded(String line, int width) {
    return line.length() >= width ? line : line + " ".repeat(width - line.length());
  }

  private static String seconds(double s) {
    long whole = Math.round(s);
    if (whole < 60) {
      return whole + "s";
    }
    return whole / 3600 > 0 ? String.format(Locale.ROOT, "%dh%02dm", whole / 3600, whole / 60 % 60)
        : String.format(Locale.ROOT, "%dm%02ds", whole / 60, whole % 60);
  }

  private static String shorten(String s, int max) {
    return s.length() <= max ? s : "…" + s.substring(s.length() - max + 1);
  }
}
