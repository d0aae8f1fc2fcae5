package io.jmigrate.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tests for {@link Retention}. */
class RetentionTest {
  private static final ZoneId UTC = ZoneOffset.UTC;

  private static RetentionSnapshot snap(String id, String container, String instant) {
    return new RetentionSnapshot(id, container, Instant.parse(instant));
  }

  private static RetentionSnapshot zoned(String id, String zonedDateTime) {
    return new RetentionSnapshot(id, "web", ZonedDateTime.parse(zonedDateTime).toInstant());
  }

  /** id -> reasons, for kept snapshots only, in plan order. */
  private static Map<String, List<String>> kept(RetentionPlan plan) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (RetentionPlan.Decision d : plan.decisions()) {
      if (d.keep()) {
        out.put(d.snapshot().id(), d.reasons());
      }
    }
    return out;
  }

  private static List<String> removed(RetentionPlan plan) {
    List<String> out = new ArrayList<>();
    plan.remove().forEach(s -> out.add(s.id()));
    return out;
  }

  private static RetentionPolicy policy(RetentionPolicy.Builder b) throws RetentionException {
    return b.build();
  }

  @Test
  void plan_keepLast_keepsTheNewestInOrder() throws Exception {
    List<RetentionSnapshot> s = List.of(
        snap("a", "web", "2026-11-16T03:00:00Z"),
        snap("e", "web", "2026-11-20T03:00:00Z"),
        snap("c", "web", "2026-11-18T03:00:00Z"),
        snap("b", "web", "2026-11-17T03:00:00Z"),
        snap("d", "web", "2026-11-19T03:00:00Z"));

    RetentionPlan plan = Retention.plan(s, policy(RetentionPolicy.builder().keepLast(3)), UTC);

    assertThat(kept(plan)).containsExactly(
        Map.entry("e", List.of("last 1")), Map.entry("d", List.of("last 2")), Map.entry("c", List.of("last 3")));
    assertThat(removed(plan)).containsExactly("b", "a");
    assertThat(plan.decisions()).extracting(d -> d.snapshot().id()).containsExactly("e", "d", "c", "b", "a");
  }

  @Test
  void plan_keepDaily_keepsNewestOfEachOfTheMostRecentDays() throws Exception {
    List<RetentionSnapshot> s = List.of(
        snap("d1-early", "web", "2026-11-18T01:00:00Z"),
        snap("d1-late", "web", "2026-11-18T22:00:00Z"),
        snap("d2-early", "web", "2026-11-19T01:00:00Z"),
        snap("d2-late", "web", "2026-11-19T22:00:00Z"),
        snap("d3", "web", "2026-11-20T12:00:00Z"));

    RetentionPlan plan = Retention.plan(s, policy(RetentionPolicy.builder().keepDaily(2)), UTC);

    assertThat(kept(plan)).containsExactly(
        Map.entry("d3", List.of("daily 2026-11-20")), Map.entry("d2-late", List.of("daily 2026-11-19")));
    assertThat(removed(plan)).containsExactly("d2-early", "d1-late", "d1-early");
  }

  @Test
  void plan_daysWithoutSnapshots_doNotCount() throws Exception {
    List<RetentionSnapshot> s = List.of(
        snap("a", "web", "2026-10-01T03:00:00Z"),
        snap("b", "web", "2026-11-01T03:00:00Z"),
        snap("c", "web", "2026-11-20T03:00:00Z"));

    RetentionPlan plan = Retention.plan(s, policy(RetentionPolicy.builder().keepDaily(3)), UTC);

    assertThat(removed(plan)).isEmpty();
  }

  @Test
  void plan_dayBoundary_lastSecondAndMidnightAreDifferentDays() throws Exception {
    List<RetentionSnapshot> s = List.of(
        snap("before", "web", "2026-11-19T23:59:59Z"),
        snap("midnight", "web", "2026-11-20T00:00:00Z"));

    RetentionPlan plan = Retention.plan(s, policy(RetentionPolicy.builder().keepDaily(2)), UTC);

    assertThat(kept(plan)).containsExactly(
        Map.entry("midnight", List.of("daily 2026-11-20")), Map.entry("before", List.of("daily 2026-11-19")));
  }

  @Test
  void plan_weekBoundary_sundayAndMondayAreDifferentIsoWeeks() throws Exception {
    // 2026-11-22 is a Sunday (ISO week 47), 2026-11-23 a Monday (week 48).
    List<RetentionSnapshot> s = List.of(
        snap("mon-early", "web", "2026-11-16T01:00:00Z"),
        snap("sun-late", "web", "2026-11-22T23:00:00Z"),
        snap("mon", "web", "2026-11-23T01:00:00Z"));

    RetentionPlan plan = Retention.plan(s, policy(RetentionPolicy.builder().keepWeekly(2)), UTC);

    assertThat(kept(plan)).containsExactly(
        Map.entry("mon", List.of("weekly 2026-W48")), Map.entry("sun-late", List.of("weekly 2026-W47")));
    assertThat(removed(plan)).containsExactly("mon-early");
  }

  @Test
  void plan_isoWeekAcrossNewYear_usesTheWeekBasedYear() throws Exception {
    // 2026 has 53 ISO weeks: Friday 2027-01-01 and Monday 2026-12-28 are both in 2026-W53.
    List<RetentionSnapshot> s = List.of(
        snap("dec28", "web", "2026-12-28T10:00:00Z"),
        snap("jan1", "web", "2027-01-01T10:00:00Z"),
        snap("jan4", "web", "2027-01-04T10:00:00Z"));

    RetentionPlan plan = Retention.plan(s, policy(RetentionPolicy.builder().keepWeekly(5)), UTC);

    assertThat(kept(plan)).containsExactly(
        Map.entry("jan4", List.of("weekly 2027-W01")), Map.entry("jan1", List.of("weekly 2026-W53")));
    assertThat(removed(plan)).containsExactly("dec28");
  }

  @Test
  void plan_monthAndYearBoundaries_splitAtMidnightOfTheFirst() throws Exception {
    List<RetentionSnapshot> s = List.of(
        snap("jan31", "web", "2026-01-31T23:59:00Z"),
        snap("feb1", "web", "2026-02-01T00:01:00Z"),
        snap("dec31", "web", "2026-12-31T23:00:00Z"),
        snap("jan1", "web", "2027-01-01T01:00:00Z"));

    RetentionPlan monthly = Retention.plan(s, policy(RetentionPolicy.builder().keepMonthly(10)), UTC);
    RetentionPlan yearly = Retention.plan(s, policy(RetentionPolicy.builder().keepYearly(10)), UTC);

    assertThat(kept(monthly)).containsExactly(
        Map.entry("jan1", List.of("monthly 2027-01")), Map.entry("dec31", List.of("monthly 2026-12")),
        Map.entry("feb1", List.of("monthly 2026-02")), Map.entry("jan31", List.of("monthly 2026-01")));
    assertThat(kept(yearly)).containsExactly(
        Map.entry("jan1", List.of("yearly 2027")), Map.entry("dec31", List.of("yearly 2026")));
  }

  @Test
  void plan_timeZone_2330UtcIsTheNextDayInTokyo() throws Exception {
    List<RetentionSnapshot> s = List.of(
        snap("late", "web", "2026-11-20T23:30:00Z"),   // 2026-11-21 08:30 in Tokyo
        snap("next", "web", "2026-11-21T12:00:00Z"));  // 2026-11-21 21:00 in Tokyo
    RetentionPolicy daily2 = policy(RetentionPolicy.builder().keepDaily(2));

    RetentionPlan utc = Retention.plan(s, daily2, UTC);
    RetentionPlan tokyo = Retention.plan(s, daily2, ZoneId.of("Asia/Tokyo"));

    assertThat(kept(utc)).containsExactly(
        Map.entry("next", List.of("daily 2026-11-21")), Map.entry("late", List.of("daily 2026-11-20")));
    assertThat(kept(tokyo)).containsExactly(Map.entry("next", List.of("daily 2026-11-21")));
    assertThat(removed(tokyo)).containsExactly("late");
  }

  @Test
  void plan_tie_ordersEqualTimesById() throws Exception {
    List<RetentionSnapshot> s = List.of(
        snap("bbb", "web", "2026-11-20T03:00:00Z"),
        snap("aaa", "web", "2026-11-20T03:00:00Z"));

    RetentionPlan plan = Retention.plan(s, policy(RetentionPolicy.builder().keepLast(1).keepDaily(1)), UTC);

    assertThat(kept(plan)).containsExactly(Map.entry("aaa", List.of("last 1", "daily 2026-11-20")));
    assertThat(removed(plan)).containsExactly("bbb");
  }

  @Test
  void plan_severalRules_listEveryReason() throws Exception {
    List<RetentionSnapshot> s = List.of(
        snap("old", "web", "2026-10-30T03:00:00Z"),
        snap("mid", "web", "2026-11-19T03:00:00Z"),
        snap("new", "web", "2026-11-20T03:00:00Z"));

    RetentionPlan plan = Retention.plan(s,
        policy(RetentionPolicy.builder().keepLast(1).keepDaily(2).keepWeekly(2).keepMonthly(2).keepYearly(1)), UTC);

    assertThat(kept(plan)).containsExactly(
        Map.entry("new", List.of("last 1", "daily 2026-11-20", "weekly 2026-W47", "monthly 2026-11", "yearly 2026")),
        Map.entry("mid", List.of("daily 2026-11-19")),
        Map.entry("old", List.of("weekly 2026-W44", "monthly 2026-10")));
  }

  @Test
  void plan_severalContainers_areKeptIndependently() throws Exception {
    List<RetentionSnapshot> s = List.of(
        snap("w1", "web", "2026-11-19T03:00:00Z"),
        snap("d1", "db", "2026-11-19T03:00:00Z"),
        snap("w2", "web", "2026-11-20T03:00:00Z"),
        snap("d2", "db", "2026-11-18T03:00:00Z"));

    RetentionPlan plan = Retention.plan(s, policy(RetentionPolicy.builder().keepLast(1)), UTC);

    assertThat(plan.containers()).containsExactly("db", "web");
    assertThat(kept(plan)).containsOnlyKeys("d1", "w2");
    assertThat(plan.forContainer("db")).extracting(d -> d.snapshot().id()).containsExactly("d1", "d2");
    assertThat(removed(plan)).containsExactly("d2", "w1");
  }

  @Test
  void plan_hourlyAcrossAutumnOverlap_countsTheRepeatedHourTwice() throws Exception {
    ZoneId berlin = ZoneId.of("Europe/Berlin");
    List<RetentionSnapshot> s = List.of(
        zoned("first-0230", "2026-10-25T02:30+02:00[Europe/Berlin]"),
        zoned("first-0250", "2026-10-25T02:50+02:00[Europe/Berlin]"),
        zoned("second-0230", "2026-10-25T02:30+01:00[Europe/Berlin]"),
        zoned("three", "2026-10-25T03:10+01:00[Europe/Berlin]"));

    RetentionPlan plan = Retention.plan(s, policy(RetentionPolicy.builder().keepHourly(3)), berlin);

    assertThat(kept(plan)).containsExactly(
        Map.entry("three", List.of("hourly 2026-10-25 03:00")),
        Map.entry("second-0230", List.of("hourly 2026-10-25 02:00 +01:00")),
        Map.entry("first-0250", List.of("hourly 2026-10-25 02:00 +02:00")));
    assertThat(removed(plan)).containsExactly("first-0230");
  }

  @Test
  void plan_dailyAcrossSpringForward_keepsOnePerLocalDay() throws Exception {
    ZoneId berlin = ZoneId.of("Europe/Berlin");
    // 2026-03-29 has 23 hours in Berlin; 00:30 local each day is 23:30 UTC before the change, 22:30 after.
    List<RetentionSnapshot> s = List.of(
        zoned("28", "2026-03-28T00:30+01:00[Europe/Berlin]"),
        zoned("29-early", "2026-03-29T00:30+01:00[Europe/Berlin]"),
        zoned("29-late", "2026-03-29T23:30+02:00[Europe/Berlin]"),
        zoned("30", "2026-03-30T00:30+02:00[Europe/Berlin]"));

    RetentionPlan plan = Retention.plan(s, policy(RetentionPolicy.builder().keepDaily(3)), berlin);

    assertThat(kept(plan)).containsExactly(
        Map.entry("30", List.of("daily 2026-03-30")),
        Map.entry("29-late", List.of("daily 2026-03-29")),
        Map.entry("28", List.of("daily 2026-03-28")));
    // In UTC, 29-late (21:30Z) and 30 (22:30Z on the 29th) are the same day.
    assertThat(removed(Retention.plan(s, policy(RetentionPolicy.builder().keepDaily(3)), UTC)))
        .containsExactly("29-late");
  }

  @Test
  void plan_examplesOfRetentionMd_matchTheDocs() throws Exception {
    List<RetentionSnapshot> s = List.of(
        snap("e", "web", "2026-11-23T01:00:00Z"),
        snap("d", "web", "2026-11-22T23:00:00Z"),
        snap("c", "web", "2026-11-22T03:00:00Z"),
        snap("b", "web", "2026-11-16T03:00:00Z"),
        snap("a", "web", "2026-11-01T03:00:00Z"));

    assertThat(kept(Retention.plan(s, policy(RetentionPolicy.builder().keepLast(2)), UTC))).containsExactly(
        Map.entry("e", List.of("last 1")), Map.entry("d", List.of("last 2")));
    assertThat(kept(Retention.plan(s, policy(RetentionPolicy.builder().keepDaily(2)), UTC))).containsExactly(
        Map.entry("e", List.of("daily 2026-11-23")), Map.entry("d", List.of("daily 2026-11-22")));
    assertThat(kept(Retention.plan(s, policy(RetentionPolicy.builder().keepLast(1).keepWeekly(2)), UTC)))
        .containsExactly(
            Map.entry("e", List.of("last 1", "weekly 2026-W48")), Map.entry("d", List.of("weekly 2026-W47")));
  }

  @Test
  void plan_noRules_keepsEverything() {
    List<RetentionSnapshot> s = List.of(
        snap("a", "web", "2026-11-19T03:00:00Z"), snap("b", "web", "2026-11-20T03:00:00Z"));

    RetentionPlan plan = Retention.plan(s, RetentionPolicy.keepAll(), UTC);

    assertThat(removed(plan)).isEmpty();
    assertThat(kept(plan)).containsExactly(
        Map.entry("b", List.of("no retention rules")), Map.entry("a", List.of("no retention rules")));
  }

  @Test
  void plan_allZeroWithExplicitPermission_removesEverything() throws Exception {
    List<RetentionSnapshot> s = List.of(
        snap("a", "web", "2026-11-19T03:00:00Z"), snap("b", "web", "2026-11-20T03:00:00Z"));

    RetentionPlan plan = Retention.plan(s, policy(RetentionPolicy.builder().keepLast(0).allowRemoveAll(true)), UTC);

    assertThat(plan.keep()).isEmpty();
    assertThat(removed(plan)).containsExactly("b", "a");
  }

  @Test
  void of_listedSnapshot_takesDigestContainerAndCreated() {
    io.jmigrate.blob.Digest digest = io.jmigrate.blob.Digest.of(new byte[] {1});
    io.jmigrate.blob.Descriptor index = io.jmigrate.blob.Descriptor.of("application/vnd.oci.image.index.v1+json",
        null, digest, 10, Map.of(SnapshotSummary.CONTAINER, "web", SnapshotSummary.CREATED, "2026-11-20T03:00:00Z"));
    SnapshotSummary listed =
        SnapshotSummary.fromTag(io.jmigrate.store.Tag.of("web-20261120T030000Z", index)).orElseThrow();

    assertThat(RetentionSnapshot.of(listed))
        .isEqualTo(new RetentionSnapshot(digest.toString(), "web", Instant.parse("2026-11-20T03:00:00Z")));
  }

  @Test
  void plan_nothingToPlan_isEmpty() throws Exception {
    RetentionPlan plan = Retention.plan(List.of(), policy(RetentionPolicy.builder().keepLast(1)), UTC);

    assertThat(plan.decisions()).isEmpty();
    assertThat(plan.containers()).isEmpty();
  }

  @Test
  void plan_sameContainerNameOnTwoHosts_keepsEachHostsNewest() throws Exception {
    RetentionPlan plan = Retention.plan(List.of(
        new RetentionSnapshot("a1", "web", "host-a", Instant.parse("2026-11-20T02:30:00Z")),
        new RetentionSnapshot("a2", "web", "host-a", Instant.parse("2026-11-21T02:30:00Z")),
        new RetentionSnapshot("b1", "web", "host-b", Instant.parse("2026-11-20T02:30:01Z")),
        new RetentionSnapshot("b2", "web", "host-b", Instant.parse("2026-11-21T02:30:01Z"))),
        RetentionPolicy.builder().keepLast(1).build(), UTC);

    assertThat(kept(plan).keySet()).containsExactlyInAnyOrder("a2", "b2");
    assertThat(removed(plan)).containsExactlyInAnyOrder("a1", "b1");
  }
}
