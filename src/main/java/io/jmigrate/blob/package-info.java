/** Content-addressed blobs: sha256 digests, OCI descriptors, and streams that compute or check a digest as bytes go by. */
package io.jmigrate.blob;
