/** Tar streams: docker save and load layouts, deterministic volume archives, and their compression. */
package io.jmigrate.archive;
