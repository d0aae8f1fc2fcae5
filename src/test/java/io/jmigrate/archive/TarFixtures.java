package io.jmigrate.archive;

import io.jmigrate.blob.Digest;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Helpers that build and read small tars in tests. */
final class TarFixtures {
  private TarFixtures() {}

  /** Loads a file from src/test/resources/archive. The caller closes it. */
  static InputStream resource(String name) {
    InputStream in = TarFixtures.class.getResourceAsStream("/archive/" + name);
    if (in == null) {
      throw new IllegalStateException("test resource /archive/" + name + " is missing");
    }
    return in;
  }

  static byte[] resourceBytes(String name) {
    try (InputStream in = resource(name)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A tar builder: files, symlinks and directories, in the order added. */
  static final class Builder {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes);

    Builder() {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    }

    Builder file(String name, byte[] content) {
      try {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(content.length);
        tar.putArchiveEntry(e);
        tar.write(content);
        tar.closeArchiveEntry();
        return this;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    Builder file(String name, String content) {
      return file(name, content.getBytes(StandardCharsets.UTF_8));
    }

    Builder symlink(String name, String target) {
      try {
        TarArchiveEntry e = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
        e.setLinkName(target);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
        return this;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    byte[] build() {
      try {
        tar.finish();
        return bytes.toByteArray();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** A small layer tar with one file of {@code size} bytes derived from {@code seed}. */
  static byte[] layer(String fileName, int size, int seed) {
    byte[] content = new byte[size];
    for (int i = 0; i < size; i++) {
      content[i] = (byte) (i * 31 + seed);
    }
    return new Builder().file(fileName, content).build();
  }

  /** Entry names and contents of a tar, in order. */
  static Map<String, byte[]> entries(byte[] tar) throws IOException {
    Map<String, byte[]> out = new LinkedHashMap<>();
    try (TarArchiveInputStream in = new TarArchiveInputStream(new java.io.ByteArrayInputStream(tar))) {
      TarArchiveEntry e;
      while ((e = in.getNextEntry()) != null) {
        out.put(e.getName(), in.readAllBytes());
      }
    }
    return out;
  }

  static List<String> names(byte[] tar) throws IOException {
    return new ArrayList<>(entries(tar).keySet());
  }

  static Digest sha256(byte[] b) {
    return Digest.of(b);
  }

  static Digest sha256(InputStream in) throws IOException {
    MessageDigest md = Digest.newSha256();
    byte[] buf = new byte[8192];
    int n;
    while ((n = in.read(buf)) >= 0) {
      md.update(buf, 0, n);
    }
    return Digest.of(md);
  }

  /** Records whether close was called. */
  static final class CloseTracking extends FilterInputStream {
    boolean closed;

    CloseTracking(InputStream in) {
      super(in);
    }

    @Override
    public void close() throws IOException {
      closed = true;
      super.close();
    }
  }
}
