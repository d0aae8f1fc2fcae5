#!/usr/bin/env bash
# Benchmark: many hosts, one repository (issue 15). Two private daemons (two "hosts"), PER_HOST containers each
# with a volume of MIB MiB; first one `jmigrate run` alone, then every container's `jmigrate run` started at once
# (no --lock-wait), into one local directory and one S3 bucket (s3rver from npm, on 127.0.0.1) at the same time.
# Prints the total wall time of the fleet against one run alone, and the S3 requests per backup (counted in
# s3rver's request log), then checks that every snapshot is listed and verify is clean.
# Usage: bench/fleet.sh [PER_HOST] [MIB] (as root; defaults 4 and 64)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_require node:nodejs npm:npm python3:python3
PER_HOST="${1:-4}"; MIB="${2:-64}"
JAR="$(jmigrate_jar)"; jm_command "$JAR"

# s3rver 3.7.1 in the same cache bin/test uses (outside the tree, never committed).
S3RVER_DIR="${JMIGRATE_TEST_CACHE:-$HOME/.cache/jmigrate-test}/s3rver"
if ! grep -qs '"version": "3.7.1"' "$S3RVER_DIR/node_modules/s3rver/package.json"; then
  mkdir -p "$S3RVER_DIR"
  npm install --prefix "$S3RVER_DIR" --no-audit --no-fund --loglevel=error s3rver@3.7.1 >&2
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
S3PORT=$(free_port); mkdir -p "$BENCH_TMP/s3data"
node "$S3RVER_DIR/node_modules/s3rver/bin/s3rver.js" -d "$BENCH_TMP/s3data" -a 127.0.0.1 -p "$S3PORT" \
  --configure-bucket fleet >"$BENCH_TMP/s3rver.log" 2>&1 &
BENCH_PIDS+=($!)
for _ in $(seq 1 100); do grep -q "listening" "$BENCH_TMP/s3rver.log" && break; sleep 0.2; done
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
LOCAL="$BENCH_TMP/repo"
# Requests in s3rver's log: koa-logger writes one "info: /path STATUS TIME SIZE" line per response, TIME as 21ms
# or, past ten seconds, 12s.
requests() { grep -cE 'info.*: /[^ ]* [0-9]{3} [0-9.]+m?s' "$BENCH_TMP/s3rver.log" || true; }

HOSTS=()
for h in a b; do
  start_daemon "$h"; HOSTS+=("$HOST_URL")
  import_busybox "$HOST_URL"
done
CONTAINERS=()   # host|name
for i in 0 1; do
  H="${HOSTS[$i]}"
  for n in $(seq 1 "$PER_HOST"); do
    name="h$i-c$n"
    docker -H "$H" volume create "$name-data" >/dev/null
    make_data "$(docker -H "$H" volume inspect -f '{{.Mountpoint}}' "$name-data")" "$MIB" 64
    docker -H "$H" run -d --name "$name" --network none -v "$name-data:/data" bench/busybox:1 sleep 1000000 >/dev/null
    CONTAINERS+=("$H|$name")
  done
done

job() { # HOST CONTAINER FILE-SUFFIX -> job file
  local f="$BENCH_TMP/job-$3.yaml"
  cat >"$f" <<YAML
jobs:
  fleet-$3:
    host: $1
    containers: [$2]
    retention: {keep-last: 3}
    repositories:
      - $LOCAL
      - url: s3://fleet/jm
        s3-endpoint: http://127.0.0.1:$S3PORT
        s3-region: us-east-1
YAML
  echo "$f"
}

# One run alone (its container is backed up again in the fleet run: that one then reads and stores what changed).
first="${CONTAINERS[0]}"
solo_job=$(job "${first%%|*}" "${first##*|}" solo)
r0=$(requests)
timed solo "${JM[@]}" run --config "$solo_job"
SOLO_REQ=$(( $(requests) - r0 ))

# The fleet: every container's run at once.
r0=$(requests)
sync
start=$(date +%s.%N)
pids=()
for c in "${CONTAINERS[@]}"; do
  f=$(job "${c%%|*}" "${c##*|}" "${c##*|}")
  "${JM[@]}" run --config "$f" >"$f.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    failed=$((failed + 1)); echo "bench: run of ${CONTAINERS[$i]##*|} failed:" >&2
    cat "$BENCH_TMP/job-${CONTAINERS[$i]##*|}.yaml.log" >&2
  fi
done
FLEET=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
FLEET_REQ=$(( $(requests) - r0 ))
N=${#CONTAINERS[@]}

listed_local=$("${JM[@]}" snapshots --repo "$LOCAL" --json | grep -c '"tag"')
listed_s3=$("${JM[@]}" snapshots --repo s3://fleet/jm --s3-endpoint "http://127.0.0.1:$S3PORT" --s3-region us-east-1 --json | grep -c '"tag"')
verify_local=$("${JM[@]}" verify --repo "$LOCAL" 2>&1 | tail -1)
verify_s3=$("${JM[@]}" verify --repo s3://fleet/jm --s3-endpoint "http://127.0.0.1:$S3PORT" --s3-region us-east-1 2>&1 | tail -1)

echo
echo "fleet: $N containers on 2 engines, $MIB MiB each, every run at once into one local and one S3 (s3rver) repository"
printf '%-44s %8s\n' "figure" "value"
printf '%-44s %8s\n' "one run alone, wall s" "${TIMES[solo]}"
printf '%-44s %8s\n' "$N runs at once, total wall s" "$FLEET"
printf '%-44s %8s\n' "fleet wall / one alone" "$(ratio "$FLEET" "${TIMES[solo]}")"
printf '%-44s %8s\n' "fleet wall / ($N x one alone)" "$(ratio "$FLEET" "$(awk -v t="${TIMES[solo]}" -v n="$N" 'BEGIN{print t*n}')")"
printf '%-44s %8s\n' "S3 requests, one run alone" "$SOLO_REQ"
printf '%-44s %8s\n' "S3 requests per backup in the fleet" "$(( FLEET_REQ / N ))"
printf '%-44s %8s\n' "runs failed (no --lock-wait)" "$failed"
printf '%-44s %8s\n' "snapshots listed, local / S3" "$listed_local / $listed_s3"
echo "verify local: $verify_local"
echo "verify S3:    $verify_s3"
(( failed == 0 )) || exit 1
