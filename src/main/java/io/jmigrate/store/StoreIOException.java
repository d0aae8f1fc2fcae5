package io.jmigrate.store;

import java.io.IOException;

/**
 * A write to a {@link BlobUpload#stream()} failed in a way the store could explain (full disk, permission
 * denied, server gone after retries). Streams can only throw {@link IOException}, so the store's explanation
 * travels inside this one; {@link #storeException()} gives the kind for the exit code, and the message is the
 * store's one-line message.
 */
public final class StoreIOException extends IOException {
  private static final long serialVersionUID = 1L;

  public StoreIOException(StoreException cause) {
    super(cause.getMessage(), cause);
  }

  /** The store's failure, with its kind. */
  public StoreException storeException() {
    return (StoreException) getCause();
  }

  /**
   * The {@link StoreException} inside {@code e} or its causes, or null: lets a caller that wrote into an upload
   * report the store's message and kind rather than a bare I/O error.
   */
  public static StoreException find(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof StoreException) {
        return (StoreException) t;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }
}
