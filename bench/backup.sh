#!/usr/bin/env bash
# Benchmark: jmigrate backup of a container with a 1 GiB volume (2000 files, half random) against the baselines
# measured in the same run: a --volumes-from helper container running `tar czf` (what volume backup scripts do),
# and `tar cf - | zstd -1 -T0` on the volume directory (the host's read-and-compress limit).
# Prints wall time, peak RSS and ratios. Usage: bench/backup.sh [MIB] [FILES]   (as root)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_require zstd:zstd gzip:gzip
MIB="${1:-1024}"; FILES="${2:-2000}"
JAR="$(jmigrate_jar)"; jm_command "$JAR"
start_daemon a; HOST="$HOST_URL"
import_busybox "$HOST"
D="docker -H $HOST"
$D volume create benchvol >/dev/null
VOLDIR="$($D volume inspect -f '{{.Mountpoint}}' benchvol)"
make_data "$VOLDIR" "$MIB" "$FILES"
$D run -d --name bench --network none -v benchvol:/data bench/busybox:1 sleep 1000000 >/dev/null
REPO="$BENCH_TMP/repo"
OUT="$BENCH_TMP/out"; mkdir -p "$OUT"

# Warm the page cache once, as the notes' baselines were measured warm.
tar cf - -C "$VOLDIR" . | cat >/dev/null

timed "tar czf (helper container)" $D run --rm --network none --volumes-from bench -v "$OUT:/backup" bench/busybox:1 \
  tar czf /backup/data.tar.gz /data
timed "tar | zstd -1 -T0 (host)" sh -c "tar cf - -C '$VOLDIR' . | zstd -1 -T0 -q -o '$OUT/data.tar.zst'"
timed "jmigrate backup (first)" "${JM[@]}" backup -q -H "$HOST" --repo "$REPO" bench
blobs1=$(ls "$REPO/blobs/sha256" | wc -l)
touch "$BENCH_TMP/after-first"
timed "jmigrate backup (unchanged)" "${JM[@]}" backup -q -H "$HOST" --repo "$REPO" bench
blobs2=$(ls "$REPO/blobs/sha256" | wc -l)
big_new=$(find "$REPO/blobs/sha256" -newer "$BENCH_TMP/after-first" -size +64k | wc -l)
timed "jmigrate backup --volume-reader archive" "${JM[@]}" backup -q -H "$HOST" \
  --repo "$BENCH_TMP/repo2" --volume-reader archive bench

printf '\n%-42s %10s %10s\n' "command ($MIB MiB, $FILES files)" "wall s" "peak MiB"
for k in "tar czf (helper container)" "tar | zstd -1 -T0 (host)" "jmigrate backup (first)" \
         "jmigrate backup (unchanged)" "jmigrate backup --volume-reader archive"; do
  printf '%-42s %10s %10s\n' "$k" "${TIMES[$k]}" "${RSS[$k]}"
done
echo
echo "jmigrate first / tar czf            = $(ratio "${TIMES[jmigrate backup (first)]}" "${TIMES[tar czf (helper container)]}")   (target <= 0.30)"
echo "jmigrate first / tar|zstd           = $(ratio "${TIMES[jmigrate backup (first)]}" "${TIMES[tar | zstd -1 -T0 (host)]}")"
echo "jmigrate unchanged / tar czf        = $(ratio "${TIMES[jmigrate backup (unchanged)]}" "${TIMES[tar czf (helper container)]}")"
echo "blobs after first: $blobs1, after unchanged: $blobs2 (new metadata blobs: $((blobs2 - blobs1)); new blobs > 64 KiB: $big_new)"
echo "sizes: tar.gz $(du -m "$OUT/data.tar.gz" | cut -f1) MiB, tar.zst $(du -m "$OUT/data.tar.zst" | cut -f1) MiB, repo $(du -sm "$REPO" | cut -f1) MiB"
