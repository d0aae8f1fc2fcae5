package io.jmigrate.job;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML value as read from a configuration file, with the 1-based line and column where it starts, so that
 * every validation error can name {@code FILE:LINE:COLUMN}. Jackson's tree model drops locations; this one keeps
 * them. Package-private: only {@link JobConfigLoader} reads it.
 */
abstract class YamlNode {
  final int line;
  final int column;

  YamlNode(int line, int column) {
    this.line = line;
    this.column = column;
  }

  /** What the user wrote, for "expected X, got Y" messages. */
  abstract String describe();

  /** A mapping; keys keep the file's order. */
  static final class MapNode extends YamlNode {
    /** A key with its own position (unknown-key errors point at the key, not at its value). */
    static final class Entry {
      final String key;
      final int line;
      final int column;
      final YamlNode value;

      Entry(String key, int line, int column, YamlNode value) {
        this.key = key;
        this.line = line;
        this.column = column;
        this.value = value;
      }
    }

    private final Map<String, Entry> entries;

    MapNode(int line, int column, LinkedHashMap<String, Entry> entries) {
      super(line, column);
      this.entries = Collections.unmodifiableMap(entries);
    }

    Map<String, Entry> entries() {
      return entries;
    }

    Entry entry(String key) {
      return entries.get(key);
    }

    YamlNode get(String key) {
      Entry e = entries.get(key);
      return e == null ? null : e.value;
    }

    boolean has(String key) {
      return entries.containsKey(key);
    }

    @Override
    String describe() {
      return "a map";
    }
  }

  /** A sequence. */
  static final class ListNode extends YamlNode {
    private final List<YamlNode> items;

    ListNode(int line, int column, List<YamlNode> items) {
      super(line, column);
      this.items = List.copyOf(items);
    }

    List<YamlNode> items() {
      return items;
    }

    @Override
    String describe() {
      return "a list";
    }
  }

  /** A scalar: text as written, and the kind the YAML parser resolved it to. */
  static final class Scalar extends YamlNode {
    enum Kind {
      STRING,
      INTEGER,
      FLOAT,
      BOOLEAN,
      NULL
    }

    final Kind kind;
    final String text;

    Scalar(int line, int column, Kind kind, String text) {
      super(line, column);
      this.kind = kind;
      this.text = text;
    }

    boolean isNull() {
      return kind == Kind.NULL;
    }

    @Override
    String describe() {
      switch (kind) {
        case NULL:
          return "nothing (null)";
        case BOOLEAN:
          return "true/false (" + text + ")";
        case INTEGER:
        case FLOAT:
          return "a number (" + text + ")";
        default:
          return "a string (\"" + text + "\")";
      }
    }
  }
}
