package io.jmigrate.archive;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import io.jmigrate.blob.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

/**
 * The JSON form of a {@link TreeRecord}: one compact object, keys in the fixed order of the table in
 * docs/repository-format.md ({@code p t m u g mt ct ino dev s x lk rd e c}), each absent when zero or empty
 * ({@code e} excepted: present, possibly {@code []}, exactly when the file is sparse). Numbers are decimal
 * integers (the mode too: JSON has no octal); xattr values are standard base64 with padding; strings are raw
 * UTF-8 with JSON's escapes (a newline in a name becomes {@code \n}, so a record is always one line). The same
 * record always gives the same bytes. Unknown keys are skipped on read, as {@link Json} does for documents:
 * the repository's format version, not the record, says whether a reader is new enough.
 */
final class TreeRecordJson {
  private static final JsonFactory FACTORY = Json.MAPPER.getFactory();

  private TreeRecordJson() {}

  /** Writes {@code r} as one JSON object (no newline) to {@code out}, which is not closed. */
  static void write(TreeRecord r, OutputStream out) throws IOException {
    try (JsonGenerator g = FACTORY.createGenerator(out, JsonEncoding.UTF8)) {
      g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
      g.writeStartObject();
      g.writeStringField("p", r.path());
      g.writeStringField("t", String.valueOf(r.type().code()));
      number(g, "m", r.mode());
      number(g, "u", r.uid());
      number(g, "g", r.gid());
      pair(g, "mt", r.mtimeSeconds(), r.mtimeNanos());
      pair(g, "ct", r.ctimeSeconds(), r.ctimeNanos());
      number(g, "ino", r.ino());
      number(g, "dev", r.dev());
      number(g, "s", r.size());
      if (!r.xattrs().isEmpty()) {
        g.writeObjectFieldStart("x");
        for (Map.Entry<String, byte[]> x : r.xattrs().entrySet()) {
          g.writeStringField(x.getKey(), Base64.getEncoder().encodeToString(x.getValue()));
        }
        g.writeEndObject();
      }
      if (!r.link().isEmpty()) {
        g.writeStringField("lk", r.link());
      }
      pair(g, "rd", r.devMajor(), r.devMinor());
      if (r.sparse()) {
        long[] e = r.extents();
        g.writeArrayFieldStart("e");
        for (int i = 0; i < e.length; i += 2) {
          g.writeStartArray();
          g.writeNumber(e[i]);
          g.writeNumber(e[i + 1]);
          g.writeEndArray();
        }
        g.writeEndArray();
      }
      if (r.chunkCount() > 0) {
        g.writeArrayFieldStart("c");
        for (int i = 0; i < r.chunkCount(); i++) {
          g.writeStartArray();
          g.writeString(r.chunkIdHex(i));
          g.writeNumber(r.chunkRaw(i));
          g.writeEndArray();
        }
        g.writeEndArray();
      }
      g.writeEndObject();
    }
  }

  private static void number(JsonGenerator g, String key, long v) throws IOException {
    if (v != 0) {
      g.writeNumberField(key, v);
    }
  }

  private static void pair(JsonGenerator g, String key, long a, long b) throws IOException {
    if (a != 0 || b != 0) {
      g.writeArrayFieldStart(key);
      g.writeNumber(a);
      g.writeNumber(b);
      g.writeEndArray();
    }
  }

