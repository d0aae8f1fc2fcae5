package io.jmigrate.restore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.jmigrate.engine.Engine;
import io.jmigrate.engine.EngineException;
import java.time.Duration;
import java.time.Instant;

/**
 * Waits until a started container runs, or is healthy when it has a healthcheck. A container that exits or turns
 * unhealthy fails at once, with its state in the message.
 */
public final class Readiness {
  private static final Duration POLL = Duration.ofMillis(250);

  private Readiness() {}

  /** The state reached: "running" or "healthy". */
  public static String await(Engine engine, String container, String name, Duration timeout)
      throws EngineException, RestoreException {
    Instant deadline = Instant.now().plus(timeout);
    // A container must stay up for a moment to count as running: one that crashes at once would otherwise pass.
    Instant runningSince = null;
    while (true) {
      JsonNode state = engine.inspectContainer(container).path("State");
      boolean running = state.path("Running").asBoolean();
      // Podman (4.3) reports a Health object with an empty Status for a container without a health check; only a
      // status says there is one.
      JsonNode health = state.path("Health").path("Status").asText("").isEmpty() ? MissingNode.getInstance()
          : state.path("Health");
      if (!running && !state.path("Restarting").asBoolean()) {
        throw new RestoreException("container " + name + " on " + engine.display() + " exited with code "
            + state.path("ExitCode").asInt() + (state.path("Error").asText("").isEmpty() ? ""
                : " (" + state.path("Error").asText() + ")") + "; see `docker logs " + name + "`");
      }
      if (health.isObject()) {
        String status = health.path("Status").asText();
        if ("healthy".equals(status)) {
          return "healthy";
        }
        if ("unhealthy".equals(status)) {
          JsonNode log = health.path("Log");
          String last = log.size() > 0 ? log.get(log.size() - 1).path("Output").asText("").strip() : "";
          throw new RestoreException("container " + name + " on " + engine.display() + " is unhealthy"
              + (last.isEmpty() ? "" : ": last check said '" + last + "'") + "; see `docker inspect " + name + "`");
        }
      } else if (running) {
        if (runningSince == null) {
          runningSince = Instant.now();
        } else if (Duration.between(runningSince, Instant.now()).compareTo(Duration.ofSeconds(1)) >= 0) {
          return "running";
        }
      }
      if (Instant.now().isAfter(deadline)) {
        throw new RestoreException("container " + name + " on " + engine.display() + " did not become "
            + (health.isObject() ? "healthy" : "running") + " within " + timeout.toSeconds() + " s; raise "
            + "--wait-timeout or check `docker logs " + name + "`");
      }
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RestoreException("interrupted while waiting for container " + name);
      }
    }
  }
}
