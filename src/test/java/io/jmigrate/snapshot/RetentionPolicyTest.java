package io.jmigrate.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Tests for {@link RetentionPolicy}. */
class RetentionPolicyTest {

  @Test
  void build_negativeCount_namesTheRule() {
    assertThatThrownBy(() -> RetentionPolicy.builder().keepLast(2).keepWeekly(-1).build())
        .isInstanceOf(RetentionException.class)
        .hasMessage("keep-weekly is -1; expected a whole number, 0 or more");
  }

  @Test
  void build_allZero_isRefusedUnlessAllowed() throws Exception {
    assertThatThrownBy(() -> RetentionPolicy.builder().keepLast(0).keepDaily(0).build())
        .isInstanceOf(RetentionException.class)
        .hasMessage("the retention policy (keep-last 0, keep-daily 0) keeps no snapshot, so every snapshot would be"
            + " removed; expected at least one keep-* above 0 (to really remove everything, allow it explicitly)");

    RetentionPolicy p = RetentionPolicy.builder().keepLast(0).keepDaily(0).allowRemoveAll(true).build();
    assertThat(p.keepsNothing()).isTrue();
    assertThat(p.allowRemoveAll()).isTrue();
  }

  @Test
  void build_noRules_keepsEverything() throws Exception {
    RetentionPolicy p = RetentionPolicy.builder().build();

    assertThat(p.hasRules()).isFalse();
    assertThat(p.keepsNothing()).isFalse();
    assertThat(p).isEqualTo(RetentionPolicy.keepAll());
    assertThat(p.toString()).isEqualTo("keep everything");
  }

  @Test
  void build_someRules_reportsThemInRuleOrder() throws Exception {
    RetentionPolicy p = RetentionPolicy.builder().keepYearly(1).keepDaily(7).keepLast(3).build();

    assertThat(p.toString()).isEqualTo("keep-last 3, keep-daily 7, keep-yearly 1");
    assertThat(p.keep(RetentionPolicy.Rule.DAILY)).isEqualTo(7);
    assertThat(p.count(RetentionPolicy.Rule.HOURLY)).isEmpty();
    assertThat(p.keep(RetentionPolicy.Rule.HOURLY)).isZero();
  }

  @Test
  void fromKey_knownAndUnknownKeys() {
    assertThat(RetentionPolicy.Rule.fromKey("keep-monthly")).contains(RetentionPolicy.Rule.MONTHLY);
    assertThat(RetentionPolicy.Rule.fromKey("keep-daly")).isEmpty();
  }
}
