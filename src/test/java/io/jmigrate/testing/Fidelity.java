package io.jmigrate.testing;

import java.util.List;

/**
 * The fidelity fixture of the foundation issue: a container whose volumes and writable layer hold every kind of
 * file attribute jmigrate must keep, and whose configuration sets every field it must recreate.
 */
public final class Fidelity {
  private Fidelity() {}

  /**
   * Shell script run as the container's command: fills the volumes once (guarded by a marker so a restored
   * container does not refill them), changes the writable layer (a file deleted from the image, one added), then
   * sleeps.
   */
  public static final String SCRIPT = String.join("\n",
      "if [ ! -f /data/.init ]; then",
      "  mkdir -p /data/dir/sub /data/empty '/data/with space'",
      "  printf 'hello\\n' > /data/dir/file.txt",
      "  head -c 200000 /dev/urandom > /data/dir/random.bin",
      "  printf 'owned' > /data/owned && chown 1000:1000 /data/owned",
      "  printf 'secret' > /data/private && chmod 600 /data/private",
      "  printf '#!/bin/sh\\n' > /data/setuid && chmod 4755 /data/setuid",
      "  ln -s dir/file.txt /data/link",
      "  ln /data/dir/file.txt /data/hardlink",
      "  printf 'unicode' > \"/data/$(printf 'caf\\303\\251 men\\303\\274')\"",
      "  printf 'spaced' > '/data/with space/a file.txt'",
      "  printf 'anon' > /anon/in-anonymous",
      "  touch -d '2021-02-03 04:05:06' /data/dir/file.txt /data/owned",
      "  touch -d '2020-01-02 03:04:05' /data/dir/sub /data/empty",
      "  touch /data/.init",
      "  rm -f /etc/motd-from-image",
      "  echo layer > /etc/added-in-writable-layer",
      "  touch /tmp/healthy",
      "fi",
      "exec sleep 100000");

  /** docker run arguments that set every configuration field the fidelity test compares. */
  public static List<String> runArgs(String name, String image, String volume, String network, int hostPort) {
    return List.of("run", "-d", "--name", name,
        "--network", network, "--network-alias", name + "-alias",
        "-v", volume + ":/data", "-v", "/anon",
        "-e", "PLAIN=1", "-e", "SPACED=a b",
        "--label", "app=fidelity", "--label", "tier=test",
        "--workdir", "/data", "--user", "0:0", "--hostname", "fidelity-host",
        "--stop-signal", "SIGINT", "--stop-timeout", "2",
        "--restart", "unless-stopped",
        "-p", "127.0.0.1:" + hostPort + ":80/tcp",
        "--health-cmd", "test -f /tmp/healthy", "--health-interval", "1s", "--health-retries", "3",
        "--memory", "64m", "--cpu-shares", "512",
        "--entrypoint", "/bin/sh",
        image, "-c", SCRIPT);
  }

  /** A host port free right now on loopback, for a container to publish. */
  public static int freePort() {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Inspect fields compared between the source and the restored container. */
  public static final List<String> CONFIG_FIELDS = List.of(
      "{{json .Config.Env}}", "{{json .Config.Labels}}", "{{json .Config.Cmd}}", "{{json .Config.Entrypoint}}",
      "{{.Config.WorkingDir}}", "{{.Config.User}}", "{{.Config.Hostname}}", "{{.Config.StopSignal}}",
      "{{json .Config.StopTimeout}}", "{{json .Config.Healthcheck}}", "{{json .Config.ExposedPorts}}",
      "{{json .HostConfig.RestartPolicy}}", "{{json .HostConfig.PortBindings}}", "{{.HostConfig.Memory}}",
      "{{.HostConfig.CpuShares}}", "{{.HostConfig.NetworkMode}}");

  /** A listing of every file under the given roots with owner, mode, size, mtime (seconds), type, link count. */
  public static String listing(DockerDaemon d, String container, String... roots) {
    String find = "cd / && find " + String.join(" ", roots)
        + " -exec stat -c '%n|%u|%g|%a|%s|%Y|%F|%h' {} + | sort;"
        + " find " + String.join(" ", roots) + " -type f -exec md5sum {} + | sort;"
        + " find " + String.join(" ", roots) + " -type l -exec readlink {} \\; | sort";
    return d.docker("exec", container, "sh", "-c", find);
  }
}
