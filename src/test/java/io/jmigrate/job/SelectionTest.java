package io.jmigrate.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tests for {@link Selection}. */
class SelectionTest {

  @Test
  void matches_names_ignoresTheEnginesLeadingSlash() {
    Selection s = new Selection.Names(List.of("web", "db"));

    assertThat(s.matches("/web", Map.of())).isTrue();
    assertThat(s.matches("db", Map.of())).isTrue();
    assertThat(s.matches("web2", Map.of())).isFalse();
  }

  @Test
  void matches_labels_requiresEveryEntryAndNullMeansPresent() {
    Map<String, String> selector = new HashMap<>();
    selector.put("backup", "nightly");
    selector.put("tier", null);
    Selection s = new Selection.Labels(selector);

    assertThat(s.matches("a", Map.of("backup", "nightly", "tier", "db"))).isTrue();
    assertThat(s.matches("a", Map.of("backup", "nightly", "tier", ""))).isTrue();
    assertThat(s.matches("a", Map.of("backup", "nightly"))).isFalse();
    assertThat(s.matches("a", Map.of("backup", "weekly", "tier", "db"))).isFalse();
  }

  @Test
  void matches_project_usesTheComposeLabel() {
    Selection s = new Selection.Project("shop");

    assertThat(s.matches("shop-web-1", Map.of("com.docker.compose.project", "shop"))).isTrue();
    assertThat(s.matches("shop-web-1", Map.of("com.docker.compose.project", "shop2"))).isFalse();
    assertThat(s.matches("shop-web-1", Map.of())).isFalse();
    assertThat(s.display()).isEqualTo("project shop");
  }

  @Test
  void constructors_emptySelections_areRefused() {
    assertThatThrownBy(() -> new Selection.Names(List.of())).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Selection.Labels(Map.of())).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Selection.Project(" ")).isInstanceOf(IllegalArgumentException.class);
  }
}
