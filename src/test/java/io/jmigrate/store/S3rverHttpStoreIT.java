package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.MediaTypes;
import io.jmigrate.testing.S3rverServer;
import java.io.OutputStream;
import java.nio.file.Files;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tests for {@link S3Store} against s3rver over plain http, where s3rver stores an {@code aws-chunked} body as it
 * came: the contract with the default chunked signing (auto: off for an endpoint), and the check that catches the
 * framing when chunked signing is forced on.
 */
class S3rverHttpStoreIT extends S3rverContract {
  private static S3rverServer server;

  @BeforeAll
  static void startServer() throws Exception {
    server = S3rverServer.startHttp();
    useServerCredentials();
  }

  @AfterAll
  static void stopServer() throws Exception {
    forgetCredentials();
    if (server != null) {
      server.close();
    }
  }

  @Override
  protected S3rverServer server() {
    return server;
  }

  private Store chunkedSigningOn() throws StoreException {
    return Stores.open(url(), server.storeOptions().s3PartSize(PART).s3Concurrency(2)
        .s3ChunkedSigning(StoreOptions.ChunkedSigning.ON).build());
  }

  @Test
  void putBlob_autoChunkedSigningOverHttp_storesExactlyTheBytesSent() throws Exception {
    byte[] content = randomBytes(70_000, 21);

    Descriptor d = store.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, content);

    assertThat(Files.readAllBytes(server.objectFile(bucket, "repo/blobs/sha256/" + d.digest().hex())))
        .isEqualTo(content);
  }

  @Test
  void putBlob_chunkedSigningOnOverHttp_failsNamingTheFramingAndTheOptionAndKeepsNothing() throws Exception {
    byte[] content = randomBytes(10_000, 22);
    try (Store on = chunkedSigningOn()) {
      assertThatThrownBy(() -> on.putBlob(MediaTypes.SNAPSHOT_DOCUMENT, content))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("blobs/sha256/" + Digest.of(content).hex())
          .hasMessageContaining(server.endpoint() + " stored ")
          .hasMessageContaining(" bytes for the 10000 sent (it kept the aws-chunked framing")
          .hasMessageContaining("use --s3-chunked-signing off")
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
      assertThat(on.hasBlob(Digest.of(content))).as("the mangled object is deleted").isFalse();
    }
  }

  @Test
  void commit_chunkedSigningOnOverHttpMultipart_failsAndLeavesNothing() throws Exception {
    byte[] content = randomBytes(12 * MIB, 23);
    Digest digest = Digest.of(content);
    try (Store on = chunkedSigningOn(); BlobUpload up = on.startUpload()) {
      OutputStream out = up.stream();
      for (int off = 0; off < content.length; off += 1 << 20) {
        out.write(content, off, 1 << 20);
      }

      assertThatThrownBy(() -> up.commit(MediaTypes.VOLUME_TAR_ZSTD, digest, content.length))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining(" bytes for the " + content.length + " sent")
          .hasMessageContaining("use --s3-chunked-signing off");
      assertThat(on.hasBlob(digest)).isFalse();
    }
    assertThat(stagingLeftovers()).isEmpty();
  }
}
