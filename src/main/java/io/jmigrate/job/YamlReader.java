package io.jmigrate.job;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Reads one YAML document into {@link YamlNode}s with positions, using Jackson's streaming YAML parser (whose
 * token locations are 1-based lines and columns). Rejects what would silently change meaning: duplicate keys
 * (YAML says they are an error, the parser keeps the last), aliases (Jackson does not resolve them and would
 * hand us the alias name as a string), and more than one document.
 */
final class YamlReader {
  private static final YAMLFactory FACTORY = YAMLFactory.builder().build();

  private final String file;

  private YamlReader(String file) {
    this.file = file;
  }

  /** Reads the document; returns null for an empty one. The caller closes {@code in}. */
  static YamlNode read(Reader in, String file) throws ConfigException {
    return new YamlReader(file).readDocument(in);
  }

  private YamlNode readDocument(Reader in) throws ConfigException {
    try (JsonParser p = FACTORY.createParser(in)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        return null;
      }
      YamlNode root = readValue(p, t);
      JsonToken extra = p.nextToken();
      if (extra != null) {
        JsonLocation l = p.currentTokenLocation();
        throw ConfigException.at(file, l.getLineNr(), l.getColumnNr(),
            "a second YAML document starts here; expected one document (remove the '---' separator)");
      }
      return root;
    } catch (IOException e) {
      throw syntaxError(e);
    }
  }

  private YamlNode readValue(JsonParser p, JsonToken t) throws IOException, ConfigException {
    JsonLocation l = p.currentTokenLocation();
    int line = l.getLineNr();
    int column = l.getColumnNr();
    if (p instanceof YAMLParser && ((YAMLParser) p).isCurrentAlias()) {
      throw ConfigException.at(file, line, column,
          "YAML alias *" + p.getText() + " is not supported; expected the value written out in full");
    }
    switch (t) {
      case START_OBJECT:
        return readMap(p, line, column);
      case START_ARRAY: {
        List<YamlNode> items = new ArrayList<>();
        JsonToken n;
        while ((n = p.nextToken()) != JsonToken.END_ARRAY) {
          items.add(readValue(p, n));
        }
        return new YamlNode.ListNode(line, column, items);
      }
      case VALUE_STRING:
        return new YamlNode.Scalar(line, column, YamlNode.Scalar.Kind.STRING, p.getText());
      case VALUE_NUMBER_INT:
        return new YamlNode.Scalar(line, column, YamlNode.Scalar.Kind.INTEGER, p.getText());
      case VALUE_NUMBER_FLOAT:
        return new YamlNode.Scalar(line, column, YamlNode.Scalar.Kind.FLOAT, p.getText());
      case VALUE_TRUE:
      case VALUE_FALSE:
        return new YamlNode.Scalar(line, column, YamlNode.Scalar.Kind.BOOLEAN, p.getText());
      case VALUE_NULL:
        return new YamlNode.Scalar(line, column, YamlNode.Scalar.Kind.NULL, null);
      default:
        throw ConfigException.at(file, line, column, "unexpected YAML content (" + t + "); expected a map, a list or a value");
    }
  }

  private YamlNode readMap(JsonParser p, int line, int column) throws IOException, ConfigException {
    LinkedHashMap<String, YamlNode.MapNode.Entry> entries = new LinkedHashMap<>();
    JsonToken n;
    while ((n = p.nextToken()) == JsonToken.FIELD_NAME) {
      JsonLocation kl = p.currentTokenLocation();
      String key = p.currentName();
      YamlNode.MapNode.Entry previous = entries.get(key);
      if (previous != null) {
        throw ConfigException.at(file, kl.getLineNr(), kl.getColumnNr(), "duplicate key \"" + key
            + "\" (first at line " + previous.line + "); expected each key once");
      }
      YamlNode value = readValue(p, p.nextToken());
      entries.put(key, new YamlNode.MapNode.Entry(key, kl.getLineNr(), kl.getColumnNr(), value));
    }
    if (n != JsonToken.END_OBJECT) {
      JsonLocation l = p.currentTokenLocation();
      throw ConfigException.at(file, l.getLineNr(), l.getColumnNr(), "unexpected YAML content (" + n + ") in a map");
    }
    return new YamlNode.MapNode(line, column, entries);
  }

  /** Turns the parser's exception into FILE:LINE:COLUMN with SnakeYAML's own problem text. */
  private ConfigException syntaxError(IOException e) {
    Throwable cause = e.getCause();
    if (cause instanceof MarkedYAMLException) {
      MarkedYAMLException m = (MarkedYAMLException) cause;
      Mark mark = m.getProblemMark() != null ? m.getProblemMark() : m.getContextMark();
      StringBuilder msg = new StringBuilder("invalid YAML: ").append(oneLine(m.getProblem()));
      if (m.getContext() != null && m.getContextMark() != null) {
        msg.append(" (").append(oneLine(m.getContext())).append(" that starts at line ")
            .append(m.getContextMark().getLine() + 1).append(", column ").append(m.getContextMark().getColumn() + 1)
            .append(')');
      }
      msg.append("; expected well-formed YAML (indent with spaces, close every [ and {, quote values with ': ')");
      if (mark != null) {
        return ConfigException.at(file, mark.getLine() + 1, mark.getColumn() + 1, msg.toString(), e);
      }
    }
    JsonLocation l = e instanceof com.fasterxml.jackson.core.JsonProcessingException
        ? ((com.fasterxml.jackson.core.JsonProcessingException) e).getLocation()
        : null;
    String text = e instanceof com.fasterxml.jackson.core.JsonProcessingException
        ? ((com.fasterxml.jackson.core.JsonProcessingException) e).getOriginalMessage()
        : e.getMessage();
    String msg = "invalid YAML: " + oneLine(text) + "; expected well-formed YAML";
    return l != null && l.getLineNr() > 0
        ? ConfigException.at(file, l.getLineNr(), Math.max(1, l.getColumnNr()), msg, e)
        : ConfigException.inFile(file, msg, e);
  }

  private static String oneLine(String s) {
    if (s == null) {
      return "unreadable";
    }
    return s.strip().replaceAll("\\s*\\n\\s*", " ");
  }
}
