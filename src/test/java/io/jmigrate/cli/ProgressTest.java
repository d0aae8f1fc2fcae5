package io.jmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.blob.TransferListener;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Tests for {@link Progress}: plain lines on a test clock, and a bar's first frame. */
class ProgressTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void transfer_knownTotalOverSeveralIntervals_logsBytesRateAndTimeLeftThenAFinalLine() {
    AtomicLong now = new AtomicLong();
    List<String> lines = new CopyOnWriteArrayList<>();
    Progress p = new Progress(false, Duration.ofSeconds(30), lines::add, now::get);
    try (TransferListener.Transfer t = p.start("web: volume web-data", 100L << 20)) {
      now.set(10 * SECOND);
      t.transferred(10L << 20);
      assertThat(lines).isEmpty();
      now.set(30 * SECOND);
      t.transferred(20L << 20);
      now.set(45 * SECOND);
      t.transferred(10L << 20);
      now.set(60 * SECOND);
      t.transferred(20L << 20);
    }
    assertThat(lines).containsExactly(
        "web: volume web-data: 30.0 MiB of 100.0 MiB (30%), 1.0 MiB/s, about 1m10s left",
        "web: volume web-data: 60.0 MiB of 100.0 MiB (60%), 1.0 MiB/s, about 40s left",
        "web: volume web-data: 60.0 MiB in 1m00s (1.0 MiB/s)");
  }

  @Test
  void bar_afterOneSecond_drawsItsFirstFrameBeforeTransferredReturns() {
    AtomicLong now = new AtomicLong();
    ByteArrayOutputStream drawn = new ByteArrayOutputStream();
    PrintStream bars = new PrintStream(drawn, true, StandardCharsets.UTF_8);
    Progress p = new Progress(true, Duration.ofSeconds(30), line -> { }, now::get, bars);
    try (TransferListener.Transfer t = p.start("volume big", 100L << 20)) {
      t.transferred(1L << 20);
      assertThat(drawn.size()).as("no bar within the first second").isZero();
      now.set(2 * SECOND);
      t.transferred(9L << 20);
      synchronized (bars) {
        assertThat(drawn.toString(StandardCharsets.UTF_8)).contains("volume big  10% [")
            .contains("10.0 MiB of 100.0 MiB");
      }
    }
  }

  @Test
  void transfer_unknownTotal_saysSoFar() {
    AtomicLong now = new AtomicLong();
    List<String> lines = new CopyOnWriteArrayList<>();
    Progress p = new Progress(false, Duration.ofSeconds(30), lines::add, now::get);
    try (TransferListener.Transfer t = p.start("web: volume data", -1)) {
      now.set(40 * SECOND);
      t.transferred(40L << 20);
    }
    assertThat(lines.get(0)).isEqualTo("web: volume data: 40.0 MiB so far, 1.0 MiB/s");
  }

  @Test
  void transfer_shorterThanTheInterval_saysNothing() {
    AtomicLong now = new AtomicLong();
    List<String> lines = new CopyOnWriteArrayList<>();
    Progress p = new Progress(false, Duration.ofSeconds(30), lines::add, now::get);
    try (TransferListener.Transfer t = p.start("layer", 5)) {
      now.set(2 * SECOND);
      t.transferred(5);
    }
    assertThat(lines).isEmpty();
  }

  @Test
  void render_knownTotal_showsTheRateOverTheWholeTransferAndTheTimeLeft() {
    String line = Progress.render("web: volume data", 40L << 20, 100L << 20, Duration.ofSeconds(4), false, 100);
    assertThat(line).startsWith("web: volume data  40% [").endsWith("] 40.0 MiB of 100.0 MiB, 10.0 MiB/s, 6s left")
        .hasSize(100).doesNotContain("?");
  }

  @Test
  void render_unknownTotal_showsBytesAndRateWithoutABarOrTimeLeft() {
    String line = Progress.render("web: volume data", 30L << 20, -1, Duration.ofSeconds(3), false, 100);
    assertThat(line).isEqualTo("web: volume data: 30.0 MiB so far, 10.0 MiB/s");
  }

  @Test
  void render_nothingYet_showsNoRateAndNoTimeLeft() {
    String line = Progress.render("layer", 0, 100L << 20, Duration.ZERO, false, 80);
    assertThat(line).endsWith("] 0 B of 100.0 MiB").doesNotContain("/s").doesNotContain("left")
        .doesNotContain("0:00:00");
  }

  @Test
  void render_finished_saysHowMuchInHowLong() {
    String line = Progress.render("web: volume data", 100L << 20, 100L << 20, Duration.ofSeconds(10), true, 100);
    assertThat(line).isEqualTo("web: volume data: 100.0 MiB in 10s (10.0 MiB/s)");
  }

  @Test
  void render_eightyColumns_hasRoomForABar() {
    // ConsoleProgressBarConsumer renders at most 79 characters on an 80-column (or unknown) terminal.
    String line = Progress.render("volume web-data", 122L << 20, 128L << 20, Duration.ofMillis(960), false, 79);
    assertThat(line).startsWith("volume web-data  95% [").endsWith("] 122.0 MiB of 128.0 MiB, 127.1 MiB/s, 1s left")
        .hasSizeLessThanOrEqualTo(79);
  }

  @Test
  void render_narrowTerminal_dropsTheBarAndFitsTheWidth() {
    String line = Progress.render("web: volume data", 40L << 20, 100L << 20, Duration.ofSeconds(4), false, 60);
    assertThat(line).hasSizeLessThanOrEqualTo(60).doesNotContain("[").startsWith("web: volume data  40% 40.0 MiB");
  }

  @Test
  void padded_shorterLine_coversThePreviousOne() {
    assertThat(Progress.padded("done", 8)).isEqualTo("done    ");
    assertThat(Progress.padded("a longer line", 8)).isEqualTo("a longer line");
  }
}
