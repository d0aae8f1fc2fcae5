#!/usr/bin/env bash
# Benchmark: `jmigrate migrate` against the manual pipeline people use today, measured in the same run on two
# private daemons (started and stopped by pid, see lib.sh):
#   - the container: a 1 GiB volume (2000 files, half random, half text) and a 500 MB writable layer (half
#     random, half zeros);
#   - manual: docker stop, docker commit, docker save | docker load, a --volumes-from tar piped into a helper
#     container on the target, docker run;
#   - jmigrate: `jmigrate migrate A B bench`: wall time, peak RSS, and the downtime it reports;
#   - repeat: the same move again onto a target that holds the base image: only the new layer and the volume data
#     may be sent.
# Prints the figures and the ratios (targets: total <= 0.5 x manual, downtime <= 0.5 x total).
# Usage: bench/migrate.sh [MIB] [FILES] [LAYER_MIB]   (as root)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MIB="${1:-1024}"; FILES="${2:-2000}"; LAYER_MIB="${3:-500}"
JAR="$(jmigrate_jar)"; jm_command "$JAR"
start_daemon a; A="$HOST_URL"
start_daemon b; B="$HOST_URL"
import_busybox "$A"
da() { docker -H "$A" "$@"; }
db() { docker -H "$B" "$@"; }

echo "bench: a ${MIB} MiB volume of $FILES files and a ${LAYER_MIB} MB writable layer ..." >&2
da volume create bench-data >/dev/null
make_data "$(da volume inspect -f '{{.Mountpoint}}' bench-data)" "$MIB" "$FILES"
half=$(( LAYER_MIB / 2 ))
da run -d --name bench --network none -v bench-data:/data bench/busybox:1 sh -c "
  trap 'exit 0' TERM
  if [ ! -f /junk/.done ]; then mkdir -p /junk; i=0
    while [ \$i -lt $half ]; do head -c 1048576 /dev/urandom > /junk/r\$i; head -c 1048576 /dev/zero > /junk/z\$i
      i=\$((i+1)); done; touch /junk/.done; fi
  while :; do sleep 1 & wait \$!; done" >/dev/null
until da exec bench test -f /junk/.done 2>/dev/null; do sleep 0.5; done
sync
# Warm the page cache once, as the notes' baselines were measured warm.
tar cf - -C "$(da volume inspect -f '{{.Mountpoint}}' bench-data)" . | cat >/dev/null

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
wait_running() { until [[ "$(docker -H "$1" inspect -f '{{.State.Running}}' "$2" 2>/dev/null)" == true ]]; do sleep 0.05; done; }
reset_target() {
  db rm -f bench >/dev/null 2>&1 || true
  db volume rm -f bench-data >/dev/null 2>&1 || true
  for i in $(db images -aq --no-trunc | sort -u); do db rmi -f "$i" >/dev/null 2>&1 || true; done
}
restart_source() { da start bench >/dev/null; wait_running "$A" bench; }
downtime_of() { sed -n 's/.*: downtime \([0-9.]*\) s,.*/\1/p' "$1"; }

# --- manual pipeline: what people script today. The source stops first: its whole run is downtime.
echo "bench: manual pipeline ..." >&2
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
MANUAL=$(secs "$t0" "$t5")
echo "manual: stop $(secs "$t0" "$t1") s, commit $(secs "$t1" "$t2") s, save|load $(secs "$t2" "$t3") s," \
  "volume tar pipe $(secs "$t3" "$t4") s, run $(secs "$t4" "$t5") s"
reset_target
da rmi bench-manual:1 >/dev/null
restart_source

# --- jmigrate onto a target without the base image
echo "bench: jmigrate migrate ..." >&2
timed "jmigrate migrate" "${JM[@]}" migrate "$A" "$B" bench
cp "$BENCH_TMP/last.err" "$BENCH_TMP/first.err"
grep -E 'sent:|unchanged|downtime' "$BENCH_TMP/first.err" | sed 's/^/  /' || true
DOWN1=$(downtime_of "$BENCH_TMP/first.err")

# --- repeat onto a target that holds the base image
reset_target
import_busybox "$B"
restart_source
echo "bench: repeat onto a target that holds the base image ..." >&2
timed "jmigrate migrate (repeat)" "${JM[@]}" migrate "$A" "$B" bench
cp "$BENCH_TMP/last.err" "$BENCH_TMP/repeat.err"
grep -E 'layers to send|sent:|unchanged|downtime' "$BENCH_TMP/repeat.err" | sed 's/^/  /' || true
DOWN2=$(downtime_of "$BENCH_TMP/repeat.err")
LAYERS2=$(grep -c ': layer .* sent:' "$BENCH_TMP/repeat.err" || true)
BASE2=$(grep -c ': layer 1/[0-9]* .* sent:' "$BENCH_TMP/repeat.err" || true)

T1="${TIMES[jmigrate migrate]}"; T2="${TIMES[jmigrate migrate (repeat)]}"
printf '\n%-44s %9s %9s %9s\n' "($MIB MiB volume, $FILES files, $LAYER_MIB MB layer)" "total s" "downtime" "peak MiB"
printf '%-44s %9s %9s %9s\n' "manual pipeline" "$MANUAL" "$MANUAL" "-"
printf '%-44s %9s %9s %9s\n' "jmigrate migrate" "$T1" "$DOWN1" "${RSS[jmigrate migrate]}"
printf '%-44s %9s %9s %9s\n' "jmigrate migrate, base image on the target" "$T2" "$DOWN2" \
  "${RSS[jmigrate migrate (repeat)]}"
echo
echo "jmigrate total / manual total    = $(ratio "$T1" "$MANUAL")   (target <= 0.50)"
echo "jmigrate downtime / its total    = $(ratio "$DOWN1" "$T1")   (target <= 0.50)"
echo "jmigrate downtime / manual       = $(ratio "$DOWN1" "$MANUAL")"
echo "repeat: layers sent $LAYERS2 (the base layer: $BASE2 times); downtime / total = $(ratio "$DOWN2" "$T2")"
