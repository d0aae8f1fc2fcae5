package io.jmigrate.store;

import io.jmigrate.testing.S3rverServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Tests for {@link S3Store} against s3rver over https (a self-signed certificate trusted for the run). */
class S3rverHttpsStoreIT extends S3rverContract {
  private static S3rverServer server;

  @BeforeAll
  static void startServer() throws Exception {
    server = S3rverServer.startHttps();
    useServerCredentials();
  }

  @AfterAll
  static void stopServer() throws Exception {
    forgetCredentials();
    if (server != null) {
      server.close();
    }
  }

  @Override
  protected S3rverServer server() {
    return server;
  }
}
