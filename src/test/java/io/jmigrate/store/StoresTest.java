package io.jmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests for {@link Stores}. */
class StoresTest {
  @TempDir
  Path temp;

  private static StoreException.Kind kind(Throwable e) {
    return ((StoreException) e).kind();
  }

  @Test
  void open_plainPath_localStoreAtThatPath() throws Exception {
    try (Store s = Stores.open(temp.resolve("repo").toString(), null)) {
      assertThat(s).isInstanceOf(LocalStore.class);
      assertThat(s.location()).isEqualTo("file:" + temp.resolve("repo"));
    }
  }

  @Test
  void open_fileUrlForms_sameLocalPath() throws Exception {
    Path repo = temp.resolve("my repo");
    String expected = "file:" + repo;
    for (String url : new String[] {"file:" + repo, "file://" + repo, "file://localhost" + repo,
        "file:" + repo.toString().replace(" ", "%20")}) {
      try (Store s = Stores.open(url, StoreOptions.defaults())) {
        assertThat(s.location()).as(url).isEqualTo(expected);
      }
    }
  }

  @Test
  void open_relativePath_madeAbsolute() throws Exception {
    try (Store s = Stores.open("backups-" + ProcessHandle.current().pid(), StoreOptions.defaults())) {
      assertThat(s.location()).startsWith("file:/").endsWith("/backups-" + ProcessHandle.current().pid());
    }
  }

  @Test
  void open_fileUrlWithRemoteHost_failsInvalid() {
    assertThatThrownBy(() -> Stores.open("file://nas/backups", StoreOptions.defaults()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("names host 'nas'")
        .satisfies(e -> assertThat(kind(e)).isEqualTo(StoreException.Kind.INVALID));
  }

  @Test
  void open_emptyUrl_failsInvalid() {
    assertThatThrownBy(() -> Stores.open("  ", StoreOptions.defaults()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("empty")
        .satisfies(e -> assertThat(kind(e)).isEqualTo(StoreException.Kind.INVALID));
  }

  @Test
  void open_unknownScheme_failsInvalidNamingIt() {
    assertThatThrownBy(() -> Stores.open("ftp://host/backups", StoreOptions.defaults()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("unsupported repository URL 'ftp://host/backups'")
        .hasMessageContaining("s3://BUCKET")
        .satisfies(e -> assertThat(kind(e)).isEqualTo(StoreException.Kind.INVALID));
  }

  @Test
  void open_ociUrl_opensRegistryStoreWithoutContactingIt() throws Exception {
    try (Store s = Stores.open("oci://127.0.0.1:5000/backups/web/", StoreOptions.defaults())) {
      assertThat(s).isInstanceOf(RegistryStore.class);
      assertThat(s.location()).isEqualTo("oci://127.0.0.1:5000/backups/web");
    }
  }

  @Test
  void open_ociUrlWithUppercaseRepository_failsInvalid() {
    assertThatThrownBy(() -> Stores.open("oci://127.0.0.1:5000/Backups", StoreOptions.defaults()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("'Backups' is not a valid repository path component")
        .satisfies(e -> assertThat(kind(e)).isEqualTo(StoreException.Kind.INVALID));
  }

  @Test
  void open_ociUrlWithoutRepository_failsInvalid() {
    assertThatThrownBy(() -> Stores.open("oci://registry:5000", StoreOptions.defaults()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("oci://HOST[:PORT]/REPOSITORY");
  }

  @Test
  void s3Location_bucketAndPrefix_normalised() throws Exception {
    Stores.S3Location a = Stores.s3Location("s3://my-bucket");
    Stores.S3Location b = Stores.s3Location("s3://my-bucket/backups//prod/");

    assertThat(a.bucket).isEqualTo("my-bucket");
    assertThat(a.prefix).isEmpty();
    assertThat(b.bucket).isEqualTo("my-bucket");
    assertThat(b.prefix).isEqualTo("backups/prod");
  }

  @Test
  void s3Location_noBucket_failsInvalid() {
    assertThatThrownBy(() -> Stores.open("s3:///prefix", StoreOptions.defaults()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("names no bucket")
        .satisfies(e -> assertThat(kind(e)).isEqualTo(StoreException.Kind.INVALID));
  }

  @Test
  void s3Location_badBucketName_failsInvalidNamingIt() {
    assertThatThrownBy(() -> Stores.open("s3://ab/prefix", StoreOptions.defaults()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("'ab'")
        .hasMessageContaining("not a valid S3 bucket name");
  }

  @Test
  void s3Location_credentialsInUrl_failsWithoutEchoingThem() {
    assertThatThrownBy(() -> Stores.open("s3://AKIAEXAMPLE:s3cr3t@bucket/x", StoreOptions.defaults()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("carries credentials")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cr3t").doesNotContain("AKIAEXAMPLE"));
  }

  @Test
  void describe_urlWithUserInfo_removesIt() {
    assertThat(Stores.describe("oci://user:pw@registry:5000/repo")).isEqualTo("oci://registry:5000/repo");
    assertThat(Stores.describe("s3://bucket/prefix")).isEqualTo("s3://bucket/prefix");
    assertThat(Stores.describe("/var/backups")).isEqualTo("file:/var/backups");
    assertThat(Stores.describe("file:///var/backups")).isEqualTo("file:/var/backups");
  }
}
