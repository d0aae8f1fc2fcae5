package io.jmigrate.job;

/**
 * Where an effective setting came from, highest precedence first: command-line flags &gt; container labels &gt;
 * the job &gt; {@code defaults:} &gt; built-in defaults. Shown by logs so that an operator can tell why a
 * container was stopped rather than paused.
 */
public enum SettingSource {
  FLAG,
  LABEL,
  JOB,
  DEFAULTS,
  BUILT_IN
}
