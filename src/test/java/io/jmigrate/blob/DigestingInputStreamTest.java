package io.jmigrate.blob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Tests for {@link DigestingInputStream} and {@link DigestingOutputStream}. */
class DigestingInputStreamTest {
  private static final byte[] DATA = "hello, blobs".getBytes(StandardCharsets.UTF_8);

  @Test
  void read_expectedContent_passesAndCounts() throws Exception {
    DigestingInputStream in = new DigestingInputStream(new ByteArrayInputStream(DATA), Digest.of(DATA), DATA.length,
        "blob x");
    assertThat(in.readAllBytes()).isEqualTo(DATA);
    assertThat(in.digest()).isEqualTo(Digest.of(DATA));
    assertThat(in.count()).isEqualTo(DATA.length);
  }

  @Test
  void read_flippedByte_failsAtEndNamingTheBlob() {
    byte[] bad = DATA.clone();
    bad[3] ^= 1;
    DigestingInputStream in = new DigestingInputStream(new ByteArrayInputStream(bad), Digest.of(DATA), DATA.length,
        "volume data of snapshot abc");
    assertThatThrownBy(in::readAllBytes).isInstanceOf(DigestMismatchException.class)
        .hasMessageContaining("volume data of snapshot abc is corrupt").hasMessageContaining(Digest.of(DATA).toString());
  }

  @Test
  void read_longerThanRecorded_failsBeforeTheEnd() {
    byte[] longer = new byte[DATA.length + 10];
    DigestingInputStream in = new DigestingInputStream(new ByteArrayInputStream(longer), Digest.of(DATA), DATA.length,
        "blob y");
    assertThatThrownBy(() -> in.readNBytes(longer.length)).isInstanceOf(DigestMismatchException.class)
        .hasMessageContaining("is corrupt: longer than its recorded size");
  }

  @Test
  void close_digestingOutputStream_leavesCallersStreamOpen() throws Exception {
    boolean[] closed = new boolean[1];
    OutputStream sink = new ByteArrayOutputStream() {
      @Override
      public void close() {
        closed[0] = true;
      }
    };
    DigestingOutputStream out = new DigestingOutputStream(sink);
    out.write(DATA);
    out.close();
    assertThat(closed[0]).isFalse();
    assertThat(out.digest()).isEqualTo(Digest.of(DATA));
    assertThat(out.count()).isEqualTo(DATA.length);
  }
}
