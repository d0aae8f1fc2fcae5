package io.jmigrate.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.archive.Compression;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.DigestMismatchException;
import io.jmigrate.store.Store;
import io.jmigrate.store.StoreOptions;
import io.jmigrate.store.Stores;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link Contents}. */
class ContentsTest {
  @TempDir
  Path dir;

  private Store store;
  private final byte[] content = "pretend this is a tar stream ".repeat(5000).getBytes(StandardCharsets.UTF_8);

  @BeforeEach
  void open() throws Exception {
    store = Stores.open(dir.resolve("repo").toString(), StoreOptions.defaults());
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void put_thenOpen_roundTripsCompressedWithBothDigests() throws Exception {
    Contents.Stored s = Contents.put(store, Store.ContentKind.VOLUME, "test volume", null, out -> out.write(content));
    assertThat(s.reused()).isFalse();
    assertThat(s.diffId()).isEqualTo(Digest.of(content));
    assertThat(s.uncompressedSize()).isEqualTo(content.length);
    assertThat(s.blob().mediaType()).isEqualTo(Compression.ZSTD.volumeMediaType());
    assertThat(s.blob().size()).isLessThan(content.length / 10);
    try (InputStream in = Contents.open(store, s.blob(), s.diffId(), s.uncompressedSize(), "test volume")) {
      assertThat(in.readAllBytes()).isEqualTo(content);
    }
  }

  @Test
  void put_twice_storesOneBlobAndReusesIt() throws Exception {
    Contents.Stored first = Contents.put(store, Store.ContentKind.LAYER, "layer", null, out -> out.write(content));
    long blobs = blobCount();
    Contents.Stored second = Contents.put(store, Store.ContentKind.LAYER, "layer", null, out -> out.write(content));
    assertThat(second.reused()).isTrue();
    assertThat(second.blob().digest()).isEqualTo(first.blob().digest());
    assertThat(blobCount()).isEqualTo(blobs);
    assertThat(tmpLeftovers()).isZero();
  }

  @Test
  void put_knownDiffIdAlreadyStored_neverCallsTheSource() throws Exception {
    Contents.Stored first = Contents.put(store, Store.ContentKind.LAYER, "layer", null, out -> out.write(content));
    Contents.Stored again = Contents.put(store, Store.ContentKind.LAYER, "layer", first.diffId(), out -> {
      throw new AssertionError("the source must not be read");
    });
    assertThat(again.reused()).isTrue();
    assertThat(again.uncompressedSize()).isEqualTo(content.length);
  }

  @Test
  void open_corruptedStoredBlob_failsNamingTheContext() throws Exception {
    Contents.Stored s = Contents.put(store, Store.ContentKind.VOLUME, "v", null, out -> out.write(content));
    Path blob = dir.resolve("repo/blobs/sha256/" + s.blob().digest().hex());
    try (RandomAccessFile f = new RandomAccessFile(blob.toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0x55);
    }
    assertThatThrownBy(() -> {
      try (InputStream in = Contents.open(store, s.blob(), s.diffId(), s.uncompressedSize(), "volume v of snapshot x")) {
        in.readAllBytes();
      }
    }).isInstanceOf(DigestMismatchException.class).hasMessageContaining("volume v of snapshot x");
  }

  @Test
  void hashOnly_matchesPut() throws Exception {
    Contents.Stored h = Contents.hashOnly(out -> out.write(content));
    Contents.Stored s = Contents.put(store, Store.ContentKind.VOLUME, "v", h.diffId(), out -> out.write(content));
    assertThat(s.diffId()).isEqualTo(h.diffId());
    assertThat(h.blob()).isNull();
  }

  private long blobCount() throws Exception {
    try (Stream<Path> s = Files.list(dir.resolve("repo/blobs/sha256"))) {
      return s.count();
    }
  }

  private long tmpLeftovers() throws Exception {
    Path tmp = dir.resolve("repo/tmp");
    if (!Files.exists(tmp)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(tmp)) {
      return s.count();
    }
  }
}
