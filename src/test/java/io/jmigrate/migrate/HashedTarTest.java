package io.jmigrate.migrate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.blob.Digest;
import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Tests for {@link HashedTar}. */
class HashedTarTest {
  private static byte[] bytes(int n) {
    byte[] b = new byte[n];
    new Random(7).nextBytes(b);
    return b;
  }

  @Test
  void close_readerStoppedBeforeAShortTail_digestCoversTheWholeStream() throws IOException {
    byte[] content = bytes(3 << 20);
    HashedTar in = HashedTar.open("t", out -> out.write(content));
    try (in) {
      // Like a tar reader that stops at the end-of-archive blocks and leaves the padding.
      assertThat(in.readNBytes(content.length - 10_240)).hasSize(content.length - 10_240);
    }
    assertThat(in.diffId()).isEqualTo(Digest.of(content));
    assertThat(in.bytes()).isEqualTo(content.length);
  }

  @Test
  void close_readerStoppedFarFromTheEnd_hasNoDigest() throws IOException {
    byte[] content = bytes(8 << 20);
    HashedTar in = HashedTar.open("t", out -> out.write(content));
    try (in) {
      in.readNBytes(1000);
    }
    assertThatThrownBy(in::diffId).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not read to its end");
  }

  @Test
  void read_producerFails_theReaderSeesTheFailure() {
    HashedTar in = HashedTar.open("t", out -> {
      out.write(bytes(1000));
      throw new IOException("cannot read volume data at /var/lib/data: gone");
    });
    assertThatThrownBy(() -> {
      try (in) {
        in.readAllBytes();
      }
    }).isInstanceOf(IOException.class).hasMessageContaining("gone");
  }
}
