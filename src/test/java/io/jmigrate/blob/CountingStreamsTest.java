package io.jmigrate.blob;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Tests for {@link CountingInputStream} and {@link CountingOutputStream}. */
class CountingStreamsTest {

  private static byte[] random(int n) {
    byte[] b = new byte[n];
    new Random(7).nextBytes(b);
    return b;
  }

  /** Records what a listener hears. */
  private static final class Heard implements TransferListener.Transfer {
    final AtomicLong bytes = new AtomicLong();
    final AtomicBoolean closed = new AtomicBoolean();

    @Override
    public void transferred(long n) {
      bytes.addAndGet(n);
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  @Test
  void read_mixedReadsAndSkips_passesBytesThroughAndCountsEach() throws IOException {
    byte[] data = random(100_000);
    Heard heard = new Heard();
    ByteArrayOutputStream copy = new ByteArrayOutputStream();
    try (CountingInputStream in = new CountingInputStream(new ByteArrayInputStream(data), heard)) {
      copy.write(in.read());
      copy.write(in.readNBytes(999));
      assertThat(in.skip(1000)).isEqualTo(1000);
      in.transferTo(copy);
      assertThat(in.count()).isEqualTo(data.length);
      assertThat(in.markSupported()).isFalse();
    }
    byte[] expected = new byte[data.length - 1000];
    System.arraycopy(data, 0, expected, 0, 1000);
    System.arraycopy(data, 2000, expected, 1000, data.length - 2000);
    assertThat(copy.toByteArray()).isEqualTo(expected);
    assertThat(heard.bytes.get()).isEqualTo(data.length);
  }

  @Test
  void write_bytesAndArrays_passesThroughCountsAndLeavesTheTargetOpen() throws IOException {
    byte[] data = random(50_000);
    Heard heard = new Heard();
    AtomicBoolean targetClosed = new AtomicBoolean();
    ByteArrayOutputStream sink = new ByteArrayOutputStream() {
      @Override
      public void close() {
        targetClosed.set(true);
      }
    };
    try (OutputStream out = new CountingOutputStream(sink, heard)) {
      out.write(data[0]);
      out.write(data, 1, data.length - 1);
    }
    assertThat(sink.toByteArray()).isEqualTo(data);
    assertThat(heard.bytes.get()).isEqualTo(data.length);
    assertThat(targetClosed).as("the caller owns the wrapped stream").isFalse();
  }

  @Test
  void none_listener_hearsNothingAndCostsNothing() throws IOException {
    try (TransferListener.Transfer t = TransferListener.NONE.start("x", 10);
        InputStream in = new CountingInputStream(new ByteArrayInputStream(new byte[10]), t)) {
      assertThat(in.readAllBytes()).hasSize(10);
      assertThat(t).isSameAs(TransferListener.Transfer.NONE);
    }
  }
}
