/** Moves containers from one engine to another, streaming their state directly, with rollback on failure. */
package io.jmigrate.migrate;
