package io.jmigrate.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmigrate.store.StoreOptions;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Tests for {@link RepositoryConfig}. */
class RepositoryConfigTest {

  @Test
  void checkUrl_acceptedForms_areNormalized() {
    Path base = Path.of("/etc/jmigrate");
    assertThat(RepositoryConfig.checkUrl("backups", base)).isEqualTo("/etc/jmigrate/backups");
    assertThat(RepositoryConfig.checkUrl("../b", base)).isEqualTo("/etc/b");
    assertThat(RepositoryConfig.checkUrl("/srv/b/", base)).isEqualTo("/srv/b");
    assertThat(RepositoryConfig.checkUrl("file:/srv/b", base)).isEqualTo("/srv/b");
    assertThat(RepositoryConfig.checkUrl("file:///srv/b", base)).isEqualTo("/srv/b");
    assertThat(RepositoryConfig.checkUrl("s3://my-bucket", base)).isEqualTo("s3://my-bucket");
    assertThat(RepositoryConfig.checkUrl("s3://my-bucket/a/b/", base)).isEqualTo("s3://my-bucket/a/b");
    assertThat(RepositoryConfig.checkUrl("oci://127.0.0.1:5000/team/backups", base))
        .isEqualTo("oci://127.0.0.1:5000/team/backups");
  }

  @Test
  void checkUrl_badForms_sayWhy() {
    assertThatThrownBy(() -> RepositoryConfig.checkUrl("s3://My_Bucket/x", null))
        .hasMessage("bad repository URL \"s3://My_Bucket/x\": the bucket name must be 3 to 63 lower-case letters, "
            + "digits, dots or hyphens; expected " + RepositoryConfig.EXPECTED_URL);
    assertThatThrownBy(() -> RepositoryConfig.checkUrl("oci://registry:5000/Team:latest", null))
        .hasMessageContaining("the repository must be lower-case path components like team/backups, without a tag");
    assertThatThrownBy(() -> RepositoryConfig.checkUrl("oci://registry:5000", null))
        .hasMessageContaining("the repository must be lower-case path components");
    assertThatThrownBy(() -> RepositoryConfig.checkUrl("oci://user:pw@registry/x", null))
        .hasMessageContaining("credentials do not belong in the URL");
    assertThatThrownBy(() -> RepositoryConfig.checkUrl("ftp://h/x", null))
        .hasMessageContaining("the scheme ftp: is not supported");
    assertThatThrownBy(() -> RepositoryConfig.checkUrl("file://host/x", null))
        .hasMessageContaining("a file URL names no host");
    assertThatThrownBy(() -> RepositoryConfig.checkUrl(" ", null)).hasMessageContaining("it is empty");
  }

  @Test
  void storeOptions_mapsEveryOption() {
    RepositoryConfig r = new RepositoryConfig("s3://b-1/p", "http://127.0.0.1:9000", "eu-west-1", false,
        RepositoryConfig.S3Checksum.WHEN_REQUIRED, StoreOptions.ChunkedSigning.OFF, false);

    StoreOptions o = r.storeOptions();

    assertThat(o.s3Endpoint()).isEqualTo("http://127.0.0.1:9000");
    assertThat(o.s3Region()).isEqualTo("eu-west-1");
    assertThat(o.s3PathStyle()).isFalse();
    assertThat(o.s3ChecksumWhenRequired()).isTrue();
    assertThat(o.s3ChunkedSigning()).isEqualTo(StoreOptions.ChunkedSigning.OFF);
    assertThat(o.insecureRegistry()).isFalse();
    assertThat(r.kind()).isEqualTo(RepositoryConfig.Kind.S3);
    StoreOptions defaults = RepositoryConfig.of("s3://b-1").storeOptions();
    assertThat(defaults.s3PathStyle()).isNull();
    assertThat(defaults.s3ChecksumWhenRequired()).isFalse();
    assertThat(defaults.s3ChunkedSigning()).isEqualTo(StoreOptions.ChunkedSigning.AUTO);
    assertThat(new RepositoryConfig("oci://r/x", null, null, null, RepositoryConfig.S3Checksum.WHEN_SUPPORTED,
        StoreOptions.ChunkedSigning.AUTO, true).storeOptions().insecureRegistry()).isTrue();
  }
}
