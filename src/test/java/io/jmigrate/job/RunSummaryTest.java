package io.jmigrate.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link RunSummary}. */
class RunSummaryTest {
  private static final Instant T0 = Instant.parse("2026-11-20T03:00:00Z");

  static RunSummary partial() {
    return RunSummary.builder("nightly")
        .host("unix:///var/run/docker.sock")
        .repositories(List.of("/var/backups/jmigrate", "s3://b-1/p"))
        .started(T0)
        .finished(T0.plusSeconds(125))
        .add(RunSummary.ContainerResult.success("web", "/var/backups/jmigrate", "3f2a9c1b0d4e", 52_428_800,
            Duration.ofSeconds(61)))
        .add(RunSummary.ContainerResult.failure("web", "s3://b-1/p", Duration.ofSeconds(3),
            "upload of layer sha256:ab12 to s3://b-1/p failed: 503 Slow Down; run again later"))
        .build();
  }

  @Test
  void toJson_partialRun_hasEveryDocumentedField() throws Exception {
    JsonNode n = new ObjectMapper().readTree(partial().toJson(false));

    assertThat(n.get("version").asInt()).isEqualTo(1);
    assertThat(n.get("job").asText()).isEqualTo("nightly");
    assertThat(n.get("host").asText()).isEqualTo("unix:///var/run/docker.sock");
    assertThat(n.get("repositories").toString()).isEqualTo("[\"/var/backups/jmigrate\",\"s3://b-1/p\"]");
    assertThat(n.get("started").asText()).isEqualTo("2026-11-20T03:00:00Z");
    assertThat(n.get("finished").asText()).isEqualTo("2026-11-20T03:02:05Z");
    assertThat(n.get("durationMillis").asLong()).isEqualTo(125_000);
    assertThat(n.get("status").asText()).isEqualTo("partial");
    assertThat(n.get("error").isNull()).isTrue();
    JsonNode ok = n.get("containers").get(0);
    assertThat(ok.get("container").asText()).isEqualTo("web");
    assertThat(ok.get("status").asText()).isEqualTo("success");
    assertThat(ok.get("snapshot").asText()).isEqualTo("3f2a9c1b0d4e");
    assertThat(ok.get("bytes").asLong()).isEqualTo(52_428_800);
    assertThat(ok.get("durationMillis").asLong()).isEqualTo(61_000);
    assertThat(ok.get("error").isNull()).isTrue();
    JsonNode bad = n.get("containers").get(1);
    assertThat(bad.get("status").asText()).isEqualTo("failed");
    assertThat(bad.get("snapshot").isNull()).isTrue();
    assertThat(bad.get("error").asText()).startsWith("upload of layer");
  }

  @Test
  void fromJson_roundTrip_keepsEverything() throws Exception {
    RunSummary s = partial();

    RunSummary back = RunSummary.fromJson(s.toJson(true));

    assertThat(back.toJson(false)).isEqualTo(s.toJson(false));
    assertThat(back.containers()).isEqualTo(s.containers());
  }

  @Test
  void fromJson_notASummary_isRefused() {
    assertThatThrownBy(() -> RunSummary.fromJson("{\"a\":1}".getBytes(StandardCharsets.UTF_8)))
        .hasMessage("not a jmigrate run summary (version 1)");
  }

  @Test
  void status_isComputedFromResults() {
    RunSummary.ContainerResult ok = RunSummary.ContainerResult.success("a", "/r", "id", 1, Duration.ZERO);
    RunSummary.ContainerResult bad = RunSummary.ContainerResult.failure("b", "/r", Duration.ZERO, "x failed");

    assertThat(RunSummary.Status.of(List.of(ok, ok), null)).isEqualTo(RunSummary.Status.SUCCESS);
    assertThat(RunSummary.Status.of(List.of(ok, bad), null)).isEqualTo(RunSummary.Status.PARTIAL);
    assertThat(RunSummary.Status.of(List.of(ok), "repository /s is locked")).isEqualTo(RunSummary.Status.PARTIAL);
    assertThat(RunSummary.Status.of(List.of(bad), null)).isEqualTo(RunSummary.Status.FAILED);
    // A run that backed up nothing failed: a selection that matches nothing is usually a mistake.
    assertThat(RunSummary.Status.of(List.of(), null)).isEqualTo(RunSummary.Status.FAILED);
  }

  @Test
  void writeTo_writesIndentedJsonAndReplacesAtomically(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("summary.json");
    Files.writeString(f, "old");

    partial().writeTo(f);

    assertThat(Files.readString(f)).startsWith("{\n").contains("\"status\" : \"partial\"");
    assertThat(RunSummary.fromJson(Files.readAllBytes(f)).status()).isEqualTo(RunSummary.Status.PARTIAL);
    try (var files = Files.list(dir)) {
      assertThat(files).containsExactly(f);
    }
  }

  @Test
  void build_finishedBeforeStarted_isRefused() {
    assertThatThrownBy(() -> RunSummary.builder("j").started(T0).finished(T0.minusSeconds(1)).build())
        .isInstanceOf(IllegalArgumentException.class);
  }
}
