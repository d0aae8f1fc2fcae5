package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestingOutputStream;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.testing.RegistryServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tests for {@link RegistryStore} when the registry goes away: retries, then a clear failure. */
class RegistryFailureIT {

  private static long total(RegistryStore store) {
    return store.requestCounts().values().stream().mapToLong(Long::longValue).sum();
  }

  @Test
  void upload_serverStoppedMidUpload_retriesThenFailsAndPublishesNothing() throws Exception {
    try (RegistryServer server = RegistryServer.start()) {
      RegistryStore.Settings s = RegistryStoreIT.testSettings(server.dir().resolve("none"));
      s.chunkSize = 256 * 1024;
      Digest digest;
      try (RegistryStore store = RegistryStoreIT.open(server, "jm/stopped", s)) {
        BlobUpload up = store.startUpload();
        DigestingOutputStream d = new DigestingOutputStream(up.stream());
        RegistryStoreIT.writeRandom(d, 600_000, 1);
        // Full chunks go up on a sender thread while the writer goes on; wait for them before counting.
        ((RegistryBlobUpload) up).awaitSent();
        assertThat(store.requestCounts()).containsEntry("PATCH", 2L);
        long before = total(store);

        server.stop();

        // The third chunk goes up on the sender thread; its failure surfaces at the writer's next wait.
        assertThatThrownBy(() -> {
          RegistryStoreIT.writeRandom(d, 300_000, 2);
          ((RegistryBlobUpload) up).awaitSent();
        })
            .isInstanceOf(IOException.class)
            .hasMessageContaining("did not answer")
            .hasMessageContaining("after 3 attempts")
            .hasMessageContaining(server.hostPort());
        assertThat(total(store) - before).as("requests including retries").isGreaterThanOrEqualTo(3);
        digest = Digest.of(new byte[0]);
        Digest any = digest;
        assertThatThrownBy(() -> up.commit(MediaTypes.OCI_LAYER_GZIP, any, 900_000))
            .isInstanceOf(StoreException.class)
            .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.UNAVAILABLE);
        up.close();
      }

      server.restart();
      try (RegistryStore fresh = RegistryStoreIT.open(server, "jm/stopped",
          RegistryStoreIT.testSettings(server.dir().resolve("none")))) {
        assertThat(fresh.listTags()).isEmpty();
        assertThat(fresh.listTagNames()).isEmpty();
      }
    }
  }

  @Test
  void hasBlob_registryDown_failsUnavailableNamingRegistry() throws Exception {
    try (RegistryServer server = RegistryServer.start()) {
      server.stop();
      try (RegistryStore store = RegistryStoreIT.open(server, "jm/down",
          RegistryStoreIT.testSettings(server.dir().resolve("none")))) {
        Digest digest = Digest.of("x".getBytes(StandardCharsets.UTF_8));

        assertThatThrownBy(() -> store.hasBlob(digest))
            .isInstanceOf(StoreException.class)
            .hasMessageContaining("cannot reach registry " + server.hostPort())
            .hasMessageContaining("check that it is running")
            .extracting(e -> ((StoreException) e).kind()).isEqualTo(StoreException.Kind.UNAVAILABLE);
      }
    }
  }

  @Test
  void putBlob_registryBackWithinRetries_succeeds() throws Exception {
    try (RegistryServer server = RegistryServer.start()) {
      RegistryStore.Settings s = RegistryStoreIT.testSettings(server.dir().resolve("none"));
      s.retry = new RegistryClient.Retry(8, Duration.ofMillis(300), Duration.ofSeconds(2));
      try (RegistryStore store = RegistryStoreIT.open(server, "jm/flaky", s)) {
        store.putBlob(MediaTypes.OCI_CONFIG, "first".getBytes(StandardCharsets.UTF_8));
        server.stop();
        Thread restarter = new Thread(() -> {
          try {
            Thread.sleep(700);
            server.restart();
          } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
          }
        });
        restarter.start();

        Descriptor d = store.putBlob(MediaTypes.OCI_CONFIG, "second".getBytes(StandardCharsets.UTF_8));
        restarter.join();

        assertThat(store.hasBlob(d.digest())).isTrue();
        Map<String, Long> counts = store.requestCounts();
        assertThat(counts.get("HEAD")).as("the HEAD was retried").isGreaterThan(2L);
      }
    }
  }
}
