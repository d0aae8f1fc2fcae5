/** Takes a consistent snapshot of a container, its image layers and its volumes, and publishes it to a repository. */
package io.jmigrate.backup;
