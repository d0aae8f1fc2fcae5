package io.jmigrate.store;

/** An S3 repository; being written (see docs/stores.md). */
final class S3Store {
  private S3Store() {}

  static Store open(String bucket, String prefix, StoreOptions options) throws StoreException {
    throw new StoreException(StoreException.Kind.INVALID,
        "cannot open s3://" + bucket + "/" + prefix + ": S3 support is not built in yet");
  }
}
