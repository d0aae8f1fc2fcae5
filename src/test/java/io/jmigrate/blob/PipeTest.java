package io.jmigrate.blob;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Tests for {@link Pipe}. */
class PipeTest {
  @Test
  void produce_largeStream_arrivesWholeWithSameDigest() throws Exception {
    long size = 300L * 1024 * 1024 + 7;
    DigestingOutputStream expected = new DigestingOutputStream(OutputStream.nullOutputStream());
    try (InputStream in = Pipe.produce("test", out -> write(out, size, 1, expected))) {
      DigestingInputStream got = new DigestingInputStream(in);
      got.drain();
      assertThat(got.count()).isEqualTo(size);
      assertThat(got.digest()).isEqualTo(expected.digest());
    }
  }

  @Test
  void read_producerFails_readerGetsTheFailureNotAShortStream() {
    InputStream in = Pipe.produce("failing", out -> {
      out.write(new byte[3 << 20]);
      throw new IOException("disk on fire");
    });
    assertThatThrownBy(in::readAllBytes).isInstanceOf(IOException.class).hasMessageContaining("disk on fire");
  }

  @Test
  void close_beforeTheEnd_stopsTheProducer() throws Exception {
    AtomicBoolean stopped = new AtomicBoolean();
    InputStream in = Pipe.produce("endless", out -> {
      try {
        byte[] b = new byte[65536];
        while (true) {
          out.write(b);
        }
      } catch (IOException e) {
        stopped.set(true);
        throw e;
      }
    });
    in.readNBytes(1 << 20);
    in.close();
    assertThat(stopped).isTrue();
  }

  private static void write(OutputStream out, long size, long seed, DigestingOutputStream copy) throws IOException {
    SplittableRandom r = new SplittableRandom(seed);
    byte[] buf = new byte[65536];
    long left = size;
    while (left > 0) {
      int n = (int) Math.min(buf.length, left);
      for (int i = 0; i < n; i += 8) {
        long v = r.nextLong();
        for (int j = 0; j < 8 && i + j < n; j++) {
          buf[i + j] = (byte) (v >>> (8 * j));
        }
      }
      out.write(buf, 0, n);
      copy.write(buf, 0, n);
      left -= n;
    }
  }
}
