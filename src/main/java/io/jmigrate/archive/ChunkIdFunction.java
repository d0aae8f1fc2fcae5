package io.jmigrate.archive;

import io.jmigrate.blob.Digest;
import java.security.DigestException;
import java.security.MessageDigest;

/**
 * Computes a chunk's 32-byte id from its uncompressed bytes (docs/repository-format.md, "Chunks"): SHA-256 in a
 * plain repository, HMAC-SHA256 with a key-derived key in an encrypted one (so ids reveal nothing about content).
 * An instance may keep state (a {@link MessageDigest}): use one per thread.
 */
@FunctionalInterface
public interface ChunkIdFunction {
  /** Writes the id of {@code data[off, off + len)} to {@code out[outOff, outOff + 32)}. */
  void id(byte[] data, int off, int len, byte[] out, int outOff);

  /** The id of {@code data[off, off + len)} as a new array. */
  default byte[] id(byte[] data, int off, int len) {
    byte[] out = new byte[TreeRecord.ID_BYTES];
    id(data, off, len, out, 0);
    return out;
  }

  /** SHA-256, as in a plain repository; a new, not thread-safe instance. */
  static ChunkIdFunction sha256() {
    MessageDigest md = Digest.newSha256();
    return (data, off, len, out, outOff) -> {
      md.update(data, off, len);
      try {
        md.digest(out, outOff, TreeRecord.ID_BYTES);
      } catch (DigestException e) {
        throw new IllegalStateException("SHA-256 did not fit in 32 bytes", e);
      }
    };
  }
}
