package io.jmigrate.archive;

import io.jmigrate.blob.Digest;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * Writes a tar that {@code POST /images/load} accepts, in the legacy layout every engine reads: the config as
 * {@code <hex>.json}, each sent layer as {@code <diffId hex>/layer.tar}, and {@code manifest.json} listing every
 * layer. A "thin" archive omits the layer files of a bottom prefix the target already has (found by chain id):
 * the engine looks each chain up before opening the file (see docs/engine-notes in shared notes).
 *
 * <p>Does not close the underlying stream.
 */
public final class LoadArchiveWriter implements Closeable {
  // TODO(archive): implemented by the archive work.

  public LoadArchiveWriter(OutputStream out) {
    throw new UnsupportedOperationException("LoadArchiveWriter");
  }

  /** Writes the image config; must come first. */
  public void writeConfig(byte[] config) throws IOException {
    throw new UnsupportedOperationException();
  }

  /**
   * Writes one layer's uncompressed tar, which must be exactly {@code size} bytes with digest {@code diffId}
   * (checked; a mismatch fails). The caller closes {@code content}.
   */
  public void writeLayer(Digest diffId, long size, InputStream content) throws IOException {
    throw new UnsupportedOperationException();
  }

  /** Writes manifest.json naming all {@code diffIds} (sent or not) and the tags, then ends the tar. */
  public void finish(List<Digest> diffIds, List<String> repoTags) throws IOException {
    throw new UnsupportedOperationException();
  }

  @Override
  public void close() throws IOException {
    throw new UnsupportedOperationException();
  }
}
