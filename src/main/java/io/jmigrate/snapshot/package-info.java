/** The snapshot format: the document, its OCI index and manifests, and how snapshots are found, read and kept in a repository. */
package io.jmigrate.snapshot;
