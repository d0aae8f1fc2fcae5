package io.jmigrate.job;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * When a job runs: a 5-field Unix cron expression (minute hour day-of-month month day-of-week, with names,
 * ranges, lists and steps; day-of-month and day-of-week are OR-ed when both are restricted, as in Vixie cron) or
 * {@code @hourly}, {@code @daily}, {@code @weekly}, {@code @monthly}, {@code @yearly}, read in a time zone.
 * Parsing and matching is cron-utils' (UNIX definition); this class adds the nicknames and daylight-saving
 * rules that cron users expect (cronie's):
 * <ul>
 *   <li>Spring forward: local times that do not exist (02:00–02:59 in Europe/Berlin on the last Sunday of
 *       March) fire once, at the moment of the jump (03:00 local). cron-utils alone would skip that day.
 *   <li>Fall back: a local time that occurs twice fires once, at its first occurrence, unless the hour field is
 *       {@code *} or a step over it such as {@code *}/2 (a job that runs every hour keeps running every real
 *       hour). cron-utils alone
 *       would fire {@code 30 2 * * *} again at the second 02:30 when asked from between the two.
 * </ul>
 * Immutable and thread-safe. Every method takes the time to count from, or a {@link Clock}, so that the
 * scheduler can be tested on a fixed or stepped clock.
 */
public final class CronSchedule {
  /** What the error messages say is expected. */
  public static final String EXPECTED = "5 fields (minute hour day-of-month month day-of-week) like \"0 3 * * *\", "
      + "or @hourly, @daily, @weekly, @monthly, @yearly";

  private static final CronParser PARSER =
      new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

  // The UNIX definition of cron-utils has no nicknames; these are crontab(5)'s.
  private static final Map<String, String> NICKNAMES = Map.of(
      "@hourly", "0 * * * *",
      "@daily", "0 0 * * *",
      "@midnight", "0 0 * * *",
      "@weekly", "0 0 * * 0",
      "@monthly", "0 0 1 * *",
      "@yearly", "0 0 1 1 *",
      "@annually", "0 0 1 1 *");

  // A reference instant for "does this expression ever fire": every valid expression fires within 8 years of
  // it (Feb 29 included).
  private static final ZonedDateTime REFERENCE = ZonedDateTime.of(2000, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);

  private final String expression;
  private final ZoneId zone;
  private final ExecutionTime execution;
  private final boolean everyHour;

  private CronSchedule(String expression, ZoneId zone, ExecutionTime execution, boolean everyHour) {
    this.expression = expression;
    this.zone = zone;
    this.execution = execution;
    this.everyHour = everyHour;
  }

  /**
   * Parses an expression read in {@code zone}.
   *
   * @throws IllegalArgumentException whose message names the expression, what is wrong and {@link #EXPECTED}
   */
  public static CronSchedule parse(String expression, ZoneId zone) {
    Objects.requireNonNull(zone, "zone");
    if (expression == null || expression.isBlank()) {
      throw new IllegalArgumentException("empty cron expression; expected " + EXPECTED);
    }
    String text = expression.strip();
    String fields = text;
    if (text.startsWith("@")) {
      fields = NICKNAMES.get(text.toLowerCase(Locale.ROOT));
      if (fields == null) {
        throw new IllegalArgumentException("bad cron expression \"" + expression + "\": " + text
            + " is not a supported nickname" + (text.equalsIgnoreCase("@reboot") ? " (jobs do not run at boot)" : "")
            + "; expected " + EXPECTED);
      }
    }
    Cron cron;
    try {
      cron = PARSER.parse(fields).validate();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("bad cron expression \"" + expression + "\": " + cronUtilsReason(e)
          + "; expected " + EXPECTED, e);
    }
    ExecutionTime execution = ExecutionTime.forCron(cron);
    if (execution.nextExecution(REFERENCE).isEmpty()) {
      throw new IllegalArgumentException("bad cron expression \"" + expression
          + "\": it never fires (no such date); expected " + EXPECTED);
    }
    String hourField = fields.trim().split("\\s+")[1];
    boolean everyHour = hourField.equals("*") || hourField.startsWith("*/");
    return new CronSchedule(text, zone, execution, everyHour);
  }

  private static String cronUtilsReason(IllegalArgumentException e) {
    String m = e.getMessage() == null ? "not a cron expression" : e.getMessage();
    m = m.replace("Failed to parse cron expression. ", "");
    m = m.replace("Cron expression contains ", "it has ").replace(" parts but we expect one of [5]", " fields");
    return m.strip().replaceAll("[.\\s]+$", "");
  }

  /** The expression as written (a nickname stays a nickname). */
  public String expression() {
    return expression;
  }

  /** The zone its fields are read in. */
  public ZoneId zone() {
    return zone;
  }

  /** The first firing strictly after {@code after}, in this schedule's zone. */
  public ZonedDateTime next(ZonedDateTime after) {
    Objects.requireNonNull(after, "after");
    ZoneRules rules = zone.getRules();
    ZonedDateTime from = after.withZoneSameInstant(zone);
    while (true) {
      ZonedDateTime regular = execution.nextExecution(from)
          .orElseThrow(() -> new IllegalStateException("cron expression " + expression + " has no next time"));
      // A gap between `from` and `regular` whose local times match fires at the jump.
      Optional<ZonedDateTime> gap = firstMatchingGap(rules, from.toInstant(), regular.toInstant());
      if (gap.isPresent()) {
        return gap.get();
      }
      if (!everyHour && isSecondOccurrence(rules, regular)) {
        from = regular;
        continue;
      }
      return regular;
    }
  }

  /** The first firing strictly after {@code after}. */
  public Instant next(Instant after) {
    return next(after.atZone(zone)).toInstant();
  }

  /** The first firing strictly after the clock's now. */
  public ZonedDateTime next(Clock clock) {
    return next(clock.instant().atZone(zone));
  }

  /** How long from the clock's now to the next firing (never negative). */
  public Duration untilNext(Clock clock) {
    Instant now = clock.instant();
    return Duration.between(now, next(now));
  }

  /** True when the schedule fires exactly at {@code time} (the gap rule included). */
  public boolean firesAt(Instant time) {
    return next(time.minusNanos(1)).equals(time);
  }

  private Optional<ZonedDateTime> firstMatchingGap(ZoneRules rules, Instant from, Instant until) {
    ZoneOffsetTransition t = rules.nextTransition(from);
    while (t != null && t.getInstant().isBefore(until)) {
      if (t.isGap() && gapHasMatch(t)) {
        return Optional.of(t.getInstant().atZone(zone));
      }
      t = rules.nextTransition(t.getInstant());
    }
    return Optional.empty();
  }

  /** Whether some local time in [before, after) of a spring-forward transition matches the fields. */
  private boolean gapHasMatch(ZoneOffsetTransition t) {
    LocalDateTime start = t.getDateTimeBefore();
    LocalDateTime end = t.getDateTimeAfter();
    // Match on local fields alone: evaluate in UTC, which has no gaps.
    ZonedDateTime probe = start.minusSeconds(1).atZone(ZoneOffset.UTC);
    return execution.nextExecution(probe).map(m -> m.toLocalDateTime().isBefore(end)).orElse(false);
  }

  /** True when {@code time}'s local time occurred once already, before a fall-back transition. */
  private static boolean isSecondOccurrence(ZoneRules rules, ZonedDateTime time) {
    java.util.List<ZoneOffset> offsets = rules.getValidOffsets(time.toLocalDateTime());
    return offsets.size() > 1 && time.getOffset().equals(offsets.get(offsets.size() - 1))
        && !offsets.get(0).equals(offsets.get(offsets.size() - 1));
  }

  @Override
  public String toString() {
    return expression + " (" + zone.getId() + ")";
  }
}
