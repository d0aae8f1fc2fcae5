package io.jmigrate.engine;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * Reads the multiplexed stream of attach and exec without a TTY (Engine API, "Attach to a container", stream
 * format): frames of an 8-byte header {@code [stream, 0, 0, 0, size (4 bytes, big endian)]} then {@code size}
 * bytes, where stream is 0 stdin, 1 stdout, 2 stderr. Output is split into lines per stream.
 */
final class Demux {
  private static final int MAX_LINE = 1 << 20;

  private Demux() {}

  /** Sends each complete line of stdout and stderr to {@code lines} (without the newline), then any rest. */
  static void lines(InputStream in, Consumer<String> lines) throws IOException {
    ByteArrayOutputStream[] pending = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};
    byte[] header = new byte[8];
    byte[] buf = new byte[8192];
    while (true) {
      int n = in.readNBytes(header, 0, 8);
      if (n == 0) {
        break;
      }
      if (n < 8) {
        throw new EOFException("truncated stream frame header");
      }
      int kind = header[0];
      long size =
          ((header[4] & 0xffL) << 24) | ((header[5] & 0xffL) << 16) | ((header[6] & 0xffL) << 8) | (header[7] & 0xffL);
      ByteArrayOutputStream line = pending[kind == 2 ? 1 : 0];
      while (size > 0) {
        int r = in.read(buf, 0, (int) Math.min(buf.length, size));
        if (r < 0) {
          throw new EOFException("truncated stream frame");
        }
        size -= r;
        for (int i = 0; i < r; i++) {
          if (buf[i] == '\n') {
            emit(line, lines);
          } else {
            line.write(buf[i]);
            if (line.size() >= MAX_LINE) {
              emit(line, lines); // a runaway line is cut rather than held whole
            }
          }
        }
      }
    }
    for (ByteArrayOutputStream p : pending) {
      if (p.size() > 0) {
        emit(p, lines);
      }
    }
  }

  private static void emit(ByteArrayOutputStream line, Consumer<String> lines) {
    String s = line.toString(StandardCharsets.UTF_8);
    line.reset();
    lines.accept(s.endsWith("\r") ? s.substring(0, s.length() - 1) : s);
  }
}
