package io.jmigrate.store;

import java.util.List;

/**
 * A repository's tags as listed, and those that could not be read: a tag file overwritten with junk, a tag object a
 * server stored mangled. Reported so that callers can be loud about them: an unreadable tag hides a snapshot from
 * listings, and its blobs would look unreferenced to garbage collection.
 */
public record TagListing(List<Tag> tags, List<Unreadable> unreadable) {
  public TagListing {
    tags = List.copyOf(tags);
    unreadable = List.copyOf(unreadable);
  }

  /** A tag that exists but could not be read; {@code problem} says why, in one line. */
  public record Unreadable(String name, String problem) {
    @Override
    public String toString() {
      return name + " (" + problem + ")";
    }
  }

  /** One line for a JSON or descriptor error, whose messages can span lines. */
  static String problem(Exception e) {
    String m = e instanceof com.fasterxml.jackson.core.JsonProcessingException
        ? ((com.fasterxml.jackson.core.JsonProcessingException) e).getOriginalMessage() : e.getMessage();
    return "not a valid descriptor: " + String.valueOf(m).replaceAll("\\s+", " ").strip();
  }
}
