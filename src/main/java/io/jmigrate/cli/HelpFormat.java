package io.jmigrate.cli;

import java.util.IllegalFormatException;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Help;
import picocli.CommandLine.Help.Ansi.Text;
import picocli.CommandLine.Help.Column;
import picocli.CommandLine.Help.ColorScheme;
import picocli.CommandLine.Help.TextTable;
import picocli.CommandLine.IHelpFactory;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.Model.UsageMessageSpec;

/**
 * {@code --help} that wraps lines at spaces only. picocli wraps with {@link java.text.BreakIterator}'s line rules,
 * which allow a break after ':', '/' and '.', so URLs and paths came out as {@code ssh:⏎//host} and
 * {@code ~/.⏎docker}. Every table picocli builds for the help (synopsis, description, options, parameters,
 * commands, exit codes) is made here as a {@link SpaceWrappedTable} with picocli's own columns; the layout is
 * otherwise picocli's.
 */
final class HelpFormat implements IHelpFactory {
  @Override
  public Help create(CommandSpec commandSpec, ColorScheme colorScheme) {
    return new SpaceWrappedHelp(commandSpec, colorScheme);
  }

  /** picocli's Help, with every text table replaced by a {@link SpaceWrappedTable} of the same columns. */
  static final class SpaceWrappedHelp extends Help {
    SpaceWrappedHelp(CommandSpec commandSpec, ColorScheme colorScheme) {
      super(commandSpec, colorScheme);
    }

    private int width() {
      return commandSpec().usageMessage().width();
    }

    private SpaceWrappedTable table(Column... columns) {
      SpaceWrappedTable t = new SpaceWrappedTable(colorScheme(), columns);
      t.setAdjustLineBreaksForWideCJKCharacters(
          commandSpec().usageMessage().adjustLineBreaksForWideCJKCharacters());
      return t;
    }

    @Override
    public Layout createDefaultLayout(List<OptionSpec> options, List<PositionalParamSpec> positionals,
        ColorScheme aColorScheme) {
      Column[] columns = TextTable.forDefaultColumns(aColorScheme,
          calcLongOptionColumnWidth(options, positionals, aColorScheme), width()).columns();
      return new Layout(aColorScheme, table(columns), createDefaultOptionRenderer(),
          createDefaultParameterRenderer());
    }

    @Override
    public String description(Object... params) {
      return lines(commandSpec().usageMessage().description(), params);
    }

    @Override
    public String header(Object... params) {
      return lines(commandSpec().usageMessage().header(), params);
    }

    @Override
    public String footer(Object... params) {
      return lines(commandSpec().usageMessage().footer(), params);
    }

    /** As picocli's Help.join: one row per value, in one column as wide as the help. */
    private String lines(String[] values, Object... params) {
      if (values == null || values.length == 0) {
        return "";
      }
      SpaceWrappedTable t = table(new Column(width(), 0, Column.Overflow.WRAP));
      t.indentWrappedLines = 0;
      for (String v : values) {
        t.addRowValues(format(v, params));
      }
      return t.toString();
    }

    /** As picocli's: the exit code list and other two-column maps. */
    @Override
    public TextTable createTextTable(Map<?, ?> map) {
      int spacing = 3;
      int indent = 2;
      int keyLength = 0;
      for (Object k : map == null ? List.of() : map.keySet()) {
        keyLength = Math.max(keyLength, String.valueOf(k).length());
      }
      keyLength = Math.min(width() - spacing - 1, keyLength);
      SpaceWrappedTable t = table(new Column(keyLength + spacing, indent, Column.Overflow.SPAN),
          new Column(width() - (keyLength + spacing), indent, Column.Overflow.WRAP));
      if (map != null) {
        for (Map.Entry<?, ?> e : map.entrySet()) {
          t.addRowValues(format(String.valueOf(e.getKey())), format(String.valueOf(e.getValue())));
        }
      }
      return t;
    }

