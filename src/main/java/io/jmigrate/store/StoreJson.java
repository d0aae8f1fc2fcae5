package io.jmigrate.store;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.MediaTypes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON records stores keep next to blobs: tag and alias descriptors, the layout index, lock holders. */
final class StoreJson {
  /** Descriptors written by other OCI tools may carry fields we do not model (urls, platform): ignore them. */
  static final ObjectMapper MAPPER =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  /** The annotation that names a tag in an OCI layout's index.json (image-spec image-layout.md). */
  static final String REF_NAME = "org.opencontainers.image.ref.name";

  private StoreJson() {}

  static byte[] write(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serialise " + value.getClass().getSimpleName(), e);
    }
  }

  static Descriptor descriptor(byte[] json) throws IOException {
    return MAPPER.readValue(json, Descriptor.class);
  }

  static LockHolder holder(byte[] json) throws IOException {
    return MAPPER.readValue(json, LockHolder.class);
  }

  /** An OCI image index listing every tag's target, named by {@link #REF_NAME}, in tag order. */
  static byte[] layoutIndex(List<Tag> tags) {
    List<Descriptor> manifests = new ArrayList<>();
    for (Tag t : tags) {
      manifests.add(t.target().withAnnotation(REF_NAME, t.name()));
    }
    Map<String, Object> index = new LinkedHashMap<>();
    index.put("schemaVersion", 2);
    index.put("mediaType", MediaTypes.OCI_INDEX);
    index.put("manifests", manifests);
    return write(index);
  }
}
