package io.jmigrate.migrate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.migrate.ServiceOrder.Condition;
import io.jmigrate.migrate.ServiceOrder.Dependency;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tests for {@link ServiceOrder}. */
class ServiceOrderTest {
  /** A container of a service, with its depends_on label. */
  private record C(String name, String service, String dependsOn) {
    List<Dependency> deps() {
      return ServiceOrder.parse(dependsOn);
    }
  }

  private static List<String> order(C... cs) {
    return ServiceOrder.sort(List.of(cs), C::service, C::deps).stream().map(C::name).toList();
  }

  @Test
  void parse_composeV2Label_givesServiceConditionAndRestart() {
    assertThat(ServiceOrder.parse("db:service_started:false,cache:service_healthy:true"))
        .containsExactly(new Dependency("db", Condition.SERVICE_STARTED, false),
            new Dependency("cache", Condition.SERVICE_HEALTHY, true));
  }

  @Test
  void parse_olderTwoPartEntriesAndBareNames_defaultTheRest() {
    assertThat(ServiceOrder.parse("migrate:service_completed_successfully, db"))
        .containsExactly(new Dependency("migrate", Condition.SERVICE_COMPLETED_SUCCESSFULLY, false),
            new Dependency("db", Condition.SERVICE_STARTED, false));
  }

  @Test
  void parse_nullOrBlank_isEmpty() {
    assertThat(ServiceOrder.parse(null)).isEmpty();
    assertThat(ServiceOrder.parse("  ")).isEmpty();
  }

  @Test
  void parse_unknownCondition_failsQuotingTheEntry() {
    assertThatThrownBy(() -> ServiceOrder.parse("db:service_ready:false"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown depends_on condition 'service_ready' in 'db:service_ready:false'")
        .hasMessageContaining("service_healthy");
  }

  @Test
  void parse_tooManyParts_failsQuotingTheEntry() {
    assertThatThrownBy(() -> ServiceOrder.parse("db:service_started:false:x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot read depends_on entry 'db:service_started:false:x'");
  }

  @Test
  void sort_dependencyListedLater_comesFirst() {
    assertThat(order(new C("app-web-1", "web", "db:service_started:false,cache:service_healthy:true"),
        new C("app-db-1", "db", null), new C("app-cache-1", "cache", "db:service_started:false")))
        .containsExactly("app-db-1", "app-cache-1", "app-web-1");
  }

  @Test
  void sort_noDependencies_keepsTheGivenOrder() {
    assertThat(order(new C("b", "b", null), new C("a", "a", null), new C("c", "c", null)))
        .containsExactly("b", "a", "c");
  }

  @Test
  void sort_scaledService_everyReplicaComesBeforeTheDependent() {
    assertThat(order(new C("web-1", "web", "db"), new C("db-1", "db", null), new C("db-2", "db", null)))
        .containsExactly("db-1", "db-2", "web-1");
  }

  @Test
  void sort_dependencyOnAServiceNotMoved_isIgnored() {
    assertThat(order(new C("web-1", "web", "db"))).containsExactly("web-1");
    assertThat(ServiceOrder.unknownDependencies(List.of(new C("web-1", "web", "db")), C::service, C::deps))
        .containsExactly("web -> db");
  }

  @Test
  void sort_cycle_failsNamingTheServices() {
    assertThatThrownBy(() -> order(new C("a-1", "a", "b"), new C("b-1", "b", "a"), new C("c-1", "c", null)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the services a, b depend on each other");
  }

  @Test
  void sort_selfDependency_isNotACycle() {
    assertThat(order(new C("a-1", "a", "a"))).containsExactly("a-1");
  }
}
