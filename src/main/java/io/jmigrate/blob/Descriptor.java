package io.jmigrate.blob;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * An OCI content descriptor (image-spec descriptor.md): media type, digest, size and annotations.
 *
 * <p>Serialises with Jackson to the exact OCI JSON form; annotations are kept sorted so that the same
 * descriptor always produces the same bytes, and so the same manifest digest.
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@JsonPropertyOrder({"mediaType", "artifactType", "digest", "size", "annotations"})
public final class Descriptor {
  private final String mediaType;
  private final String artifactType;
  private final Digest digest;
  private final long size;
  private final Map<String, String> annotations;

  private Descriptor(String mediaType, String artifactType, Digest digest, long size, Map<String, String> annotations) {
    this.mediaType = mediaType;
    this.artifactType = artifactType;
    this.digest = digest;
    this.size = size;
    this.annotations = Collections.unmodifiableMap(new TreeMap<>(annotations));
  }

  /** A descriptor without annotations; the message names the bad argument. */
  public static Descriptor of(String mediaType, Digest digest, long size) {
    return of(mediaType, null, digest, size, Map.of());
  }

  /** The full form; {@code artifactType} may be null. */
  public static Descriptor of(
      String mediaType, String artifactType, Digest digest, long size, Map<String, String> annotations) {
    if (mediaType == null || mediaType.isBlank()) {
      throw new IllegalArgumentException("descriptor media type is missing (digest " + digest + ")");
    }
    if (digest == null) {
      throw new IllegalArgumentException("descriptor digest is missing (media type " + mediaType + ")");
    }
    if (size < 0) {
      throw new IllegalArgumentException("descriptor size is negative: " + size + " for " + digest);
    }
    return new Descriptor(mediaType, artifactType, digest, size, annotations == null ? Map.of() : annotations);
  }

  @JsonCreator
  static Descriptor fromJson(
      @JsonProperty("mediaType") String mediaType,
      @JsonProperty("artifactType") String artifactType,
      @JsonProperty("digest") String digest,
      @JsonProperty("size") Long size,
      @JsonProperty("annotations") Map<String, String> annotations) {
    if (size == null) {
      throw new IllegalArgumentException("descriptor size is missing for " + digest);
    }
    return of(mediaType, artifactType, Digest.parse(digest), size, annotations);
  }

  /** A copy with one more annotation. */
  public Descriptor withAnnotation(String key, String value) {
    Map<String, String> copy = new TreeMap<>(annotations);
    copy.put(key, value);
    return new Descriptor(mediaType, artifactType, digest, size, copy);
  }

  /** A copy with these annotations added to the present ones. */
  public Descriptor withAnnotations(Map<String, String> more) {
    Map<String, String> copy = new TreeMap<>(annotations);
    copy.putAll(more);
    return new Descriptor(mediaType, artifactType, digest, size, copy);
  }

  /** A copy with another media type, e.g. when a registry reports a manifest's type. */
  public Descriptor withMediaType(String newMediaType) {
    return of(newMediaType, artifactType, digest, size, annotations);
  }

  @JsonProperty("mediaType")
  public String mediaType() {
    return mediaType;
  }

  @JsonProperty("artifactType")
  public String artifactType() {
    return artifactType;
  }

  @JsonIgnore
  public Digest digest() {
    return digest;
  }

  @JsonProperty("digest")
  String digestString() {
    return digest.toString();
  }

  @JsonProperty("size")
  @JsonInclude(JsonInclude.Include.ALWAYS)
  public long size() {
    return size;
  }

  @JsonProperty("annotations")
  public Map<String, String> annotations() {
    return annotations;
  }

  /** The annotation's value, or null. */
  public String annotation(String key) {
    return annotations.get(key);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Descriptor)) {
      return false;
    }
    Descriptor d = (Descriptor) o;
    return size == d.size
        && mediaType.equals(d.mediaType)
        && Objects.equals(artifactType, d.artifactType)
        && digest.equals(d.digest)
        && annotations.equals(d.annotations);
  }

  @Override
  public int hashCode() {
    return Objects.hash(mediaType, artifactType, digest, size, annotations);
  }

  @Override
  public String toString() {
    return mediaType + " " + digest + " (" + size + " bytes)";
  }
}
