package io.jmigrate.blob;

/**
 * Media types of the objects jmigrate writes: the OCI image-spec types (image-spec v1.1, media-types.md) and
 * jmigrate's own artifact types.
 */
public final class MediaTypes {
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
  public static final String OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
  public static final String OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
  public static final String OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
  /** The empty descriptor of image-spec v1.1 (manifest.md, "Guidance for an Empty Descriptor"). */
  public static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";

  public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
  public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
  public static final String DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
  public static final String DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

  /** artifactType of a snapshot's index and of its snapshot manifest. */
  public static final String SNAPSHOT_ARTIFACT = "application/vnd.jmigrate.snapshot.v1";
  /** The snapshot document: the config blob of the snapshot manifest. */
  public static final String SNAPSHOT_DOCUMENT = "application/vnd.jmigrate.snapshot.v1+json";
  /** A volume's contents as a tar stream, by compression. */
  public static final String VOLUME_TAR = "application/vnd.jmigrate.volume.v1.tar";
  public static final String VOLUME_TAR_GZIP = "application/vnd.jmigrate.volume.v1.tar+gzip";
  public static final String VOLUME_TAR_ZSTD = "application/vnd.jmigrate.volume.v1.tar+zstd";

  private MediaTypes() {}
}
