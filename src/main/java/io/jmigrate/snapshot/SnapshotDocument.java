package io.jmigrate.snapshot;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.Json;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The snapshot document: everything needed to recreate a container, apart from the bytes of its layers and
 * volumes, which it references by digest. Stored as the config blob of the snapshot manifest
 * ({@code application/vnd.jmigrate.snapshot.v1+json}); see docs/repository-format.md.
 *
 * <p>The container's inspect output is kept raw, so fields jmigrate does not model survive the round trip.
 * It holds the container's environment, secrets included: never log it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SnapshotDocument(
    int schemaVersion,
    Tool tool,
    Container container,
    Image image,
    List<Volume> volumes,
    List<Network> networks,
    String consistency,
    Source source,
    Times times) {

  /** The schema this code writes; readers accept this and lower. */
  public static final int SCHEMA_VERSION = 1;

  /** Parses and checks a stored document; {@code what} names it in errors. */
  public static SnapshotDocument parse(byte[] json, String what) throws SnapshotException {
    SnapshotDocument d;
    try {
      d = Json.read(json, SnapshotDocument.class, what);
    } catch (IOException e) {
      throw new SnapshotException(SnapshotException.Kind.CORRUPT, e.getMessage(), e);
    }
    if (d.schemaVersion() < 1 || d.schemaVersion() > SCHEMA_VERSION) {
      throw new SnapshotException(SnapshotException.Kind.INVALID,
          what + " has schema version " + d.schemaVersion() + "; this jmigrate reads up to " + SCHEMA_VERSION
              + ": upgrade jmigrate");
    }
    if (d.container() == null || d.container().inspect() == null || d.image() == null) {
      throw new SnapshotException(SnapshotException.Kind.CORRUPT, what + " lacks its container or image section");
    }
    return d;
  }

  public byte[] toJson() {
    return Json.bytes(this);
  }

  /** Which program wrote the snapshot. */
  public record Tool(String name, String version) {}

  /** The container as inspected at snapshot time (name without the leading slash). */
  public record Container(String name, String id, ObjectNode inspect) {}

  /**
   * The committed image: {@code reference} is what the container was created from (e.g. nginx:1.25), {@code id}
   * the committed image's id, {@code manifest} and {@code config} its stored descriptors.
   */
  public record Image(String reference, String id, Descriptor manifest, Descriptor config, List<Layer> layers) {
    /** The diffIDs, bottom first. */
    @JsonIgnore
    public List<Digest> diffIds() {
      return layers.stream().map(Layer::diffId).toList();
    }
  }

  /** One image layer: the stored (compressed) blob, and the digest and size of its uncompressed tar. */
  public record Layer(Descriptor blob, Digest diffId, long uncompressedSize) {}

  /**
   * A volume or bind mount and where its contents are. {@code type} is "volume" or "bind"; {@code source} is the
   * host path of a bind; {@code method} is how it was read: "direct" (the host path) or "archive" (the engine's
   * archive API). {@code content} is null for an excluded bind mount, which is recreated as configured but not
   * filled.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Volume(
      String name,
      String type,
      boolean anonymous,
      String driver,
      Map<String, String> driverOpts,
      Map<String, String> labels,
      String destination,
      String source,
      boolean readOnly,
      Descriptor content,
      Digest diffId,
      long uncompressedSize,
      String method) {}

  /** A user-defined network the container was attached to, as inspected, for recreating it on a target. */
  public record Network(String name, ObjectNode inspect) {}

  /** The engine the snapshot was taken from. */
  public record Source(
      String host, String hostname, String engineVersion, String apiVersion, String architecture, String os) {}

  /** When things happened: started, frozen (paused or stopped), resumed, finished. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Times(Instant started, Instant frozen, Instant resumed, Instant finished) {}

  /** Bytes stored for this snapshot, counting each referenced blob once (shared blobs included). */
  @JsonIgnore
  public long storedSize() {
    long n = image.config().size() + image.manifest().size();
    for (Layer l : image.layers()) {
      n += l.blob().size();
    }
    for (Volume v : volumes) {
      if (v.content() != null) {
        n += v.content().size();
      }
    }
    return n;
  }
}