    /** As picocli's: command names and the first line of their header. */
    @Override
    public String commandList(Map<String, Help> subcommands) {
      if (subcommands.isEmpty()) {
        return "";
      }
      int commandLength = 0;
      for (String name : subcommands.keySet()) {
        commandLength = Math.max(commandLength, name.length());
      }
      commandLength = Math.min(commandLength, width() / 2);
      SpaceWrappedTable t = table(new Column(commandLength + 2, 2, Column.Overflow.SPAN),
          new Column(width() - (commandLength + 2), 2, Column.Overflow.WRAP));
      for (Map.Entry<String, Help> e : subcommands.entrySet()) {
        UsageMessageSpec usage = e.getValue().commandSpec().usageMessage();
        String header = usage.header().length > 0 ? usage.header()[0]
            : usage.description().length > 0 ? usage.description()[0] : "";
        Text[] lines = colorScheme().text(format(header)).splitLines();
        for (int i = 0; i < lines.length; i++) {
          t.addRowValues(i == 0 ? e.getValue().commandNamesText(", ") : Ansi.OFF.new Text(0), lines[i]);
        }
      }
      return t.toString();
    }

    /** As picocli's: wrapped lines of the synopsis line up after the command name. */
    @Override
    protected String insertSynopsisCommandName(int synopsisHeadingLength, Text details) {
      String commandName = commandSpec().qualifiedName();
      UsageMessageSpec usage = commandSpec().usageMessage();
      int indent = synopsisHeadingLength + commandName.length() + 1;
      if (indent > usage.synopsisAutoIndentThreshold() * width()) {
        indent = usage.synopsisIndent() < 0 ? synopsisHeadingLength : usage.synopsisIndent();
        // picocli's UsageMessageSpec.MAX_SYNOPSIS_AUTO_INDENT_THRESHOLD (private).
        indent = Math.min(indent, (int) (0.9 * width()));
      }
      SpaceWrappedTable t = table(new Column(width(), 0, Column.Overflow.WRAP));
      t.indentWrappedLines = indent;
      // Not spaces, which would be a place to break: the padding stands for the heading and is cut off below.
      Text padding = Ansi.OFF.new Text("X".repeat(synopsisHeadingLength), colorScheme());
      t.addRowValues(padding.concat(colorScheme().commandText(commandName)).concat(details));
      return t.toString().substring(synopsisHeadingLength);
    }

    private static String format(String text, Object... params) {
      try {
        return text == null ? "" : String.format(text, params);
      } catch (IllegalFormatException e) {
        return text;
      }
    }
  }

  /**
   * A picocli text table whose wrapping columns break lines at spaces only. A word longer than its column is the
   * one thing still cut (by picocli), since it cannot fit anywhere.
   */
  static final class SpaceWrappedTable extends TextTable {
    SpaceWrappedTable(ColorScheme colorScheme, Column... columns) {
      super(colorScheme, columns);
    }

    @Override
    public Cell putValue(int row, int col, Text value) {
      // columns() clones the array, not the Column objects: the indent set below is picocli's own, restored after.
      Column column = columns()[col];
      if (value == null || column.overflow != Column.Overflow.WRAP) {
        return super.putValue(row, col, value);
      }
      String plain = value.plainString();
      int firstIndent = column.indent;
      int start = 0;
      int r = row;
      Cell last = new Cell(col, row);
      while (start < plain.length()) {
        int indent = r == row ? firstIndent : firstIndent + indentWrappedLines;
        int end = lineEnd(plain, start, Math.max(1, column.width - indent));
        if (r != row) {
          addEmptyRow();
        }
        column.indent = indent;
        try {
          // The piece fits the column, so picocli writes it whole on this row.
          last = super.putValue(r, col, value.substring(start, end));
        } finally {
          column.indent = firstIndent;
        }
        r = last.row + 1;
        start = end;
        while (start < plain.length() && plain.charAt(start) == ' ') {
          start++;
        }
      }
      return last;
    }

    /**
     * Where the line that starts at {@code start} ends: at the last space that leaves it at most {@code room}
     * characters long, or after the first word when even that is longer.
     */
    static int lineEnd(String text, int start, int room) {
      if (text.length() - start <= room) {
        return text.length();
      }
      int space = text.lastIndexOf(' ', start + room);
      while (space > start && text.charAt(space - 1) == ' ') {
        space--;
      }
      if (space > start) {
        return space;
      }
      int word = start;
      while (word < text.length() && text.charAt(word) == ' ') {
        word++;
      }
      int next = text.indexOf(' ', word);
      return next < 0 ? text.length() : next;
    }
  }
}
