/** The command line: picocli commands that validate their input, build a runner and map its outcome to an exit code. */
package io.jmigrate.cli;
