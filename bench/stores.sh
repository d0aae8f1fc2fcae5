#!/usr/bin/env bash
# Benchmark: jmigrate backup of a container with a 1 GiB volume (2000 files, half random) into a local directory,
# S3 (S3Proxy on 127.0.0.1, filesystem backend; once over http, once over https) and an OCI registry (Debian
# docker-registry on 127.0.0.1), in one run. Prints throughput (volume MiB per wall second), peak RSS and
# jmigrate's CPU seconds of each, then a second, unchanged backup per store and the blobs it uploaded (counted in
# each server's storage). Usage: bench/stores.sh [MIB] [FILES] (as root)
#
# Over plain http the AWS SDK signs every payload (SigV4 hashes each part, and S3Proxy hashes it again to check);
# over https, as with AWS S3 and most S3 services, it sends UNSIGNED-PAYLOAD. Both are measured.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_require docker-registry:docker-registry curl:curl python3:python3 keytool:openjdk-17-jdk-headless
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
# (Maven's output, stray ANSI codes included, is shown only when it fails.)
(cd "$BENCH_ROOT" && mvn -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$CP") \
  >"$BENCH_TMP/mvn.log" 2>&1 || {
  cat "$BENCH_TMP/mvn.log" >&2; echo "bench: cannot resolve S3Proxy's classpath" >&2; exit 1; }
S3PORT=$(free_port); S3TLSPORT=$(free_port); mkdir -p "$BENCH_TMP/s3data/bench" "$BENCH_TMP/s3data/benchtls"
# A self-signed certificate for 127.0.0.1, and a trust store holding it for jmigrate's JVM.
keytool -genkeypair -alias s3proxy -keyalg RSA -keysize 2048 -validity 2 -dname CN=127.0.0.1 -ext SAN=ip:127.0.0.1 \
  -keystore "$BENCH_TMP/s3proxy.p12" -storetype PKCS12 -storepass benchpass -keypass benchpass >/dev/null 2>&1
keytool -exportcert -alias s3proxy -keystore "$BENCH_TMP/s3proxy.p12" -storepass benchpass -file "$BENCH_TMP/s3proxy.crt" >/dev/null 2>&1
keytool -importcert -noprompt -alias s3proxy -file "$BENCH_TMP/s3proxy.crt" -keystore "$BENCH_TMP/trust.p12" \
  -storetype PKCS12 -storepass benchpass >/dev/null 2>&1
cat >"$BENCH_TMP/s3proxy.conf" <<CONF
s3proxy.endpoint=http://127.0.0.1:$S3PORT
s3proxy.secure-endpoint=https://127.0.0.1:$S3TLSPORT
s3proxy.keystore-path=$BENCH_TMP/s3proxy.p12
s3proxy.keystore-password=benchpass
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
BENCH_PIDS+=($!); S3PID=$!

# docker-registry.
REGPORT=$(free_port); mkdir -p "$BENCH_TMP/registry"
cat >"$BENCH_TMP/registry.yml" <<CONF
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $BENCH_TMP/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$REGPORT}
CONF
docker-registry serve "$BENCH_TMP/registry.yml" >"$BENCH_TMP/registry.log" 2>&1 &
BENCH_PIDS+=($!); REGPID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$REGPORT/v2/" >/dev/null 2>&1 && curl -s "http://127.0.0.1:$S3PORT/" >/dev/null 2>&1 && break
  sleep 0.3
done
# A server that did not come up is named here, with its log, not later as a backup that "cannot reach" it.
curl -fs "http://127.0.0.1:$REGPORT/v2/" >/dev/null 2>&1 || {
  echo "bench: docker-registry did not start on 127.0.0.1:$REGPORT; its log:" >&2; cat "$BENCH_TMP/registry.log" >&2
  exit 1; }
curl -s "http://127.0.0.1:$S3PORT/" >/dev/null 2>&1 || {
  echo "bench: S3Proxy did not start on 127.0.0.1:$S3PORT; its log:" >&2; cat "$BENCH_TMP/s3proxy.log" >&2; exit 1; }

