package io.jmigrate.store;

import io.jmigrate.blob.Descriptor;
import io.jmigrate.blob.Digest;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.URI;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A streamed blob upload of unknown length, as a chunked upload (distribution-spec v1.1, "Pushing a blob in
 * chunks"): {@code POST /blobs/uploads/} opens a session, each chunk goes up as {@code PATCH <location>} with
 * {@code Content-Range: <start>-<end>} (full ones as they fill, the last one at commit), and an empty
 * {@code PUT <location>&digest=…} closes it. Every answer carries the next Location, which the next request must
 * use.
 *
 * <ul>
 *   <li>At most two chunks are held in memory: a full chunk is sent by a sender thread while the writer fills
 *       the next one, so compression and hashing overlap the upload; a writer whose next chunk fills before the
 *       previous one is acknowledged waits for it. PATCHes stay strictly in order, one at a time, as the spec
 *       requires of a session.
 *   <li>A blob smaller than one chunk opens no session until commit, and none at all when the registry already
 *       has its digest.
 *   <li>A PATCH that failed on the way is resumed once the registry says (GET on the session) how much it got.
 *   <li>{@link #abort()} cancels the session with DELETE; it may be called from another thread, and a write after
 *       it fails.
 * </ul>
 */
final class RegistryBlobUpload implements BlobUpload {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryBlobUpload.class);
  private static final int FIRST_BUFFER = 64 << 10;
  private static final int CHUNK_RESUMES = 3;
  private static final int ABORT_WAIT_SECONDS = 30;
  private static final ExecutorService SENDERS =
      Executors.newCachedThreadPool(DaemonThreads.named("jmigrate-registry-upload"));

  private final RegistryStore store;
  private final RegistryClient client;
  private final int chunkSize;
  private final Object state = new Object();
  private final OutputStream stream = new ChunkStream();
  private byte[] buf = new byte[0];
  private int fill;
  /** The chunk buffer the last send gave back, reused for the next chunk; written by the sender thread. */
  private volatile byte[] spare;
  /** The chunk being sent, if any; the writer thread sets it, {@link #abort()} may wait for it. */
  private volatile Future<?> inFlight;
  /**
   * Bytes the registry has acknowledged in this session. The sender thread updates it; the writer reads it only
   * after waiting for {@link #inFlight}.
   */
  private volatile long sent;
  /** Guarded by {@link #state}. */
  private URI session;
  private volatile boolean aborted;
  private volatile boolean committed;
  private volatile IOException failure;
  /** Counted down once the first abort() has cancelled the session. */
  private final CountDownLatch cancelled = new CountDownLatch(1);

  /** Ended once the upload is committed or cancelled, so that a stop waits for no more. */
  private final Staging.Token staged;

  RegistryBlobUpload(RegistryStore store, int chunkSize, Staging.Token staged) {
    this.store = store;
    this.client = store.client();
    this.chunkSize = chunkSize;
    this.staged = staged;
  }

  @Override
  public OutputStream stream() {
    return stream;
  }

  private final class ChunkStream extends OutputStream {
    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      checkWritable();
      while (len > 0) {
        if (fill == chunkSize) {
          sendChunk();
        }
        if (fill == buf.length) {
          buf = Arrays.copyOf(buf, Math.min(chunkSize, Math.max(FIRST_BUFFER, buf.length * 2)));
        }
        int n = Math.min(len, buf.length - fill);
        System.arraycopy(b, off, buf, fill, n);
        fill += n;
        off += n;
        len -= n;
      }
    }

    @Override
    public void close() {
      // commit or abort ends the upload; the stream belongs to the upload.
    }
  }

  private void checkWritable() throws IOException {
    if (aborted) {
      throw new IOException("the upload to " + store.location() + " was aborted");
    }
    if (committed) {
      throw new IOException("the upload to " + store.location() + " was already committed");
    }
    if (failure != null) {
      throw new IOException(failure.getMessage(), failure);
    }
  }

  /**
   * Hands the full buffer to a sender thread as one PATCH, after the previous one was acknowledged. On failure
   * the upload is aborted and the error kept for commit.
   */
  private void sendChunk() throws IOException {
    awaitSent();
    checkWritable();
    URI s;
    try {
      s = session();
    } catch (StoreException e) {
      failure = new IOException(e.getMessage(), e);
      abort();
      throw failure;
    }
    byte[] chunk = buf;
    int len = fill;
    byte[] next = spare;
    spare = null;
    buf = next != null ? next : new byte[chunkSize];
    fill = 0;
    // The sender only records a failure: the writer aborts when it next waits (abort() waits for the sender).
    FutureTask<Void> send = new FutureTask<>(() -> {
      try {
        patch(s, chunk, len);
        spare = chunk;
      } catch (StoreException | RuntimeException e) {
        failure = new IOException(e.getMessage(), e);
      }
    }, null);
    // Published before it can run: an abort() that reads inFlight while the PATCH is already on its way must wait
    // for it, not DELETE the session under it (assigning submit()'s result left that window open).
    inFlight = send;
    SENDERS.execute(send);
  }

  /**
   * Waits until the registry acknowledged every full chunk handed to it; the partial chunk stays buffered until
   * commit. On a failed send the upload is aborted and the failure thrown.
   */
  void awaitSent() throws IOException {
    Future<?> f = inFlight;
    if (f != null) {
      try {
        f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        abort();
        throw new InterruptedIOException("interrupted while uploading a blob to " + store.location());
      } catch (ExecutionException e) {
        // The task catches its own failures; anything else is a bug worth its stack trace.
        failure = new IOException("cannot upload a blob to " + store.location() + ": " + e.getCause(), e.getCause());
      }
      inFlight = null;
    }
    if (failure != null) {
      abort();
      throw failure;
    }
  }

  /** The session, opened on first need; an abort meanwhile cancels it at once. */
  private URI session() throws StoreException {
    synchronized (state) {
      if (session != null) {
        return session;
      }
    }
    URI s = store.startSession("upload a blob");
    synchronized (state) {
      if (!aborted) {
        session = s;
        return s;
      }
    }
    store.cancelSession(s);
    throw new StoreException(StoreException.Kind.OTHER, "the upload to " + store.location() + " was aborted");
  }

  /** Sends {@code chunk[0, len)} as the next PATCH of the session; the session's Location moves on. */
  private void patch(URI first, byte[] chunk, int len) throws StoreException {
    URI s = first;
    long sent = this.sent;
    if (aborted) {
      throw new StoreException(StoreException.Kind.OTHER, "the upload to " + store.location() + " was aborted");
    }
    String what = "upload bytes " + sent + "-" + (sent + len - 1) + " of a blob to " + store.location();
    for (int resume = 0; ; resume++) {
      RegistryClient.Response r;
      try {
        r = client.send(RegistryClient.Request
            .withBody("PATCH", s, chunk, 0, len, RegistryAuth.Access.PUSH, what)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Range", sent + "-" + (sent + len - 1))
            .idempotent(false));
      } catch (StoreException e) {
        if (e.kind() != StoreException.Kind.UNAVAILABLE || resume >= CHUNK_RESUMES || aborted) {
          throw e;
        }
        // The chunk may or may not have arrived: ask the registry how far it got (GET is retried with backoff).
        long offset = uploadedSoFar(s, sent);
        if (offset == sent + len) {
          LOG.debug("{}: the registry had it already", what);
          this.sent = sent + len;
          return;
        }
        if (offset != sent) {
          throw new StoreException(StoreException.Kind.UNAVAILABLE, "cannot " + what + ": the registry holds "
              + offset + " bytes of the upload after a failed request, not " + sent, e);
        }
        LOG.info("{} failed ({}); sending the chunk again", what, e.getMessage());
        continue;
      }
      try (r) {
        if (r.status() != 202) {
          throw client.error(r, what);
        }
        URI next = store.uploadLocation(r, what);
        boolean abortedMeanwhile;
        synchronized (state) {
          session = next;
          abortedMeanwhile = aborted;
        }
        if (abortedMeanwhile) {
          // abort() ran during this PATCH; if it did not wait for it, it cancelled with the previous Location,
          // whose state the registry no longer accepts: cancel with the new one, once.
          synchronized (state) {
            session = null;
          }
          store.cancelSession(next);
          throw new StoreException(StoreException.Kind.OTHER, "the upload to " + store.location() + " was aborted");
        }
        this.sent = sent + len;
        return;
      }
    }
  }

  /** GET on the session: the Range header says how many bytes the registry holds ("0-<last>"). */
  private long uploadedSoFar(URI s, long sent) throws StoreException {
    String what = "check an upload's progress in " + store.location();
    try (RegistryClient.Response r = client.send(
        RegistryClient.Request.of("GET", s, RegistryAuth.Access.PUSH, what))) {
      if (r.status() != 204 && r.status() != 200) {
        throw client.error(r, what);
      }
      String range = r.header("Range").orElse("0-0");
      long end = Long.parseLong(range.substring(range.indexOf('-') + 1).trim());
      // distribution reports "0-0" for an empty upload as for a 1-byte one; an empty one is the likelier here.
      return end == 0 && sent == 0 ? 0 : end + 1;
    } catch (NumberFormatException e) {
      throw new StoreException(StoreException.Kind.OTHER, "cannot " + what + ": unreadable Range header", e);
    }
  }

  @Override
  public Descriptor commit(String mediaType, Digest digest, long size) throws StoreException {
    if (committed) {
      throw new IllegalStateException("upload already committed");
    }
    try {
      awaitSent();
    } catch (IOException ignored) {
      // reported just below from the failure kept
    }
    if (failure != null) {
      // The write that failed already aborted the upload; report why.
      Throwable cause = failure.getCause();
      StoreException.Kind kind = cause instanceof StoreException ? ((StoreException) cause).kind()
          : StoreException.Kind.UNAVAILABLE;
      throw new StoreException(kind, "cannot commit blob " + digest + " to " + store.location() + ": "
          + failure.getMessage(), failure);
    }
    if (aborted) {
      throw new StoreException(StoreException.Kind.OTHER,
          "cannot commit blob " + digest + " to " + store.location() + ": the upload was aborted");
    }
    long total = sent + fill;
    if (size != total) {
      abort();
      throw new IllegalArgumentException("blob " + digest + " was committed with size " + size + " but "
          + total + " bytes were written");
    }
    Descriptor d = Descriptor.of(mediaType, digest, size);
    try {
      boolean hasSession;
      synchronized (state) {
        hasSession = session != null;
      }
      if (store.hasBlob(digest)) {
        LOG.debug("blob {} already stored, skipped ({})", digest, store.location());
        abort();
        committed = true;
        return d;
      }
      URI s = hasSession ? session : session();
      if (fill > 0) {
        // The last bytes go as a PATCH too, and the PUT carries none: after a failed PUT (a digest mismatch)
        // distribution can cancel the session only when its state matches what it holds, which a PUT with a
        // body would leave behind.
        patch(s, buf, fill);
        fill = 0;
        synchronized (state) {
          s = session;
        }
      }
      put(s, digest);
      committed = true;
      staged.close();
      buf = new byte[0];
      spare = null;
      return d;
    } catch (StoreException | RuntimeException e) {
      abort();
      throw e;
    }
  }

  private void put(URI s, Digest digest) throws StoreException {
    String what = "finish the upload of blob " + digest + " to " + store.location();
    URI uri = RegistryStore.withQuery(s, "digest=" + RegistryStore.encode(digest.toString()));
    RegistryClient.Request req = RegistryClient.Request.of("PUT", uri, RegistryAuth.Access.PUSH, what)
        .header("Content-Type", "application/octet-stream")
        .idempotent(false);
    RegistryClient.Response r;
    try {
      r = client.send(req);
    } catch (StoreException e) {
      // The PUT may have completed before the connection broke: the blob is then there.
      if (e.kind() == StoreException.Kind.UNAVAILABLE && store.hasBlob(digest)) {
        return;
      }
      throw e;
    }
    try (r) {
      if (r.status() == 201) {
        String echoed = r.header("Docker-Content-Digest").orElse(digest.toString());
        if (!echoed.equals(digest.toString())) {
          throw new StoreException(StoreException.Kind.CORRUPT, "cannot " + what + ": the registry stored "
              + echoed);
        }
        return;
      }
      StoreException e = client.error(r, what);
      if (e.getMessage().contains("DIGEST_INVALID")) {
        throw new StoreException(StoreException.Kind.CORRUPT, e.getMessage()
            + "; the bytes that arrived do not have the digest computed while writing them");
      }
      throw e;
    }
  }

  @Override
  public void abort() {
    boolean first;
    synchronized (state) {
      if (committed) {
        return;
      }
      first = !aborted;
      aborted = true;
    }
    if (!first) {
      // Another thread (a shutdown hook, or the writer after a failure) is cancelling: wait for it, so that a
      // caller that closes the store next does not cut the cancel short.
      try {
        cancelled.await(ABORT_WAIT_SECONDS + 60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return;
    }
    try {
      cancel();
    } finally {
      cancelled.countDown();
      staged.close();
    }
  }

  private void cancel() {
    // A PATCH in flight moves the session to a new Location: wait for it (bounded; the sender never calls this),
    // so that the cancel below uses the Location the registry holds.
    Future<?> f = inFlight;
    if (f != null) {
      try {
        f.get(ABORT_WAIT_SECONDS, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException e) {
        LOG.debug("cancelling an upload to {} without waiting for its chunk in flight: {}", store.location(),
            e.toString());
      }
    }
    URI s;
    synchronized (state) {
      s = session;
    }
    // The buffer stays: a writer on another thread may be using it; its next write fails.
    if (s != null) {
      store.cancelSession(s);
    }
  }
}
