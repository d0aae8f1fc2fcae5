package io.jmigrate.snapshot;

import io.jmigrate.snapshot.RetentionPolicy.Rule;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Pure retention selection, with restic's {@code forget --keep-*} semantics (docs/retention.md):
 * <ol>
 *   <li>Each container's snapshots are considered on their own, newest first; equal times are ordered by id. A
 *       container is its name on its engine host: same-named containers of several hosts are separate.
 *   <li>{@code keep-last N} keeps the N newest.
 *   <li>{@code keep-hourly|daily|weekly|monthly|yearly N} keeps the newest snapshot of each of the N most recent
 *       periods that have a snapshot. Periods are calendar periods in the given zone; weeks are ISO weeks
 *       (Monday to Sunday, numbered in their week-based year). An hour is a real hour: the 02:00 that a
 *       fall-back transition repeats counts as two hours.
 *   <li>A snapshot kept by several rules lists every reason; a snapshot no rule keeps is removed.
 *   <li>A policy with no rules keeps everything.
 * </ol>
 * No clock is read: the result depends only on the snapshots, the policy and the zone.
 */
public final class Retention {
  private static final Comparator<RetentionSnapshot> NEWEST_FIRST =
      Comparator.comparing(RetentionSnapshot::created).reversed().thenComparing(RetentionSnapshot::id);

  private static final Rule[] PERIOD_RULES = {Rule.HOURLY, Rule.DAILY, Rule.WEEKLY, Rule.MONTHLY, Rule.YEARLY};

  private Retention() {}

  /**
   * Decides which snapshots to keep.
   *
   * @param snapshots every snapshot of the repository (or of the containers to prune)
   * @param policy the rules; a policy that keeps nothing only exists when it was explicitly allowed
   * @param zone where days, weeks, months and years begin
   */
  public static RetentionPlan plan(Collection<RetentionSnapshot> snapshots, RetentionPolicy policy, ZoneId zone) {
    Objects.requireNonNull(snapshots, "snapshots");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(zone, "zone");
    Map<String, List<RetentionSnapshot>> byContainer = new TreeMap<>();
    for (RetentionSnapshot s : snapshots) {
      byContainer.computeIfAbsent(s.group(), c -> new ArrayList<>()).add(s);
    }
    List<RetentionPlan.Decision> decisions = new ArrayList<>();
    for (List<RetentionSnapshot> group : byContainer.values()) {
      group.sort(NEWEST_FIRST);
      decisions.addAll(planContainer(group, policy, zone));
    }
    return new RetentionPlan(decisions);
  }

  private static List<RetentionPlan.Decision> planContainer(
      List<RetentionSnapshot> newestFirst, RetentionPolicy policy, ZoneId zone) {
    List<RetentionPlan.Decision> out = new ArrayList<>();
    if (!policy.hasRules()) {
      for (RetentionSnapshot s : newestFirst) {
        out.add(new RetentionPlan.Decision(s, true, List.of("no retention rules")));
      }
      return out;
    }
    int lastLeft = policy.keep(Rule.LAST);
    int lastRank = 0;
    int[] left = new int[PERIOD_RULES.length];
    String[] lastBucket = new String[PERIOD_RULES.length];
    for (int i = 0; i < PERIOD_RULES.length; i++) {
      left[i] = policy.keep(PERIOD_RULES[i]);
    }
    for (RetentionSnapshot s : newestFirst) {
      List<String> reasons = new ArrayList<>();
      if (lastLeft > 0) {
        lastLeft--;
        reasons.add("last " + (++lastRank));
      }
      ZonedDateTime t = s.created().atZone(zone);
      for (int i = 0; i < PERIOD_RULES.length; i++) {
        if (left[i] == 0) {
          continue;
        }
        String bucket = bucket(PERIOD_RULES[i], t);
        if (!bucket.equals(lastBucket[i])) {
          lastBucket[i] = bucket;
          left[i]--;
          reasons.add(label(PERIOD_RULES[i], t));
        }
      }
      out.add(new RetentionPlan.Decision(s, !reasons.isEmpty(), reasons));
    }
    return out;
  }

  /** The period a time falls in, as a key that differs between distinct periods. */
  private static String bucket(Rule rule, ZonedDateTime t) {
    switch (rule) {
      case HOURLY:
        // The offset keeps the two 02:00 hours of a fall-back night apart.
        return t.toLocalDate() + "T" + t.getHour() + t.getOffset();
      case DAILY:
        return t.toLocalDate().toString();
      case WEEKLY:
        return t.get(IsoFields.WEEK_BASED_YEAR) + "-W" + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR);
      case MONTHLY:
        return t.getYear() + "-" + t.getMonthValue();
      case YEARLY:
        return Integer.toString(t.getYear());
      default:
        throw new IllegalArgumentException(rule.toString());
    }
  }

  /** The reason shown to users, e.g. {@code daily 2026-11-20}, {@code weekly 2026-W47}. */
  private static String label(Rule rule, ZonedDateTime t) {
    switch (rule) {
      case HOURLY: {
        LocalDateTime hour = t.toLocalDateTime().withMinute(0).withSecond(0).withNano(0);
        String s = String.format("hourly %s %02d:00", t.toLocalDate(), t.getHour());
        // Name the offset only when the local hour is ambiguous (it happens twice on a fall-back night).
        return t.getZone().getRules().getValidOffsets(hour).size() > 1 ? s + " " + t.getOffset() : s;
      }
      case DAILY:
        return "daily " + t.toLocalDate();
      case WEEKLY:
        return String.format("weekly %d-W%02d", t.get(IsoFields.WEEK_BASED_YEAR),
            t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR));
      case MONTHLY:
        return String.format("monthly %d-%02d", t.getYear(), t.getMonthValue());
      case YEARLY:
        return "yearly " + t.getYear();
      default:
        throw new IllegalArgumentException(rule.toString());
    }
  }
}
