#!/usr/bin/env bash
# Benchmark of `jmigrate migrate` against the manual pipeline people use today, in the same run, on two private
# dockerd daemons that this script starts and stops (by pid):
#   - a container with a 1 GiB volume (2000 files of 512 KiB, half random, half text) and a 500 MB writable layer
#     (half random, half zeros);
#   - manual: docker stop, docker commit, docker save | docker load, a --volumes-from tar piped into a helper
#     container on the target, docker run;
#   - jmigrate: `jmigrate migrate A B bench`, total wall time and the downtime it reports;
#   - repeat: the same container again onto the target, which now holds the base image: only the new layer and
#     the volume data may be sent.
# Prints the figures and the ratios (targets: total <= 0.5 x manual, downtime <= 0.5 x total).
#
# Usage: bench/migrate.sh            (as root, from anywhere; builds target/jmigrate.jar when needed)
# Env:   BENCH_DIR=/tmp  where the daemons and their data live (needs about 6 GB free)
set -euo pipefail
if [[ -z "${LC_ALL:-}" && "${LANG:-}" != *UTF-8* && "${LANG:-}" != *utf8* ]]; then export LANG=C.UTF-8; fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ $(id -u) -eq 0 ]] || { echo "bench/migrate.sh: run as root (it starts private dockerd daemons)" >&2; exit 2; }
for c in dockerd docker java bc; do
  command -v "$c" >/dev/null || { echo "bench/migrate.sh: $c is missing" >&2; exit 2; }
done
[[ -x /bin/busybox ]] || { echo "bench/migrate.sh: install busybox-static" >&2; exit 2; }

