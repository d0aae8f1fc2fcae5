package io.jmigrate.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tests for {@link CronSchedule}. */
class CronScheduleTest {
  private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

  private static List<String> firings(CronSchedule s, String after, int n) {
    List<String> out = new ArrayList<>();
    ZonedDateTime t = ZonedDateTime.parse(after);
    for (int i = 0; i < n; i++) {
      t = s.next(t);
      out.add(t.toString());
    }
    return out;
  }

  @Test
  void next_dailyInUtc_firesAtTheTimeEachDay() {
    CronSchedule s = CronSchedule.parse("0 3 * * *", ZoneOffset.UTC);

    assertThat(firings(s, "2026-11-20T02:59:59Z", 2)).containsExactly("2026-11-20T03:00Z", "2026-11-21T03:00Z");
  }

  @Test
  void next_exactlyAtFiring_returnsTheFollowingOne() {
    CronSchedule s = CronSchedule.parse("*/15 * * * *", ZoneOffset.UTC);

    assertThat(s.next(ZonedDateTime.parse("2026-11-20T10:15:00Z")).toString()).isEqualTo("2026-11-20T10:30Z");
  }

  @Test
  void next_inAZone_readsFieldsInThatZone() {
    CronSchedule s = CronSchedule.parse("0 3 * * *", ZoneId.of("Asia/Tokyo"));

    // 03:00 in Tokyo is 18:00 UTC the day before; the answer is in the schedule's zone whatever the input zone.
    assertThat(s.next(Instant.parse("2026-11-20T12:00:00Z"))).isEqualTo(Instant.parse("2026-11-20T18:00:00Z"));
    assertThat(s.next(ZonedDateTime.parse("2026-11-20T12:00:00Z")).getZone()).isEqualTo(ZoneId.of("Asia/Tokyo"));
  }

  @Test
  void parse_nicknames_mapToCrontabMeanings() {
    String after = "2026-11-18T10:30:00Z"; // a Wednesday
    assertThat(firings(CronSchedule.parse("@hourly", ZoneOffset.UTC), after, 1)).containsExactly("2026-11-18T11:00Z");
    assertThat(firings(CronSchedule.parse("@daily", ZoneOffset.UTC), after, 1)).containsExactly("2026-11-19T00:00Z");
    assertThat(firings(CronSchedule.parse("@midnight", ZoneOffset.UTC), after, 1)).containsExactly("2026-11-19T00:00Z");
    assertThat(firings(CronSchedule.parse("@weekly", ZoneOffset.UTC), after, 1)).containsExactly("2026-11-22T00:00Z");
    assertThat(firings(CronSchedule.parse("@monthly", ZoneOffset.UTC), after, 1)).containsExactly("2026-12-01T00:00Z");
    assertThat(firings(CronSchedule.parse("@yearly", ZoneOffset.UTC), after, 1)).containsExactly("2027-01-01T00:00Z");
    assertThat(firings(CronSchedule.parse("@ANNUALLY", ZoneOffset.UTC), after, 1)).containsExactly("2027-01-01T00:00Z");
  }

  @Test
  void parse_namesRangesAndSteps_areUnixCron() {
    CronSchedule s = CronSchedule.parse("0 22 * * MON-FRI", ZoneOffset.UTC);

    // 2026-11-20 is a Friday: next is Friday 22:00, then Monday.
    assertThat(firings(s, "2026-11-20T12:00:00Z", 2)).containsExactly("2026-11-20T22:00Z", "2026-11-23T22:00Z");
  }

  @Test
  void parse_dayOfMonthAndDayOfWeek_areOrEdAsInVixieCron() {
    CronSchedule s = CronSchedule.parse("0 0 1 * MON", ZoneOffset.UTC);

    // Mondays, and the 1st (a Sunday in February 2026).
    assertThat(firings(s, "2026-01-27T00:00:00Z", 2)).containsExactly("2026-02-01T00:00Z", "2026-02-02T00:00Z");
  }

  @Test
  void parse_leapDay_findsTheNextLeapYear() {
    CronSchedule s = CronSchedule.parse("0 0 29 2 *", ZoneOffset.UTC);

    assertThat(firings(s, "2026-01-01T00:00:00Z", 1)).containsExactly("2028-02-29T00:00Z");
  }

  @Test
  void parse_outOfRange_namesTheValueAndRange() {
    assertThatThrownBy(() -> CronSchedule.parse("0 24 * * *", ZoneOffset.UTC))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("bad cron expression \"0 24 * * *\": Value 24 not in range [0, 23]; expected "
            + CronSchedule.EXPECTED);
  }

  @Test
  void parse_wrongFieldCount_saysHowManyFields() {
    assertThatThrownBy(() -> CronSchedule.parse("0 3 * *", ZoneOffset.UTC))
        .hasMessage("bad cron expression \"0 3 * *\": it has 4 fields; expected " + CronSchedule.EXPECTED);
  }

  @Test
  void parse_garbage_isRefused() {
    assertThatThrownBy(() -> CronSchedule.parse("every day", ZoneOffset.UTC))
        .hasMessageStartingWith("bad cron expression \"every day\": it has 2 fields; expected");
    assertThatThrownBy(() -> CronSchedule.parse("a b c d e", ZoneOffset.UTC))
        .hasMessageStartingWith("bad cron expression \"a b c d e\": Invalid chars in expression!");
    assertThatThrownBy(() -> CronSchedule.parse(" ", ZoneOffset.UTC))
        .hasMessage("empty cron expression; expected " + CronSchedule.EXPECTED);
  }

