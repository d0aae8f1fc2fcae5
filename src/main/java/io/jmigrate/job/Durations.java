package io.jmigrate.job;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as operators write them: {@code 30s}, {@code 5m}, {@code 1h30m}, {@code 500ms}, {@code 2d}; and
 * ISO-8601 ({@code PT5M}) for those who prefer it.
 */
public final class Durations {
  /** What the error messages say is expected. */
  public static final String EXPECTED =
      "a number with a unit, like 30s, 5m, 1h or 1h30m (units ms, s, m, h, d), or ISO-8601 like PT5M";

  private static final Pattern WHOLE = Pattern.compile("(?:\\d+(?:ms|s|m|h|d))+");
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private Durations() {}

  /**
   * Parses a duration.
   *
   * @throws IllegalArgumentException naming the text and what is expected
   */
  public static Duration parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty duration; expected " + EXPECTED);
    }
    String s = text.strip();
    if (s.charAt(0) == 'P' || s.charAt(0) == 'p') {
      try {
        return Duration.parse(s.toUpperCase(Locale.ROOT));
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("bad duration \"" + text + "\"; expected " + EXPECTED, e);
      }
    }
    if (!WHOLE.matcher(s).matches()) {
      String hint = s.chars().allMatch(Character::isDigit) ? " (a bare number has no unit: write " + s + "s)" : "";
      throw new IllegalArgumentException("bad duration \"" + text + "\"" + hint + "; expected " + EXPECTED);
    }
    Duration total = Duration.ZERO;
    Matcher m = PART.matcher(s);
    try {
      while (m.find()) {
        long n = Long.parseLong(m.group(1));
        switch (m.group(2)) {
          case "ms":
            total = total.plusMillis(n);
            break;
          case "s":
            total = total.plusSeconds(n);
            break;
          case "m":
            total = total.plus(Duration.ofMinutes(n));
            break;
          case "h":
            total = total.plus(Duration.ofHours(n));
            break;
          default:
            total = total.plus(Duration.ofDays(n));
            break;
        }
      }
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException("duration \"" + text + "\" is too long; expected " + EXPECTED, e);
    }
    return total;
  }

  /** The short form: {@code 1h30m}, {@code 45s}, {@code 250ms}, {@code 0s}. */
  public static String format(Duration d) {
    if (d.isZero()) {
      return "0s";
    }
    StringBuilder b = new StringBuilder();
    if (d.isNegative()) {
      b.append('-');
      d = d.negated();
    }
    long days = d.toDays();
    int hours = d.toHoursPart();
    int minutes = d.toMinutesPart();
    int seconds = d.toSecondsPart();
    int millis = d.toMillisPart();
    if (days > 0) {
      b.append(days).append('d');
    }
    if (hours > 0) {
      b.append(hours).append('h');
    }
    if (minutes > 0) {
      b.append(minutes).append('m');
    }
    if (seconds > 0) {
      b.append(seconds).append('s');
    }
    if (millis > 0) {
      b.append(millis).append("ms");
    }
    return b.length() == 0 || b.toString().equals("-") ? b.append("0s").toString() : b.toString();
  }
}
