package io.jmigrate.job;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Which containers a job backs up: a list of names, a label selector, or a compose project. Exactly one per job.
 * {@link #matches} is the pure test the runner applies to each container the engine lists.
 */
public sealed interface Selection permits Selection.Names, Selection.Labels, Selection.Project {

  /** The compose label that names a container's project. */
  String COMPOSE_PROJECT_LABEL = "com.docker.compose.project";

  /**
   * True when a container with this name (with or without the engine's leading {@code /}) and these labels is
   * selected. Exclusions are applied separately.
   */
  boolean matches(String containerName, Map<String, String> labels);

  /** One line for logs, e.g. {@code containers web, db}. */
  String display();

  /** Containers named one by one ({@code containers:}). */
  record Names(List<String> names) implements Selection {
    public Names {
      names = List.copyOf(names);
      if (names.isEmpty()) {
        throw new IllegalArgumentException("a container selection needs at least one name");
      }
    }

    @Override
    public boolean matches(String containerName, Map<String, String> labels) {
      return names.contains(stripSlash(containerName));
    }

    @Override
    public String display() {
      return "containers " + String.join(", ", names);
    }
  }

  /**
   * A label selector ({@code labels:}): every entry must match; a null value means "the key is present, any
   * value", as {@code docker ps --filter label=KEY} does.
   */
  record Labels(Map<String, String> selector) implements Selection {
    public Labels {
      if (selector.isEmpty()) {
        throw new IllegalArgumentException("a label selection needs at least one label");
      }
      // Map.copyOf rejects null values, which mean "key present" here.
      selector = Collections.unmodifiableMap(new LinkedHashMap<>(selector));
    }

    @Override
    public boolean matches(String containerName, Map<String, String> labels) {
      for (Map.Entry<String, String> e : selector.entrySet()) {
        if (!labels.containsKey(e.getKey())) {
          return false;
        }
        if (e.getValue() != null && !e.getValue().equals(labels.get(e.getKey()))) {
          return false;
        }
      }
      return true;
    }

    @Override
    public String display() {
      StringBuilder b = new StringBuilder("labels ");
      String sep = "";
      for (Map.Entry<String, String> e : selector.entrySet()) {
        b.append(sep).append(e.getKey());
        if (e.getValue() != null) {
          b.append('=').append(e.getValue());
        }
        sep = ", ";
      }
      return b.toString();
    }
  }

  /** Every container of a compose project ({@code project:}), by its {@value #COMPOSE_PROJECT_LABEL} label. */
  record Project(String name) implements Selection {
    public Project {
      Objects.requireNonNull(name, "name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("a project selection needs a project name");
      }
    }

    @Override
    public boolean matches(String containerName, Map<String, String> labels) {
      return name.equals(labels.get(COMPOSE_PROJECT_LABEL));
    }

    @Override
    public String display() {
      return "project " + name;
    }
  }

  /** The engine lists names as {@code /web}; configs and labels say {@code web}. */
  static String stripSlash(String name) {
    return name != null && name.startsWith("/") ? name.substring(1) : name;
  }
}
