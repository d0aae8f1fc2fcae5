package io.jmigrate.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Tests for {@link Durations}. */
class DurationsTest {

  @Test
  void parse_shortForms_addUp() {
    assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Durations.parse("2d")).isEqualTo(Duration.ofDays(2));
    assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Durations.parse(" 1m30s ")).isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void parse_iso8601_isAccepted() {
    assertThat(Durations.parse("PT5M")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse("pt1h")).isEqualTo(Duration.ofHours(1));
  }

  @Test
  void parse_bareNumber_asksForAUnit() {
    assertThatThrownBy(() -> Durations.parse("30"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("bad duration \"30\" (a bare number has no unit: write 30s); expected " + Durations.EXPECTED);
  }

  @Test
  void parse_badForms_areRefusedWithTheExpectedForms() {
    for (String bad : new String[] {"5 minutes", "1.5h", "-5s", "5x", "s", "P5"}) {
      assertThatThrownBy(() -> Durations.parse(bad))
          .as(bad)
          .hasMessage("bad duration \"" + bad + "\"; expected " + Durations.EXPECTED);
    }
    assertThatThrownBy(() -> Durations.parse("")).hasMessage("empty duration; expected " + Durations.EXPECTED);
  }

  @Test
  void parse_overflow_isRefused() {
    assertThatThrownBy(() -> Durations.parse("99999999999999999999d"))
        .hasMessageStartingWith("duration \"99999999999999999999d\" is too long");
  }

  @Test
  void format_roundTripsTheShortForm() {
    assertThat(Durations.format(Duration.ofMinutes(90))).isEqualTo("1h30m");
    assertThat(Durations.format(Duration.ofMillis(250))).isEqualTo("250ms");
    assertThat(Durations.format(Duration.ZERO)).isEqualTo("0s");
    assertThat(Durations.format(Duration.ofDays(1).plusSeconds(5))).isEqualTo("1d5s");
    assertThat(Durations.parse(Durations.format(Duration.ofSeconds(3725)))).isEqualTo(Duration.ofSeconds(3725));
  }
}
