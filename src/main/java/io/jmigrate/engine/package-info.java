/** Talks to Docker engines over their HTTP API, and puts containers back the way they were when jmigrate is interrupted. */
package io.jmigrate.engine;
