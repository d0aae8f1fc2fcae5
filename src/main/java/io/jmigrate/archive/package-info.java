/**
 * Tar streams and chunked-volume formats: docker save and load layouts, deterministic volume archives,
 * compression, content-defined chunks, metadata streams, packs and the chunk index.
 */
package io.jmigrate.archive;
