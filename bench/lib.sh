# Shared helpers for jmigrate benchmarks: private daemons started and stopped by pid, a busybox image imported
# from the busybox-static package, timing with peak RSS. Sourced by the bench/*.sh scripts; run them as root.
set -euo pipefail

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LANG="${LANG:-C.UTF-8}"

# bench_require CMD:PACKAGE...: on a fresh Debian machine, installs the packages of the commands that are missing
# (as root, like bin/test), or names them and exits 2. A CMD starting with / is a path that must be executable.
bench_require() {
  local need=() pair cmd
  for pair in "$@"; do
    cmd="${pair%%:*}"
    if [[ "$cmd" == /* ]]; then
      [[ -x "$cmd" ]] && continue
    elif command -v "$cmd" >/dev/null 2>&1; then
      continue
    fi
    need+=("${pair#*:}")
  done
  # The image is a static busybox (docker import of a rootfs): a dynamically linked one would not run in it.
  dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
  ((${#need[@]})) || return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "bench: missing packages: ${need[*]}; install them (apt-get install -y ${need[*]}) or run as root" >&2
    exit 2
  fi
  echo "bench: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2046
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
}
# What every bench uses: private daemons, the busybox image, /usr/bin/time for peak RSS, and a JDK and Maven to
# build jmigrate. Each bench adds its own (bench_require again) before it starts anything.
bench_require dockerd:docker.io docker:docker.io /usr/bin/time:time javac:openjdk-17-jdk-headless mvn:maven

BENCH_TMP="${BENCH_TMP:-$(mktemp -d /tmp/jm-bench-XXXXXX)}"
BENCH_PIDS=()

bench_cleanup() {
  for pid in "${BENCH_PIDS[@]:-}"; do
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]:-}"; do
    [[ -n "$pid" ]] || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
  # Mounts left by the daemons' containers, deepest first.
  awk -v p="$BENCH_TMP" '$5 ~ "^"p {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT

# start_daemon NAME: starts a private dockerd and sets HOST_URL to its host URL. Not for $(...): the pid must be
# recorded in this shell so that the exit trap stops the daemon.
start_daemon() {
  local d="$BENCH_TMP/$1"
  mkdir -p "$d"
  dockerd --data-root "$d/root" --exec-root "$d/exec" --pidfile "$d/pid" -H "unix://$d/docker.sock" \
    --bridge=none --iptables=false --ip-masq=false --ip6tables=false >"$d/log" 2>&1 &
  BENCH_PIDS+=($!)
  for _ in $(seq 1 100); do
    [[ -S "$d/docker.sock" ]] && docker -H "unix://$d/docker.sock" version >/dev/null 2>&1 && break
    sleep 0.2
  done
  HOST_URL="unix://$d/docker.sock"
}

# import_busybox HOST: imports bench/busybox:1 (every applet linked) on HOST.
import_busybox() {
  local host="$1" rootfs="$BENCH_TMP/rootfs"
  if [[ ! -f "$BENCH_TMP/busybox.tar" ]]; then
    mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc"
    cp /bin/busybox "$rootfs/bin/busybox"
    for a in $("$rootfs/bin/busybox" --list); do [[ "$a" == busybox ]] || ln -sf busybox "$rootfs/bin/$a"; done
    chmod 1777 "$rootfs/tmp"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
    tar -C "$rootfs" -cf "$BENCH_TMP/busybox.tar" .
  fi
  docker -H "$host" import --change 'CMD ["/bin/sh"]' "$BENCH_TMP/busybox.tar" bench/busybox:1 >/dev/null
}

# make_data DIR MIB FILES: FILES files totalling MIB MiB, half random, half compressible text.
make_data() {
  local dir="$1" mib="$2" files="$3" i
  local kib=$(( mib * 1024 / files ))
  mkdir -p "$dir"
  head -c $(( kib * 1024 )) /dev/urandom >"$BENCH_TMP/rand.chunk"
  # (yes | head ends yes with SIGPIPE, which pipefail would count as a failure.)
  awk -v n=$(( kib * 1024 )) 'BEGIN { l = "jmigrate benchmark line: the quick brown fox jumps over the lazy dog 0123456789\n";
    while (s < n) { printf "%s", l; s += length(l) } }' | head -c $(( kib * 1024 )) >"$BENCH_TMP/text.chunk" || true
  for i in $(seq 1 "$files"); do
    if (( i % 2 )); then
      # Each random file differs, so nothing deduplicates below file level.
      { head -c 64 /dev/urandom; tail -c +65 "$BENCH_TMP/rand.chunk"; } >"$dir/f$i.bin"
    else
      { echo "$i"; head -c $(( kib * 1024 - ${#i} - 1 )) "$BENCH_TMP/text.chunk"; } >"$dir/f$i.txt"
    fi
  done
}

# timed LABEL CMD...: syncs, runs CMD, records wall seconds, peak RSS (MiB) and CPU seconds (user + system) in
# TIMES[LABEL] / RSS[LABEL] / CPU[LABEL].
declare -A TIMES RSS NEW CPU
timed() {
  local label="$1"; shift
  local out="$BENCH_TMP/time.$RANDOM"
  # The previous command's unwritten output (the baselines never fsync theirs) must not be flushed to disk on
  # this one's time: jmigrate fsyncs its blobs, so it would wait for the disk to catch up with another's data.
  sync
  /usr/bin/time -f '%e %M %U %S' -o "$out" "$@" >"$BENCH_TMP/last.out" 2>"$BENCH_TMP/last.err" || {
    echo "bench: '$label' failed:" >&2; cat "$BENCH_TMP/last.err" >&2; return 1; }
  read -r secs kib usr sys <"$out"
  TIMES[$label]="$secs"
  RSS[$label]=$(( kib / 1024 ))
  CPU[$label]=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# How jmigrate is run: the JVM options of bin/jmigrate (JMIGRATE_JAVA_OPTS overrides both).
JAVA_OPTS_DEFAULT="-Xms16m -Xmx256m -XX:+UseSerialGC"
jm_command() {
  # shellcheck disable=SC2206
  JM=(java ${JMIGRATE_JAVA_OPTS:-$JAVA_OPTS_DEFAULT} -jar "$1")
}

# The jar, built by bin/jmigrate when missing or older than the sources. Only the path goes to stdout (callers
# capture it); the launcher keeps Maven's output, and its stray ANSI codes, to itself unless the build fails.
jmigrate_jar() {
  "$BENCH_ROOT/bin/jmigrate" --version >/dev/null || { echo "bench: cannot build jmigrate (see above)" >&2; exit 1; }
  echo "$BENCH_ROOT/target/jmigrate.jar"
}
