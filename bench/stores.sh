#!/usr/bin/env bash
# Benchmark: jmigrate backup of a container with a 1 GiB volume (2000 files, half random) into a local directory,
# S3 (S3Proxy on 127.0.0.1, filesystem backend) and an OCI registry (Debian docker-registry on 127.0.0.1), in one
# run. Prints throughput (volume MiB per wall second) and peak RSS of each, then a second, unchanged backup per
# store and the blobs it uploaded (counted in each server's storage). Usage: bench/stores.sh [MIB] [FILES] (as root)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MIB="${1:-1024}"; FILES="${2:-2000}"
JAR="$(jmigrate_jar)"; jm_command "$JAR"
start_daemon a; HOST="$HOST_URL"
import_busybox "$HOST"
D="docker -H $HOST"
$D volume create benchvol >/dev/null
VOLDIR="$($D volume inspect -f '{{.Mountpoint}}' benchvol)"
make_data "$VOLDIR" "$MIB" "$FILES"
$D run -d --name bench --network none -v benchvol:/data bench/busybox:1 sleep 1000000 >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# S3Proxy as a child process, on the test classpath Maven resolved.
CP="$BENCH_TMP/cp.txt"
(cd "$BENCH_ROOT" && mvn -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$CP" >/dev/null)
S3PORT=$(free_port); mkdir -p "$BENCH_TMP/s3data/bench"
cat >"$BENCH_TMP/s3proxy.conf" <<CONF
s3proxy.endpoint=http://127.0.0.1:$S3PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=access
s3proxy.credential=secret
s3proxy.ignore-unknown-headers=true
jclouds.provider=filesystem
jclouds.filesystem.basedir=$BENCH_TMP/s3data
CONF
cat >"$BENCH_TMP/logback.xml" <<'CONF'
<configuration><root level="WARN"/></configuration>
CONF
java -Xmx512m -Dlogback.configurationFile="$BENCH_TMP/logback.xml" -cp "$(cat "$CP")" org.gaul.s3proxy.Main \
  --properties "$BENCH_TMP/s3proxy.conf" >"$BENCH_TMP/s3proxy.log" 2>&1 &
BENCH_PIDS+=($!)

# docker-registry.
REGPORT=$(free_port); mkdir -p "$BENCH_TMP/registry"
cat >"$BENCH_TMP/registry.yml" <<CONF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $BENCH_TMP/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$REGPORT}
CONF
docker-registry serve "$BENCH_TMP/registry.yml" >"$BENCH_TMP/registry.log" 2>&1 &
BENCH_PIDS+=($!)
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$REGPORT/v2/" >/dev/null 2>&1 && curl -s "http://127.0.0.1:$S3PORT/" >/dev/null 2>&1 && break
  sleep 0.3
done

export AWS_ACCESS_KEY_ID=access AWS_SECRET_ACCESS_KEY=secret AWS_REGION=us-east-1
S3OPTS=(--s3-endpoint "http://127.0.0.1:$S3PORT")
declare -A REPOS=([local]="$BENCH_TMP/repo" [s3]="s3://bench/jm" [registry]="oci://127.0.0.1:$REGPORT/bench/web")
count() {
  case "$1" in
    local) find "$BENCH_TMP/repo/blobs" -type f | wc -l ;;
    s3) find "$BENCH_TMP/s3data/bench/jm/blobs" -type f | wc -l ;;
    registry) find "$BENCH_TMP/registry/docker/registry/v2/blobs" -name data | wc -l ;;
  esac
}
tar cf - -C "$VOLDIR" . | cat >/dev/null
for kind in local s3 registry; do
  timed "$kind first" "${JM[@]}" backup -q -H "$HOST" --repo "${REPOS[$kind]}" "${S3OPTS[@]}" bench
  before=$(count "$kind")
  timed "$kind unchanged" "${JM[@]}" backup -q -H "$HOST" --repo "${REPOS[$kind]}" "${S3OPTS[@]}" bench
  after=$(count "$kind")
  NEW[$kind]=$((after - before))
done

printf '\n%-22s %10s %12s %10s %22s\n' "store ($MIB MiB)" "wall s" "MiB/s" "peak MiB" "unchanged: wall s / new blobs"
for kind in local s3 registry; do
  t="${TIMES[$kind first]}"
  printf '%-22s %10s %12s %10s %14s / %s\n' "$kind" "$t" "$(awk -v m="$MIB" -v t="$t" 'BEGIN{printf "%.0f", m/t}')" \
    "${RSS[$kind first]}" "${TIMES[$kind unchanged]}" "${NEW[$kind]}"
done
echo
echo "s3 throughput / local       = $(ratio "${TIMES[local first]}" "${TIMES[s3 first]}")   (target >= 0.70)"
echo "registry throughput / local = $(ratio "${TIMES[local first]}" "${TIMES[registry first]}")   (target >= 0.70)"
echo "(an unchanged backup adds only metadata: image config and manifest, document, snapshot manifest, index)"
