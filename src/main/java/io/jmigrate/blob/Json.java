package io.jmigrate.blob;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
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

  /**
   * Binds bytes to a type; {@code what} names the document in the error, which says where in the document the
   * problem is and what it is, in the document's own terms: never Jackson's wording of Java class names ("Cannot
   * construct instance of io.jmigrate…"), which means nothing to an operator.
   */
  public static <T> T read(byte[] bytes, Class<T> type, String what) throws IOException {
    try {
      return MAPPER.readValue(bytes, type);
    } catch (JsonProcessingException e) {
      throw new IOException(what + " is malformed: " + problem(e), e);
    }
  }

  /** "not JSON: …" for a syntax error; "at volumes[0].name: …" for a value of the wrong shape. */
  static String problem(JsonProcessingException e) {
    if (!(e instanceof JsonMappingException)) {
      // A syntax error: Jackson's own text names the character and says nothing about classes.
      return "not JSON: " + e.getOriginalMessage();
    }
    JsonMappingException m = (JsonMappingException) e;
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference r : m.getPath()) {
      if (r.getFieldName() != null) {
        path.append(path.length() == 0 ? "" : ".").append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        path.append('[').append(r.getIndex()).append(']');
      }
    }
    String where = path.length() == 0 ? "at the top level" : "at " + path;
    String why;
    if (m instanceof com.fasterxml.jackson.databind.exc.ValueInstantiationException && m.getCause() != null
        && m.getCause().getMessage() != null) {
      // A record's constructor refused the value (a required field missing, a bad digest).
      why = m.getCause() instanceof NullPointerException ? m.getCause().getMessage() + " is missing"
          : m.getCause().getMessage();
    } else if (m instanceof com.fasterxml.jackson.databind.exc.MismatchedInputException) {
      why = "a value of the wrong type, or missing";
    } else {
      why = "an unexpected value";
    }
    return where + ": " + why;
  }

  public static ObjectNode newObject() {
    return MAPPER.createObjectNode();
  }
}
