package io.jmigrate.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;

/**
 * Proves, right after each object write and before anything refers to the object, that the server stored what it
 * was sent: the stored length (HEAD), and for a single PUT the ETag, which S3 defines as the MD5 of the body for
 * objects not encrypted with KMS or a customer key.
 *
 * <p>Why: s3rver 3.7.1 over plain http stores the raw {@code aws-chunked} framing of a body the SDK signs in chunks
 * ({@code 21e;chunk-signature=…}) as the object, and answers 200; a backup then "published" a snapshot whose every
 * object was unreadable (issue 9). A failed check deletes the object it wrote, so that a later write of the same
 * key is not skipped as "already stored", and fails with one line naming the server's behaviour and the option
 * that avoids it.
 *
 * <p>Some servers' ETags are not MD5s (AWS with SSE-KMS, some S3-compatible servers). The first ETag that differs
 * from the MD5 while the length is right is settled by reading that object back; if its bytes are the ones sent,
 * this server's ETags are taken as opaque from then on and only lengths are checked.
 */
final class S3StoredCheck {
  private static final Logger LOG = LoggerFactory.getLogger(S3StoredCheck.class);
  private static final Pattern MD5_HEX = Pattern.compile("[0-9a-f]{32}");
  private static final Pattern CHUNK_FRAMING = Pattern.compile("^[0-9a-fA-F]{1,16};chunk-signature=");

  private final S3Client s3;
  private final String bucket;
  private final String location;
  private final String endpoint;
  private final boolean chunkedSigning;
  /** Set once a read-back showed that this server's ETags are not MD5s of the content. */
  private volatile boolean opaqueEtags;

  /**
   * @param chunkedSigning whether the client may sign streamed bodies in chunks ({@code aws-chunked}), which
   *     decides what the failure message advises
   */
  S3StoredCheck(S3Client s3, String bucket, String location, String endpoint, boolean chunkedSigning) {
    this.s3 = s3;
    this.bucket = bucket;
    this.location = location;
    this.endpoint = endpoint;
    this.chunkedSigning = chunkedSigning;
  }

  /** After a PutObject of {@code content[0, length)} to {@code key}. */
  void afterPut(String key, byte[] content, int length, PutObjectResponse r) throws StoreException {
    String etag = etag(r.eTag());
    boolean comparable = !opaqueEtags && etag != null && MD5_HEX.matcher(etag).matches()
        && r.serverSideEncryption() != ServerSideEncryption.AWS_KMS
        && r.serverSideEncryption() != ServerSideEncryption.AWS_KMS_DSSE && r.sseCustomerAlgorithm() == null;
    if (comparable && etag.equals(md5(content, length))) {
      return;
    }
    long stored = storedLength(key);
    if (stored != length) {
      throw failed(key, length, stored);
    }
    if (!comparable) {
      return;
    }
    // Right length, other ETag: either other bytes of the same length, or ETags that are not MD5s.
    if (!sameBytes(key, content, length)) {
      deleteQuietly(key);
      throw new StoreException(StoreException.Kind.OTHER, "cannot write " + key + " in " + location + ": "
          + endpoint + " stored other bytes than the " + length + " sent (its ETag " + etag + " is not their MD5)"
          + advice());
    }
    opaqueEtags = true;
    LOG.info("{} answers ETags that are not MD5s of the content (encryption, or its own scheme): checking stored"
        + " lengths only", endpoint);
  }

  /** After a write whose ETag says nothing checkable (a completed multipart upload, a server-side copy). */
  void afterWrite(String key, long length) throws StoreException {
    long stored = storedLength(key);
    if (stored != length) {
      throw failed(key, length, stored);
    }
  }

  private long storedLength(String key) throws StoreException {
    try {
      Long len = s3.headObject(r -> r.bucket(bucket).key(key)).contentLength();
      return len == null ? -1 : len;
    } catch (SdkException e) {
      throw new StoreException(StoreException.Kind.UNAVAILABLE, "cannot check " + key + " in " + location
          + " after writing it: " + e.getMessage(), e);
    }
  }

  private StoreException failed(String key, long sent, long stored) {
    String framing = framingOf(key) ? " (it kept the aws-chunked framing of the signed upload instead of decoding it)"
        : "";
    deleteQuietly(key);
    return new StoreException(StoreException.Kind.OTHER, "cannot write " + key + " in " + location + ": " + endpoint
        + " stored " + stored + " bytes for the " + sent + " sent" + framing + advice());
  }

  private String advice() {
    return chunkedSigning
        ? "; use --s3-chunked-signing off (s3-chunked-signing: off in a job file)"
        : "; this server does not store what it is sent: use another S3 server";
  }

  /** Whether the stored object starts like an aws-chunked body ("21e;chunk-signature=…"). */
  private boolean framingOf(String key) {
    try (ResponseInputStream<GetObjectResponse> in = s3.getObject(r -> r.bucket(bucket).key(key).range("bytes=0-99"))) {
      byte[] head = in.readNBytes(100);
      return CHUNK_FRAMING.matcher(new String(head, StandardCharsets.ISO_8859_1)).find();
    } catch (SdkException | IOException e) {
      LOG.debug("cannot read the start of {}: {}", key, e.toString());
      return false;
    }
  }

  private boolean sameBytes(String key, byte[] content, int length) throws StoreException {
    try (ResponseInputStream<GetObjectResponse> in = s3.getObject(r -> r.bucket(bucket).key(key))) {
      byte[] buf = new byte[64 * 1024];
      int pos = 0;
      int n;
      while ((n = in.read(buf)) > 0) {
        if (pos + n > length || !Arrays.equals(buf, 0, n, content, pos, pos + n)) {
          in.abort();
          return false;
        }
        pos += n;
      }
      return pos == length;
    } catch (SdkException | IOException e) {
      throw new StoreException(StoreException.Kind.UNAVAILABLE, "cannot read " + key + " in " + location
          + " back after writing it: " + e.getMessage(), e);
    }
  }

  private void deleteQuietly(String key) {
    try {
      s3.deleteObject(r -> r.bucket(bucket).key(key));
    } catch (SdkException e) {
      LOG.warn("could not delete {} from {} after its failed check: {}", key, location, e.getMessage());
    }
  }

  private static String etag(String raw) {
    if (raw == null) {
      return null;
    }
    String e = raw.strip();
    if (e.startsWith("W/")) {
      e = e.substring(2);
    }
    if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
      e = e.substring(1, e.length() - 1);
    }
    return e.toLowerCase(Locale.ROOT);
  }

  static String md5(byte[] content, int length) {
    try {
      MessageDigest md = MessageDigest.getInstance("MD5");
      md.update(content, 0, length);
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no MD5", e);
    }
  }
}
