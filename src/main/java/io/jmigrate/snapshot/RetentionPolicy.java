package io.jmigrate.snapshot;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;

/**
 * Which snapshots of each container to keep, as restic's {@code forget --keep-*}: keep the N newest, and the
 * newest snapshot of each of the N most recent hours, days, ISO weeks, months and years that have snapshots.
 * A policy with no rule keeps everything. A policy whose rules are all zero would remove everything: it is
 * refused unless {@link Builder#allowRemoveAll(boolean)} says so. Immutable; see docs/retention.md.
 */
public final class RetentionPolicy {

  /** The rules, with their YAML and flag name. */
  public enum Rule {
    LAST("keep-last"),
    HOURLY("keep-hourly"),
    DAILY("keep-daily"),
    WEEKLY("keep-weekly"),
    MONTHLY("keep-monthly"),
    YEARLY("keep-yearly");

    private final String key;

    Rule(String key) {
      this.key = key;
    }

    /** The name in YAML and on the command line, e.g. {@code keep-daily}. */
    public String key() {
      return key;
    }

    /** The rule named {@code key} ({@code keep-daily}), if any. */
    public static Optional<Rule> fromKey(String key) {
      for (Rule r : values()) {
        if (r.key.equals(key.toLowerCase(Locale.ROOT))) {
          return Optional.of(r);
        }
      }
      return Optional.empty();
    }
  }

  private static final RetentionPolicy KEEP_ALL = new RetentionPolicy(new EnumMap<>(Rule.class), false);

  private final Map<Rule, Integer> counts;
  private final boolean allowRemoveAll;

  private RetentionPolicy(Map<Rule, Integer> counts, boolean allowRemoveAll) {
    this.counts = counts;
    this.allowRemoveAll = allowRemoveAll;
  }

  /** The policy with no rules: every snapshot is kept. */
  public static RetentionPolicy keepAll() {
    return KEEP_ALL;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** True when at least one rule is set (even to 0). */
  public boolean hasRules() {
    return !counts.isEmpty();
  }

  /** The rule's count, or empty when it is not set. */
  public Optional<Integer> count(Rule rule) {
    return Optional.ofNullable(counts.get(rule));
  }

  /** The rule's count, 0 when not set. */
  public int keep(Rule rule) {
    return counts.getOrDefault(rule, 0);
  }

  /** True when the policy was allowed to keep nothing. */
  public boolean allowRemoveAll() {
    return allowRemoveAll;
  }

  /** True when every rule is zero, so nothing would be kept. */
  public boolean keepsNothing() {
    return hasRules() && counts.values().stream().allMatch(n -> n == 0);
  }

  /** {@code keep-last 3, keep-daily 7}, or {@code keep everything}. */
  @Override
  public String toString() {
    if (!hasRules()) {
      return "keep everything";
    }
    StringJoiner j = new StringJoiner(", ");
    for (Rule r : Rule.values()) {
      if (counts.containsKey(r)) {
        j.add(r.key() + " " + counts.get(r));
      }
    }
    return j.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RetentionPolicy && ((RetentionPolicy) o).counts.equals(counts)
        && ((RetentionPolicy) o).allowRemoveAll == allowRemoveAll;
  }

  @Override
  public int hashCode() {
    return counts.hashCode() * 31 + Boolean.hashCode(allowRemoveAll);
  }

  /** Builder; {@link #build()} checks the policy. */
  public static final class Builder {
    private final Map<Rule, Integer> counts = new EnumMap<>(Rule.class);
    private boolean allowRemoveAll;

    private Builder() {}

    /** Sets a rule; a negative count is reported by {@link #build()}. */
    public Builder keep(Rule rule, int count) {
      counts.put(rule, count);
      return this;
    }

    public Builder keepLast(int n) {
      return keep(Rule.LAST, n);
    }

    public Builder keepHourly(int n) {
      return keep(Rule.HOURLY, n);
    }

    public Builder keepDaily(int n) {
      return keep(Rule.DAILY, n);
    }

    public Builder keepWeekly(int n) {
      return keep(Rule.WEEKLY, n);
    }

    public Builder keepMonthly(int n) {
      return keep(Rule.MONTHLY, n);
    }

    public Builder keepYearly(int n) {
      return keep(Rule.YEARLY, n);
    }

    /** Accept a policy whose rules are all zero, which removes every snapshot (e.g. {@code --allow-remove-all}). */
    public Builder allowRemoveAll(boolean allow) {
      allowRemoveAll = allow;
      return this;
    }

    /**
     * Checks and builds the policy.
     *
     * @throws RetentionException for a negative count, or rules that are all zero without allowRemoveAll
     */
    public RetentionPolicy build() throws RetentionException {
      for (Map.Entry<Rule, Integer> e : counts.entrySet()) {
        if (e.getValue() < 0) {
          throw new RetentionException(e.getKey().key() + " is " + e.getValue()
              + "; expected a whole number, 0 or more");
        }
      }
      RetentionPolicy p = new RetentionPolicy(new EnumMap<>(counts), allowRemoveAll);
      if (p.keepsNothing() && !allowRemoveAll) {
        throw new RetentionException("the retention policy (" + p + ") keeps no snapshot, so every snapshot would be"
            + " removed; expected at least one keep-* above 0 (to really remove everything, allow it explicitly)");
      }
      return p;
    }
  }
}
