/** Repositories of blobs, manifests and tags: a local OCI-layout directory, an S3 bucket, or an OCI registry. */
package io.jmigrate.store;
