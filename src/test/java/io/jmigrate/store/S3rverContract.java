package io.jmigrate.store;

import io.jmigrate.blob.Digest;
import io.jmigrate.testing.S3ProxyServer;
import io.jmigrate.testing.S3rverServer;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The store contract against s3rver, a second S3 implementation (S3StoreIT runs it against S3Proxy): one that
 * stores what it is sent, has no AbortMultipartUpload, and cannot list multipart uploads. Subclasses start it over
 * http or https.
 */
abstract class S3rverContract extends StoreContract {
  private static final AtomicInteger BUCKETS = new AtomicInteger();
  static final long PART = 5 * (long) MIB;

  protected String bucket;

  /** The server of the subclass, started in its {@code @BeforeAll}. */
  protected abstract S3rverServer server();

  protected String url() {
    return "s3://" + bucket + "/repo";
  }

  /** Small parts (the 5 MiB minimum) and two in flight, so tests cross part boundaries quickly. */
  protected StoreOptions options() {
    return server().storeOptions().s3PartSize(PART).s3Concurrency(2).build();
  }

  static void useServerCredentials() {
    S3rverServer.useCredentials();
  }

  static void forgetCredentials() {
    S3ProxyServer.useCredentials(null, null);
  }

  @Override
  protected Store openStore() throws Exception {
    bucket = "jm-s3rver-" + BUCKETS.incrementAndGet();
    server().createBucket(bucket);
    return Stores.open(url(), options());
  }

  @Override
  protected Store reopen() throws Exception {
    return Stores.open(url(), options());
  }

  @Override
  protected void corrupt(Digest digest) throws Exception {
    Path file = server().objectFile(bucket, "repo/blobs/sha256/" + digest.hex());
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      long pos = f.length() / 2;
      f.seek(pos);
      int b = f.read();
      f.seek(pos);
      f.write(b ^ 0x5a);
    }
  }

  /** What the store reports (tmp/ objects), plus every multipart upload s3rver still keeps on disk. */
  @Override
  protected List<String> stagingLeftovers() throws Exception {
    List<String> out = new ArrayList<>(((S3Store) store).stagingLeftovers());
    out.addAll(server().unfinishedUploads(bucket));
    return out;
  }
}