W=$(mktemp -d "${BENCH_DIR:-/tmp}/jm-bench-mig-XXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null || true
  done
  # Whatever the daemons left mounted under our directory.
  grep -o " $W/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

start_daemon() {
  mkdir -p "$W/$1"
  dockerd --data-root "$W/$1/root" --exec-root "$W/$1/exec" --pidfile "$W/$1/pid" -H "unix://$W/$1/sock" \
    --bridge=none --iptables=false --ip-masq=false --ip6tables=false >"$W/$1/log" 2>&1 &
  pids+=($!)
}
start_daemon a
start_daemon b
export DOCKER_CONFIG="$W/cli"
unset DOCKER_HOST DOCKER_CONTEXT
A="unix://$W/a/sock"
B="unix://$W/b/sock"
da() { docker -H "$A" "$@"; }
db() { docker -H "$B" "$@"; }
for h in "$A" "$B"; do
  for _ in $(seq 150); do docker -H "$h" version >/dev/null 2>&1 && break; sleep 0.2; done
  docker -H "$h" version >/dev/null
done

jar="$here/target/jmigrate.jar"
if [[ ! -f "$jar" ]] || [[ -n "$(find "$here/src/main" "$here/pom.xml" -newer "$jar" -print -quit)" ]]; then
  (cd "$here" && mvn -B -q -o -DskipTests package) >&2
fi
jmigrate() { java -Xmx256m -jar "$jar" "$@"; }

# The base image: busybox-static, imported (never pulled).
mkdir -p "$W/rootfs/bin"
cp /bin/busybox "$W/rootfs/bin/"
for x in $(/bin/busybox --list); do [[ $x == busybox ]] || ln -s busybox "$W/rootfs/bin/$x"; done
mkdir -p "$W/rootfs/tmp" "$W/rootfs/etc"
tar -C "$W/rootfs" -cf "$W/base.tar" .
da import "$W/base.tar" bench/busybox:1 >/dev/null

echo "bench: creating the 1 GiB volume (2000 files, half random) and the 500 MB writable layer ..." >&2
da volume create bench-data >/dev/null
da run --rm --network none -v bench-data:/data bench/busybox:1 sh -c '
  head -c 524288 /dev/urandom > /tmp/r; yes abcdefghijklmnopqrstuvwxyz0123456789 | head -c 524288 > /tmp/t
  i=0; while [ $i -lt 1000 ]; do
    head -c 524288 /dev/urandom > /data/r$i; cp /tmp/t /data/t$i; i=$((i+1)); done'
da run -d --name bench --network none -v bench-data:/data bench/busybox:1 sh -c '
  trap "exit 0" TERM
  if [ ! -f /junk/.done ]; then mkdir -p /junk; i=0
    while [ $i -lt 250 ]; do head -c 1048576 /dev/urandom > /junk/r$i; head -c 1048576 /dev/zero > /junk/z$i
      i=$((i+1)); done; touch /junk/.done; fi
  while :; do sleep 1 & wait $!; done' >/dev/null
until da exec bench test -f /junk/.done 2>/dev/null; do sleep 0.5; done
sync

now() { date +%s.%N; }
wait_running() { until [[ "$(docker -H "$1" inspect -f '{{.State.Running}}' "$2" 2>/dev/null)" == true ]]; do sleep 0.05; done; }
reset_target() {
  db rm -f bench >/dev/null 2>&1 || true
  db volume rm -f bench-data >/dev/null 2>&1 || true
  for i in $(db images -aq --no-trunc | sort -u); do db rmi -f "$i" >/dev/null 2>&1 || true; done
}
restart_source() {
  da start bench >/dev/null
  wait_running "$A" bench
}

# --- manual pipeline: what people script today
echo "bench: manual pipeline (stop, commit, save | load, --volumes-from tar | helper tar, run) ..." >&2
t0=$(now)
da stop bench >/dev/null; t1=$(now)
da commit bench bench-manual:1 >/dev/null; t2=$(now)
da save bench-manual:1 | db load >/dev/null; t3=$(now)
db volume create bench-data >/dev/null
da run --rm --network none --volumes-from bench -w / bench/busybox:1 tar cf - data \
  | db run --rm -i --network none -v bench-data:/data -w / bench-manual:1 tar xf -
t4=$(now)
db run -d --name bench --network none -v bench-data:/data bench-manual:1 >/dev/null
wait_running "$B" bench; t5=$(now)
manual=$(echo "$t5 - $t0" | bc)
printf 'manual: stop %.1f s, commit %.1f s, save|load %.1f s, volume tar pipe %.1f s, run %.1f s\n' \
  "$(echo "$t1-$t0" | bc)" "$(echo "$t2-$t1" | bc)" "$(echo "$t3-$t2" | bc)" "$(echo "$t4-$t3" | bc)" \
  "$(echo "$t5-$t4" | bc)"
reset_target
da rmi bench-manual:1 >/dev/null
restart_source

# --- jmigrate, target without the base image
echo "bench: jmigrate migrate ..." >&2
log1="$W/jmigrate-1.log"
t0=$(now)
jmigrate migrate "$A" "$B" bench >"$W/out-1" 2>"$log1" || { cat "$log1" >&2; exit 1; }
t1=$(now)
total=$(echo "$t1 - $t0" | bc)
downtime=$(sed -n 's/.*: downtime \([0-9.]*\) s,.*/\1/p' "$log1")
grep -E 'sent:|unchanged|downtime' "$log1" | sed 's/^/  /'

# --- repeat, onto a target that has the base image
reset_target
db import "$W/base.tar" bench/busybox:1 >/dev/null
restart_source
echo "bench: repeat onto a target that holds the base image ..." >&2
log2="$W/jmigrate-2.log"
t0=$(now)
jmigrate migrate "$A" "$B" bench >"$W/out-2" 2>"$log2" || { cat "$log2" >&2; exit 1; }
t1=$(now)
total2=$(echo "$t1 - $t0" | bc)
downtime2=$(sed -n 's/.*: downtime \([0-9.]*\) s,.*/\1/p' "$log2")
grep -E 'sent:|already on|downtime' "$log2" | sed 's/^/  /'
layers2=$(grep -c ': layer .* sent:' "$log2" || true)
base_sent=$(grep -c 'layer 1/2 .* sent:' "$log2" || true)

echo
printf 'manual pipeline total (= its downtime):   %6.1f s\n' "$manual"
printf 'jmigrate total:                           %6.1f s   ratio to manual %.2f (target <= 0.50)\n' \
  "$total" "$(echo "$total / $manual" | bc -l)"
printf 'jmigrate downtime:                        %6.1f s   ratio to total  %.2f (target <= 0.50)\n' \
  "$downtime" "$(echo "$downtime / $total" | bc -l)"
printf 'repeat (base on target): total %.1f s, downtime %.1f s, layers sent %s, base layer sent %s\n' \
  "$total2" "$downtime2" "$layers2" "$base_sent"
