package io.jmigrate.migrate;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Tests for {@link ImageTransfer}'s byte counts as printed (the integration tests parse them). */
class ImageTransferTest {
  @Test
  void bytesText_anySize_isReadableAndExact() {
    assertThat(ImageTransfer.bytesText(0)).isEqualTo("0 B (0 bytes)");
    assertThat(ImageTransfer.bytesText(1023)).isEqualTo("1023 B (1023 bytes)");
    assertThat(ImageTransfer.bytesText(1_048_576)).isEqualTo("1.0 MiB (1048576 bytes)");
    assertThat(ImageTransfer.bytesText(1_610_612_736L)).isEqualTo("1.5 GiB (1610612736 bytes)");
  }
}
