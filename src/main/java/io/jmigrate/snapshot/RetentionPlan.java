package io.jmigrate.snapshot;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What {@link Retention#plan} decided: for each container (by name), each snapshot newest first, kept with its
 * reasons or removed. Immutable.
 */
public final class RetentionPlan {

  /**
   * One snapshot's fate.
   *
   * @param snapshot the snapshot
   * @param keep true when it stays
   * @param reasons why it stays, e.g. {@code last 1}, {@code daily 2026-11-20}; empty when removed
   */
  public record Decision(RetentionSnapshot snapshot, boolean keep, List<String> reasons) {
    public Decision {
      Objects.requireNonNull(snapshot, "snapshot");
      reasons = List.copyOf(reasons);
    }
  }

  private final List<Decision> decisions;

  RetentionPlan(List<Decision> decisions) {
    this.decisions = List.copyOf(decisions);
  }

  /** Every decision: containers by name, then newest first. */
  public List<Decision> decisions() {
    return decisions;
  }

  /** The snapshots that stay. */
  public List<RetentionSnapshot> keep() {
    return decisions.stream().filter(Decision::keep).map(Decision::snapshot).collect(Collectors.toList());
  }

  /** The snapshots to remove. */
  public List<RetentionSnapshot> remove() {
    return decisions.stream().filter(d -> !d.keep()).map(Decision::snapshot).collect(Collectors.toList());
  }

  /** The containers, by name. */
  public Set<String> containers() {
    Set<String> s = new LinkedHashSet<>();
    decisions.forEach(d -> s.add(d.snapshot().container()));
    return s;
  }

  /** One container's decisions, newest first. */
  public List<Decision> forContainer(String container) {
    List<Decision> out = new ArrayList<>();
    for (Decision d : decisions) {
      if (d.snapshot().container().equals(container)) {
        out.add(d);
      }
    }
    return out;
  }
}
