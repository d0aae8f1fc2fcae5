package io.jmigrate.blob;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * The one Jackson mapper for manifests, documents and engine JSON. Unknown fields are tolerated on read, so
 * that newer documents and engine answers still parse; writes are compact and deterministic for a given input.
 */
public final class Json {
  public static final ObjectMapper MAPPER = new ObjectMapper()
      .findAndRegisterModules()
      .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
      .configure(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS, false)
      .configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, false);

  private Json() {}

  /** Serialises to UTF-8 bytes. */
  public static byte[] bytes(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
    }
  }

  /** Parses bytes into a tree; {@code what} names the document in the error. */
  public static JsonNode tree(byte[] bytes, String what) throws IOException {
    try {
      return MAPPER.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw new IOException(what + " is not valid JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** Parses bytes into an object node; fails naming {@code what} when it is not a JSON object. */
  public static ObjectNode object(byte[] bytes, String what) throws IOException {
    JsonNode n = tree(bytes, what);
    if (!(n instanceof ObjectNode)) {
      throw new IOException(what + " is not a JSON object");
    }
    return (ObjectNode) n;
  }

  /** Binds bytes to a type; {@code what} names the document in the error. */
  public static <T> T read(byte[] bytes, Class<T> type, String what) throws IOException {
    try {
      return MAPPER.readValue(bytes, type);
    } catch (JsonProcessingException e) {
      throw new IOException(what + " is malformed: " + e.getOriginalMessage(), e);
    }
  }

  public static ObjectNode newObject() {
    return MAPPER.createObjectNode();
  }
}
