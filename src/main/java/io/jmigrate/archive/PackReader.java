package io.jmigrate.archive;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestMismatchException;
import io.jmigrate.blob.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Reads what {@link PackWriter} wrote: the trailer from a pack's tail, and single chunks from their stored bytes
 * (a range read of the pack), each decompressed and checked against its id. Any mismatch (a bad frame, a wrong
 * length, a different id) throws {@link DigestMismatchException}; a malformed trailer an {@link IOException};
 * both name the pack. One zstd context is reused for every chunk. Not thread-safe; {@link #close} frees the
 * native context.
 */
public final class PackReader implements AutoCloseable {
  /** A trailer larger than this (uncompressed) is corrupt: even a pack of 1 GiB of 1-byte chunks stays below. */
  static final int MAX_TRAILER_RAW = 256 * 1024 * 1024;

  private final ChunkIdFunction ids;
  private final ZstdDecompressCtx zstd = new ZstdDecompressCtx();
  private final byte[] actual = new byte[TreeRecord.ID_BYTES];

  public PackReader(ChunkIdFunction ids) {
    this.ids = ids;
  }

  /** A reader for a plain repository (SHA-256 ids). */
  public static PackReader sha256() {
    return new PackReader(ChunkIdFunction.sha256());
  }

  /**
   * Decompresses the chunk stored at {@code src[off, off + length)} into {@code dst[dstOff, dstOff + raw)} and
   * checks it is {@code raw} bytes with the id {@code id[idOff, idOff + 32)}. {@code pack} names the pack in
   * errors.
   */
  public void read(byte[] id, int idOff, int raw, byte[] src, int off, int length, byte[] dst, int dstOff,
      String pack) throws DigestMismatchException {
    int n;
    try {
      n = zstd.decompressByteArray(dst, dstOff, raw, src, off, length);
    } catch (ZstdException e) {
      throw mismatch(id, idOff, pack, "it does not decompress: " + e.getMessage());
    }
    if (n != raw) {
      throw mismatch(id, idOff, pack, "it is " + n + " bytes, not " + raw);
    }
    ids.id(dst, dstOff, raw, actual, 0);
    if (!Arrays.equals(actual, 0, actual.length, id, idOff, idOff + TreeRecord.ID_BYTES)) {
      Digest got = Digest.ofHex(HexFormat.of().formatHex(actual));
      DigestMismatchException e = mismatch(id, idOff, pack, "its content has the id " + got);
      throw new DigestMismatchException(e.getMessage(), e.expected(), got);
    }
  }

  /** Like {@link #read(byte[], int, int, byte[], int, int, byte[], int, String)} for an entry, into a new array. */
  public byte[] read(PackEntry e, byte[] src, int off, String pack) throws DigestMismatchException {
    byte[] out = new byte[e.raw()];
    read(e.id(), 0, e.raw(), src, off, e.length(), out, 0, pack);
    return out;
  }

  private static DigestMismatchException mismatch(byte[] id, int idOff, String pack, String why) {
    Digest expected = Digest.ofHex(HexFormat.of().formatHex(id, idOff, idOff + TreeRecord.ID_BYTES));
    return new DigestMismatchException("chunk " + expected + " in pack " + pack + " is corrupt: " + why, expected,
        null);
  }

  /**
   * The compressed trailer's length, from the pack's last {@link PackWriter#FOOTER_BYTES} bytes at
   * {@code footer[off, off + 12)}: read that many bytes more before the footer to {@link #parseTrailer}.
   */
  public static int trailerLength(byte[] footer, int off, long packSize, String pack) throws IOException {
    if (packSize < PackWriter.FOOTER_BYTES + 1) {
      throw new IOException("pack " + pack + " is " + packSize + " bytes: too short to be a pack");
    }
    if (!Arrays.equals(footer, off + 4, off + 12, PackWriter.MAGIC, 0, 8)) {
      throw new IOException("pack " + pack + " does not end with JMPACK01: not a pack, or cut short");
    }
    int n = (footer[off] & 0xff) << 24 | (footer[off + 1] & 0xff) << 16 | (footer[off + 2] & 0xff) << 8
        | (footer[off + 3] & 0xff);
    if (n <= 0 || n > packSize - PackWriter.FOOTER_BYTES) {
      throw new IOException("pack " + pack + " has a trailer length of " + n + " in " + packSize + " bytes");
    }
    return n;
  }

  /**
   * Parses and checks the trailer: {@code tail[off, off + len)} are the pack's last {@code len} bytes, at least
   * the trailer and the footer. The entries must lie back to back from offset 0 up to the trailer.
   */
  public static List<PackEntry> parseTrailer(byte[] tail, int off, int len, long packSize, String pack)
      throws IOException {
    if (len < PackWriter.FOOTER_BYTES || len > packSize) {
      throw new IllegalArgumentException("tail of " + len + " bytes for a pack of " + packSize);
    }
    int n = trailerLength(tail, off + len - PackWriter.FOOTER_BYTES, packSize, pack);
    if (n > len - PackWriter.FOOTER_BYTES) {
      throw new IllegalArgumentException("the tail holds " + len + " bytes, the trailer needs " + (n + 12));
    }
    int start = off + len - PackWriter.FOOTER_BYTES - n;
    long rawSize = Zstd.getFrameContentSize(tail, start, n);
    if (rawSize <= 0 || rawSize > MAX_TRAILER_RAW) {
      throw new IOException("pack " + pack + " has a corrupt trailer (frame content size " + rawSize + ")");
    }
    byte[] json = new byte[(int) rawSize];
    try (ZstdDecompressCtx z = new ZstdDecompressCtx()) {
      if (z.decompressByteArray(json, 0, json.length, tail, start, n) != json.length) {
        throw new IOException("pack " + pack + " has a corrupt trailer (short)");
      }
    } catch (ZstdException e) {
      throw new IOException("pack " + pack + " has a corrupt trailer: " + e.getMessage(), e);
    }
    long entriesEnd = packSize - PackWriter.FOOTER_BYTES - n;
    try {
      return entries(json, entriesEnd, pack);
    } catch (JsonProcessingException e) {
      throw new IOException("pack " + pack + " has a corrupt trailer: " + e.getOriginalMessage(), e);
    }
  }

  private static List<PackEntry> entries(byte[] json, long entriesEnd, String pack) throws IOException {
    List<PackEntry> out = new ArrayList<>();
    long next = 0;
    try (JsonParser p = Json.MAPPER.getFactory().createParser(json)) {
      require(p.nextToken() == JsonToken.START_OBJECT, pack, "not a JSON object");
      boolean seen = false;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        if (!p.currentName().equals("chunks")) {
          p.nextToken();
          p.skipChildren();
          continue;
        }
        seen = true;
        require(p.nextToken() == JsonToken.START_ARRAY, pack, "chunks is not an array");
        while (p.nextToken() == JsonToken.START_OBJECT) {
          String idText = null;
          PackEntry.Type type = null;
          long offset = -1;
          long length = -1;
          long raw = -1;
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String k = p.currentName();
            JsonToken v = p.nextToken();
            switch (k) {
              case "id": idText = v == JsonToken.VALUE_STRING ? p.getText() : null; break;
              case "type": type = v == JsonToken.VALUE_STRING ? PackEntry.Type.ofJson(p.getText()) : null; break;
              case "offset": offset = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1; break;
              case "length": length = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1; break;
              case "raw": raw = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : -1; break;
              default: p.skipChildren();
            }
          }
          String where = "chunk " + out.size();
          require(idText != null && Digest.isValid(idText), pack, where + " has no valid id");
          require(type != null, pack, where + " has no type data or meta");
          require(offset == next, pack, where + " is at " + offset + ", expected " + next);
          require(length > 0 && offset + length <= entriesEnd, pack, where + " has a bad length " + length);
          require(raw > 0 && raw <= Integer.MAX_VALUE, pack, where + " has a bad raw length " + raw);
          out.add(new PackEntry(HexFormat.of().parseHex(idText, 7, idText.length()), 0, type, (int) offset,
              (int) length, (int) raw));
          next = offset + length;
        }
      }
      require(seen, pack, "no chunks list");
    }
    require(next == entriesEnd, pack, "its chunks end at " + next + ", the trailer starts at " + entriesEnd);
    return out;
  }

  private static void require(boolean ok, String pack, String what) throws IOException {
    if (!ok) {
      throw new IOException("pack " + pack + " has a corrupt trailer: " + what);
    }
  }

  @Override
  public void close() {
    zstd.close();
  }
}
