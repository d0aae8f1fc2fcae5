package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmigrate.archive.Compression;
import io.jmigrate.blob.Digest;
import io.jmigrate.blob.MediaTypes;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Tests for {@link RegistryStore}'s pure helpers. */
class RegistryStoreTest {

  @Test
  void withQuery_locationWithState_appendsWithAmpersand() {
    URI u = URI.create("http://r:5000/v2/a/blobs/uploads/123?_state=abc%3D%3D");

    assertThat(RegistryStore.withQuery(u, "digest=sha256%3Aff").toString())
        .isEqualTo("http://r:5000/v2/a/blobs/uploads/123?_state=abc%3D%3D&digest=sha256%3Aff");
  }

  @Test
  void withQuery_locationWithoutQuery_startsQuery() {
    URI u = URI.create("https://r/v2/a/blobs/uploads/123");

    assertThat(RegistryStore.withQuery(u, "digest=x").toString()).isEqualTo("https://r/v2/a/blobs/uploads/123?digest=x");
  }

  @Test
  void parseNextLink_relNext_resolvesAgainstRequest() {
    URI against = URI.create("http://r:5000/v2/a/tags/list?n=2");

    URI next = RegistryStore.parseNextLink(against, "</v2/a/tags/list?last=b&n=2>; rel=\"next\"");

    assertThat(next.toString()).isEqualTo("http://r:5000/v2/a/tags/list?last=b&n=2");
  }

  @Test
  void parseNextLink_otherRelations_ignoredOrNull() {
    URI against = URI.create("http://r/v2/a/tags/list");

    assertThat(RegistryStore.parseNextLink(against, "</x>; rel=\"prev\"")).isNull();
    assertThat(RegistryStore.parseNextLink(against, "</x>; rel=\"prev\", </y>; rel=next").toString())
        .isEqualTo("http://r/y");
  }

  @Test
  void mediaTypeOf_manifestField_winsOverContentType() {
    byte[] index = ("{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_INDEX + "\"}")
        .getBytes(StandardCharsets.UTF_8);
    byte[] bare = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);

    assertThat(RegistryStore.mediaTypeOf(index, MediaTypes.OCI_MANIFEST)).isEqualTo(MediaTypes.OCI_INDEX);
    assertThat(RegistryStore.mediaTypeOf(bare, MediaTypes.DOCKER_MANIFEST)).isEqualTo(MediaTypes.DOCKER_MANIFEST);
    assertThat(RegistryStore.mediaTypeOf(bare, null)).isEqualTo(MediaTypes.OCI_MANIFEST);
  }

  @Test
  void aliasKey_compressionAndDiffIdHex() {
    Digest d = Digest.of("x".getBytes(StandardCharsets.UTF_8));

    assertThat(RegistryAliases.key(Compression.ZSTD, d)).isEqualTo("zstd-" + d.hex());
    assertThat(RegistryAliases.key(Compression.GZIP, d)).isEqualTo("gzip-" + d.hex());
    assertThat(RegistryAliases.key(Compression.NONE, d)).isEqualTo("tar-" + d.hex());
  }

  @Test
  void internalTag_underscoreJmigratePrefixOnly() {
    assertThat(RegistryStore.internalTag("_jmigrate-lock-shared-1")).isTrue();
    assertThat(RegistryStore.internalTag("_jmigrate-alias-zstd-00")).isTrue();
    assertThat(RegistryStore.internalTag("jmigrate-lock-20261124T010203Z")).isFalse();
    assertThat(RegistryStore.internalTag("web-20261124T010203Z")).isFalse();
  }

  @Test
  void retry_delay_growsAndIsCapped() {
    RegistryClient.Retry r = RegistryClient.Retry.defaults();

    assertThat(r.delay(0).toMillis()).isBetween(500L, 625L);
    assertThat(r.delay(2).toMillis()).isBetween(2000L, 2500L);
    assertThat(r.delay(30).toMillis()).isBetween(8000L, 10000L);
  }
}
