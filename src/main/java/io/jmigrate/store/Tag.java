package io.jmigrate.store;

import io.jmigrate.blob.Descriptor;
import java.util.regex.Pattern;

/**
 * A name that points at a manifest or index: how a snapshot is published. Names follow the OCI distribution
 * tag grammar ({@code [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}}), so the same name works in every store.
 */
public final class Tag {
  private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");

  private final String name;
  private final Descriptor target;

  private Tag(String name, Descriptor target) {
    this.name = name;
    this.target = target;
  }

  /** The message names a bad name. */
  public static Tag of(String name, Descriptor target) {
    checkName(name);
    if (target == null) {
      throw new IllegalArgumentException("tag '" + name + "' has no target");
    }
    return new Tag(name, target);
  }

  /** Throws when {@code name} is not a valid tag name. */
  public static String checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "not a valid tag name: '" + name + "' (letters, digits, '_', '.', '-'; at most 128)");
    }
    return name;
  }

  public String name() {
    return name;
  }

  /** The tagged manifest or index, with the annotations it was published with where the store keeps them. */
  public Descriptor target() {
    return target;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Tag && ((Tag) o).name.equals(name) && ((Tag) o).target.equals(target);
  }

  @Override
  public int hashCode() {
    return name.hashCode();
  }

  @Override
  public String toString() {
    return name + " -> " + target.digest();
  }
}
