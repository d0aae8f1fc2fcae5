package io.jmigrate.restore;

/**
 * With {@code --strict-metadata}: the target's filesystem did not keep some of a volume's metadata (owners,
 * modes, xattrs, ACLs, mtimes), or the metadata could not be checked there. The message is the volume's summary
 * line and what to do.
 */
public class MetadataLossException extends RestoreException {
  private static final long serialVersionUID = 1L;

  public MetadataLossException(String message) {
    super(message);
  }
}