  @Test
  void parse_reboot_isRefusedWithReason() {
    assertThatThrownBy(() -> CronSchedule.parse("@reboot", ZoneOffset.UTC))
        .hasMessage("bad cron expression \"@reboot\": @reboot is not a supported nickname (jobs do not run at boot);"
            + " expected " + CronSchedule.EXPECTED);
  }

  @Test
  void parse_dateThatNeverExists_isRefused() {
    assertThatThrownBy(() -> CronSchedule.parse("0 0 30 2 *", ZoneOffset.UTC))
        .hasMessage("bad cron expression \"0 0 30 2 *\": it never fires (no such date); expected "
            + CronSchedule.EXPECTED);
  }

  // ---- daylight saving time in Europe/Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00 ----------

  @Test
  void next_dailyInSpringGap_firesOnceAtTheJump() {
    CronSchedule s = CronSchedule.parse("30 2 * * *", BERLIN);

    // 02:30 does not exist on March 29: it fires at 03:00 CEST (01:00 UTC), not a day late.
    assertThat(firings(s, "2026-03-28T12:00+01:00[Europe/Berlin]", 3)).containsExactly(
        "2026-03-29T03:00+02:00[Europe/Berlin]",
        "2026-03-30T02:30+02:00[Europe/Berlin]",
        "2026-03-31T02:30+02:00[Europe/Berlin]");
  }

  @Test
  void next_everyQuarterHourAcrossSpringGap_firesOnceAtTheJumpThenContinues() {
    CronSchedule s = CronSchedule.parse("*/15 * * * *", BERLIN);

    assertThat(firings(s, "2026-03-29T01:40+01:00[Europe/Berlin]", 3)).containsExactly(
        "2026-03-29T01:45+01:00[Europe/Berlin]",
        "2026-03-29T03:00+02:00[Europe/Berlin]",
        "2026-03-29T03:15+02:00[Europe/Berlin]");
  }

  @Test
  void next_dailyInAutumnOverlap_firesOnlyAtTheFirstOccurrence() {
    CronSchedule s = CronSchedule.parse("30 2 * * *", BERLIN);

    assertThat(firings(s, "2026-10-24T12:00+02:00[Europe/Berlin]", 3)).containsExactly(
        "2026-10-25T02:30+02:00[Europe/Berlin]",
        "2026-10-26T02:30+01:00[Europe/Berlin]",
        "2026-10-27T02:30+01:00[Europe/Berlin]");
    // Asked from between the two 02:30s (a scheduler that counts from the end of a 15-minute run), it does not
    // fire again at the second 02:30.
    assertThat(s.next(ZonedDateTime.parse("2026-10-25T02:45+02:00[Europe/Berlin]")).toString())
        .isEqualTo("2026-10-26T02:30+01:00[Europe/Berlin]");
  }

  @Test
  void next_hourlyAcrossAutumnOverlap_firesEveryRealHour() {
    CronSchedule s = CronSchedule.parse("@hourly", BERLIN);

    List<String> f = firings(s, "2026-10-25T00:30+02:00[Europe/Berlin]", 4);
    assertThat(f).containsExactly(
        "2026-10-25T01:00+02:00[Europe/Berlin]",
        "2026-10-25T02:00+02:00[Europe/Berlin]",
        "2026-10-25T02:00+01:00[Europe/Berlin]",
        "2026-10-25T03:00+01:00[Europe/Berlin]");
  }

  @Test
  void next_dailyOverAYearInBerlin_firesOncePerLocalDay() {
    CronSchedule s = CronSchedule.parse("30 2 * * *", BERLIN);
    ZonedDateTime t = ZonedDateTime.parse("2026-01-01T00:00+01:00[Europe/Berlin]");
    List<java.time.LocalDate> days = new ArrayList<>();
    for (int i = 0; i < 365; i++) {
      t = s.next(t);
      days.add(t.toLocalDate());
    }

    assertThat(days).doesNotHaveDuplicates();
    assertThat(days.get(0)).isEqualTo(java.time.LocalDate.of(2026, 1, 1));
    assertThat(days.get(364)).isEqualTo(java.time.LocalDate.of(2026, 12, 31));
  }

  // ---- the Clock-friendly API the scheduler uses ----------------------------------------------------------

  @Test
  void untilNext_fixedClock_isTheWaitToTheNextFiring() {
    CronSchedule s = CronSchedule.parse("0 3 * * *", BERLIN);
    Clock clock = Clock.fixed(Instant.parse("2026-11-20T01:30:00Z"), ZoneOffset.UTC); // 02:30 in Berlin

    assertThat(s.untilNext(clock)).isEqualTo(Duration.ofMinutes(30));
    assertThat(s.next(clock).toInstant()).isEqualTo(Instant.parse("2026-11-20T02:00:00Z"));
  }

  @Test
  void firesAt_matchesFiringsOnly() {
    CronSchedule s = CronSchedule.parse("30 2 * * *", BERLIN);

    assertThat(s.firesAt(Instant.parse("2026-11-20T01:30:00Z"))).isTrue();
    assertThat(s.firesAt(Instant.parse("2026-11-20T01:31:00Z"))).isFalse();
    assertThat(s.firesAt(ZonedDateTime.parse("2026-03-29T03:00+02:00").toInstant())).isTrue();
  }
}
