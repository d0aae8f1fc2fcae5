package io.jmigrate.job;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A loaded and validated job file: its jobs in file order. Immutable. */
public final class JobConfig {
  private final String source;
  private final Map<String, Job> jobs;

  JobConfig(String source, LinkedHashMap<String, Job> jobs) {
    this.source = source;
    this.jobs = Collections.unmodifiableMap(new LinkedHashMap<>(jobs));
  }

  /** The file it was read from, as named in error messages. */
  public String source() {
    return source;
  }

  /** Every job by name, in file order. */
  public Map<String, Job> jobs() {
    return jobs;
  }

  /** The job with this name, if any. */
  public Optional<Job> job(String name) {
    return Optional.ofNullable(jobs.get(name));
  }

  /**
   * The named jobs in the order given, or every job when {@code names} is empty (as {@code run [JOB...]} does).
   *
   * @throws IllegalArgumentException naming the unknown job and listing the known ones
   */
  public List<Job> select(List<String> names) {
    if (names.isEmpty()) {
      return List.copyOf(jobs.values());
    }
    List<Job> out = new ArrayList<>();
    for (String n : names) {
      Job j = jobs.get(n);
      if (j == null) {
        throw new IllegalArgumentException("no job named \"" + n + "\" in " + source + "; expected one of: "
            + String.join(", ", jobs.keySet()));
      }
      if (!out.contains(j)) {
        out.add(j);
      }
    }
    return out;
  }
}
