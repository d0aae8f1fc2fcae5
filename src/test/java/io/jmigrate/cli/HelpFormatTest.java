package io.jmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Tests for {@link HelpFormat}'s line breaking (the whole help is checked in MainTest). */
class HelpFormatTest {
  @Test
  void lineEnd_textLongerThanTheRoom_breaksAtTheLastSpaceThatFits() {
    String text = "Docker engine: unix:///path, tcp://host:port, ssh://[user@]host[:port]";
    int end = HelpFormat.SpaceWrappedTable.lineEnd(text, 0, 50);
    assertThat(text.substring(0, end)).isEqualTo("Docker engine: unix:///path, tcp://host:port,");
  }

  @Test
  void lineEnd_textThatFits_isWhole() {
    assertThat(HelpFormat.SpaceWrappedTable.lineEnd("a b c", 2, 3)).isEqualTo(5);
  }

  @Test
  void lineEnd_wordLongerThanTheRoom_isKeptWhole() {
    String text = "  ~/.docker/contexts/meta/0123456789abcdef and more";
    assertThat(text.substring(0, HelpFormat.SpaceWrappedTable.lineEnd(text, 0, 10)))
        .isEqualTo("  ~/.docker/contexts/meta/0123456789abcdef");
  }
}
