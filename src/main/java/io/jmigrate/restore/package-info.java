/** Recreates a container from a snapshot on an engine: image, volumes, networks and configuration, then starts it. */
package io.jmigrate.restore;