export AWS_ACCESS_KEY_ID=access AWS_SECRET_ACCESS_KEY=secret AWS_REGION=us-east-1
declare -A REPOS=([local]="$BENCH_TMP/repo" [s3]="s3://bench/jm" [s3-tls]="s3://benchtls/jm"
  [registry]="oci://127.0.0.1:$REGPORT/bench/web")
declare -A OPTS=([local]="" [s3]="--s3-endpoint http://127.0.0.1:$S3PORT"
  [s3-tls]="--s3-endpoint https://127.0.0.1:$S3TLSPORT" [registry]="")
count() {
  case "$1" in
    local) find "$BENCH_TMP/repo/blobs" -type f | wc -l ;;
    s3) find "$BENCH_TMP/s3data/bench/jm/blobs" -type f | wc -l ;;
    s3-tls) find "$BENCH_TMP/s3data/benchtls/jm/blobs" -type f | wc -l ;;
    registry) find "$BENCH_TMP/registry/docker/registry/v2/blobs" -name data | wc -l ;;
  esac
}
KINDS=(local s3 s3-tls registry)
# CPU seconds (user + system) a process has used so far: the servers share this machine's cores with jmigrate.
proc_cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / t }' "/proc/$1/stat"; }
declare -A SERVER=([local]="" [s3]="$S3PID" [s3-tls]="$S3PID" [registry]="$REGPID") SCPU
TRUST=(-Djavax.net.ssl.trustStore="$BENCH_TMP/trust.p12" -Djavax.net.ssl.trustStorePassword=benchpass)
JMT=("${JM[0]}" "${TRUST[@]}" "${JM[@]:1}")
tar cf - -C "$VOLDIR" . | cat >/dev/null
for kind in "${KINDS[@]}"; do
  pid="${SERVER[$kind]}"; c0=$([[ -n "$pid" ]] && proc_cpu "$pid" || echo 0)
  # shellcheck disable=SC2086
  timed "$kind first" "${JMT[@]}" backup -q -H "$HOST" --repo "${REPOS[$kind]}" ${OPTS[$kind]} bench
  c1=$([[ -n "$pid" ]] && proc_cpu "$pid" || echo 0)
  SCPU[$kind]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", b - a }')
  before=$(count "$kind")
  # shellcheck disable=SC2086
  timed "$kind unchanged" "${JMT[@]}" backup -q -H "$HOST" --repo "${REPOS[$kind]}" ${OPTS[$kind]} bench
  after=$(count "$kind")
  NEW[$kind]=$((after - before))
done

printf '\n%-18s %8s %8s %10s %10s %12s %22s\n' "store ($MIB MiB)" "wall s" "MiB/s" "peak MiB" "jm cpu s" \
  "server cpu s" "unchanged: wall s / new blobs"
for kind in "${KINDS[@]}"; do
  t="${TIMES[$kind first]}"
  printf '%-18s %8s %8s %10s %10s %12s %14s / %s\n' "$kind" "$t" \
    "$(awk -v m="$MIB" -v t="$t" 'BEGIN{printf "%.0f", m/t}')" "${RSS[$kind first]}" "${CPU[$kind first]}" \
    "${SCPU[$kind]}" "${TIMES[$kind unchanged]}" "${NEW[$kind]}"
done
echo
echo "s3 (http) throughput / local  = $(ratio "${TIMES[local first]}" "${TIMES[s3 first]}")   (target >= 0.70)"
echo "s3 (https) throughput / local = $(ratio "${TIMES[local first]}" "${TIMES[s3-tls first]}")   (target >= 0.70)"
echo "registry throughput / local   = $(ratio "${TIMES[local first]}" "${TIMES[registry first]}")   (target >= 0.70)"
echo "(an unchanged backup adds only metadata: image config and manifest, document, snapshot manifest, index)"
