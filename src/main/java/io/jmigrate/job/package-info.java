/** Configured backup jobs: selection, hooks, schedules, retention, pruning, drills and notifications. */
package io.jmigrate.job;