  /** Parses the JSON object in {@code buf[off, off + len)}; the message names what is wrong. */
  static TreeRecord read(byte[] buf, int off, int len) throws IOException {
    try (JsonParser p = FACTORY.createParser(buf, off, len)) {
      expect(p, p.nextToken(), JsonToken.START_OBJECT, "record");
      String path = null;
      String type = null;
      // Fields are collected first: the builder needs path and type, which a reader must not assume come first.
      long[] f = new long[14];
      Map<String, byte[]> xattrs = new TreeMap<>();
      String link = "";
      long[] extents = null;
      byte[] ids = new byte[0];
      int[] raws = new int[0];
      int chunks = 0;
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String key = p.currentName();
        JsonToken v = p.nextToken();
        switch (key) {
          case "p": path = string(p, v, key); break;
          case "t": type = string(p, v, key); break;
          case "m": f[0] = integer(p, v, key); break;
          case "u": f[1] = integer(p, v, key); break;
          case "g": f[2] = integer(p, v, key); break;
          case "mt": pair(p, v, key, f, 3); break;
          case "ct": pair(p, v, key, f, 5); break;
          case "ino": f[7] = integer(p, v, key); break;
          case "dev": f[8] = integer(p, v, key); break;
          case "s": f[9] = integer(p, v, key); break;
          case "lk": link = string(p, v, key); break;
          case "rd": pair(p, v, key, f, 10); break;
          case "x":
            expect(p, v, JsonToken.START_OBJECT, key);
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String name = p.currentName();
              String b64 = string(p, p.nextToken(), "x." + name);
              try {
                xattrs.put(name, Base64.getDecoder().decode(b64));
              } catch (IllegalArgumentException e) {
                throw new IOException("xattr " + name + " is not base64");
              }
            }
            break;
          case "e": {
            expect(p, v, JsonToken.START_ARRAY, key);
            long[] pairs = new long[8];
            int n = 0;
            while (p.nextToken() == JsonToken.START_ARRAY) {
              if (n + 2 > pairs.length) {
                pairs = Arrays.copyOf(pairs, pairs.length * 2);
              }
              pairs[n++] = integer(p, p.nextToken(), key);
              pairs[n++] = integer(p, p.nextToken(), key);
              expect(p, p.nextToken(), JsonToken.END_ARRAY, key);
            }
            expect(p, p.currentToken(), JsonToken.END_ARRAY, key);
            extents = Arrays.copyOf(pairs, n);
            break;
          }
          case "c":
            expect(p, v, JsonToken.START_ARRAY, key);
            while (p.nextToken() == JsonToken.START_ARRAY) {
              if (chunks == raws.length) {
                raws = Arrays.copyOf(raws, Math.max(4, chunks * 2));
                ids = Arrays.copyOf(ids, raws.length * TreeRecord.ID_BYTES);
              }
              String hex = string(p, p.nextToken(), key);
              parseId(hex, ids, chunks * TreeRecord.ID_BYTES);
              long raw = integer(p, p.nextToken(), key);
              if (raw <= 0 || raw > Integer.MAX_VALUE) {
                throw new IOException("chunk length " + raw + " out of range");
              }
              raws[chunks++] = (int) raw;
              expect(p, p.nextToken(), JsonToken.END_ARRAY, key);
            }
            expect(p, p.currentToken(), JsonToken.END_ARRAY, key);
            break;
          default:
            p.skipChildren();
        }
      }
      expect(p, t, JsonToken.END_OBJECT, "record");
      if (p.nextToken() != null) {
        throw new IOException("trailing data after the record");
      }
      if (path == null || type == null) {
        throw new IOException("record without " + (path == null ? "path (p)" : "type (t)"));
      }
      if (f[0] < 0 || f[0] > 07777 || f[4] < 0 || f[4] >= 1_000_000_000 || f[6] < 0 || f[6] >= 1_000_000_000) {
        throw new IOException("record '" + path + "': mode or nanoseconds out of range");
      }
      TreeRecord.Builder b = TreeRecord.builder(path, TreeRecord.Type.ofCode(type)).mode((int) f[0])
          .owner(f[1], f[2]).mtime(f[3], (int) f[4]).ctime(f[5], (int) f[6]).inode(f[7], f[8]).size(f[9])
          .link(link).device(f[10], f[11]);
      xattrs.forEach(b::xattr);
      if (extents != null) {
        b.extents(extents);
      }
      for (int i = 0; i < chunks; i++) {
        b.chunk(ids, i * TreeRecord.ID_BYTES, raws[i]);
      }
      return b.build();
    } catch (JsonProcessingException e) {
      throw new IOException("not a JSON record: " + e.getOriginalMessage());
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage());
    }
  }

  /** Decodes 64 lowercase hex characters into {@code dst[at, at + 32)}. */
  private static void parseId(String hex, byte[] dst, int at) throws IOException {
    if (hex.length() != 2 * TreeRecord.ID_BYTES) {
      throw new IOException("chunk id '" + hex + "' is not 64 hex characters");
    }
    for (int i = 0; i < TreeRecord.ID_BYTES; i++) {
      int hi = nibble(hex.charAt(2 * i));
      int lo = nibble(hex.charAt(2 * i + 1));
      if ((hi | lo) < 0) {
        throw new IOException("chunk id '" + hex + "' is not lowercase hex");
      }
      dst[at + i] = (byte) (hi << 4 | lo);
    }
  }

  private static int nibble(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  }

  private static void expect(JsonParser p, JsonToken got, JsonToken want, String key) throws IOException {
    if (got != want) {
      throw new IOException("'" + key + "': expected " + want + ", found " + got);
    }
  }

  private static String string(JsonParser p, JsonToken v, String key) throws IOException {
    expect(p, v, JsonToken.VALUE_STRING, key);
    return p.getText();
  }

  private static long integer(JsonParser p, JsonToken v, String key) throws IOException {
    expect(p, v, JsonToken.VALUE_NUMBER_INT, key);
    if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
      throw new IOException("'" + key + "': " + p.getText() + " is out of range");
    }
    return p.getLongValue();
  }

  /** Reads {@code [a, b]} into {@code f[at]}, {@code f[at + 1]}. */
  private static void pair(JsonParser p, JsonToken v, String key, long[] f, int at) throws IOException {
    expect(p, v, JsonToken.START_ARRAY, key);
    f[at] = integer(p, p.nextToken(), key);
    f[at + 1] = integer(p, p.nextToken(), key);
    expect(p, p.nextToken(), JsonToken.END_ARRAY, key);
  }
}
