#!/bin/sh
# Restores the latest snapshot of every container in a repository onto a host: step 5 of
# docs/runbooks/disaster-recovery.md. Each restore recreates the container's volumes, networks and image,
# starts it and waits until it runs (or is healthy); a restore that fails removes what it created.
#
#   restore-all.sh REPO HOST [CONTAINER...]
#     REPO       as --repo takes it: a directory, s3://BUCKET/PREFIX or oci://REGISTRY/REPOSITORY
#     HOST       as -H takes it: unix:///var/run/docker.sock, ssh://root@new-host, a context name
#     CONTAINER  only these, in this order (default: every container with a snapshot, by name). Give the order
#                when one container needs another first (network_mode container:..., a database before its app).
#
# Environment: JMIGRATE (default: jmigrate on the PATH), JMIGRATE_OPTS (more options for every call, e.g.
# "--s3-endpoint http://minio:9000"). Exit code 0 when every container came back, 1 otherwise.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 REPO HOST [CONTAINER...]" >&2
  exit 2
fi
JMIGRATE=${JMIGRATE:-jmigrate}
JMIGRATE_OPTS=${JMIGRATE_OPTS:-}
repo=$1
host=$2
shift 2
if [ $# -eq 0 ]; then
  # `jmigrate snapshots` prints a header, then one line per snapshot: ID CONTAINER CREATED ...
  # shellcheck disable=SC2086
  names=$($JMIGRATE snapshots --repo "$repo" $JMIGRATE_OPTS | awk 'NR > 1 { print $2 }' | sort -u)
  if [ -z "$names" ]; then
    echo "$0: no snapshots in $repo" >&2
    exit 1
  fi
  # shellcheck disable=SC2086
  set -- $names
fi
failed=""
for c in "$@"; do
  echo "restoring $c from $repo on $host" >&2
  # shellcheck disable=SC2086
  if ! $JMIGRATE restore "$c" --repo "$repo" -H "$host" $JMIGRATE_OPTS; then
    failed="$failed $c"
  fi
done
if [ -n "$failed" ]; then
  echo "$0: not restored:$failed (see the messages above; fix and run again with just these names)" >&2
  exit 1
fi
echo "$0: restored $*" >&2
