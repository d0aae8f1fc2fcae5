package io.jmigrate.blob;

/**
 * Hears how far long transfers (a volume read, a layer export, a layer or volume sent to an engine) have come, so
 * that a terminal can show a progress bar and a log a periodic line. Listening never changes what is transferred:
 * the counting streams ({@link CountingInputStream}, {@link CountingOutputStream}) only pass bytes through.
 *
 * <p>Implementations must be thread-safe: transfers may run on several threads at once (a {@link Pipe} producer,
 * the engine's stream reader).
 */
public interface TransferListener {
  /** Hears nothing. */
  TransferListener NONE = (what, totalBytes) -> Transfer.NONE;

  /**
   * A transfer begins.
   *
   * @param what names it for people, e.g. {@code "web: volume web-data"}
   * @param totalBytes how many bytes it will move, or -1 when unknown (a volume read before it ends)
   * @return the handle that hears the bytes; the caller closes it when the transfer ends, whether it succeeded
   */
  Transfer start(String what, long totalBytes);

  /** One running transfer. */
  interface Transfer extends AutoCloseable {
    /** A transfer nobody listens to. */
    Transfer NONE = new Transfer() {
      @Override
      public void transferred(long bytes) {}

      @Override
      public void close() {}
    };

    /** {@code bytes} more were moved. */
    void transferred(long bytes);

    /** The transfer ended (completed or failed). */
    @Override
    void close();
  }
}
