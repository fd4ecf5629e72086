#!/usr/bin/env bash
# Residency benchmark: how long "mmapio stat" and "mmapio map" take against
# vmtouch, fincore and a raw mmap + mincore on resident files, and how much
# memory "mmapio map --runs" needs on a 1 TiB sparse file.
#
#   bash bench/residency_bench.sh [--out FILE] [--rounds N]
#
# Builds what it runs, works in a fresh directory under ${BENCH_DIR:-/var/tmp}
# (removed at exit) and prints a markdown report on stdout; progress goes to
# stderr. Needs 6 GiB free there and about 5 GiB of free memory.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: residency_bench.sh [--out FILE] [--rounds N]

  --out FILE   also write the markdown report to FILE
  --rounds N   interleaved rounds per comparison (default 15)

Environment: BENCH_DIR, where the scratch files go (default /var/tmp; must be
a disk filesystem with 6 GiB free).
EOF
}

out=""
rounds=15
while (($# > 0)); do
  case "$1" in
    --out) (($# >= 2)) || { usage >&2; exit 2; }; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --rounds) (($# >= 2)) || { usage >&2; exit 2; }; rounds=$2; shift 2 ;;
    --rounds=*) rounds=${1#--rounds=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "residency_bench: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
if ! [[ "${rounds}" =~ ^[1-9][0-9]*$ ]]; then
  echo "residency_bench: --rounds needs a positive integer" >&2
  exit 2
fi
if [[ -n "${out}" && "${out}" != /* ]]; then
  out="${PWD}/${out}"
fi

log() { echo "residency_bench: $*" >&2; }
die() { log "$*"; exit 1; }

readonly kBigGiB=4
readonly kSmallFiles=10000
# shellcheck source=bench/bench_dir.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_dir.sh"
require_bench_dir 6
# stat -f says "ext2/ext3" for ext4 too; the mount table knows better.
mount_type=$(findmnt -n -o FSTYPE -T "${bench_root}" 2>/dev/null || true)

cd "$(dirname "${BASH_SOURCE[0]}")/.."
log "building"
bazel build -c opt //tools:mmapio //bench:run_command //bench:mincore_baseline
bin=$(bazel info -c opt bazel-bin)
mmapio=${bin}/tools/mmapio
run_command=${bin}/bench/run_command
mincore_baseline=${bin}/bench/mincore_baseline

have_vmtouch=$(command -v vmtouch >/dev/null && echo 1 || echo 0)
have_fincore=$(command -v fincore >/dev/null && echo 1 || echo 0)

work=$(mktemp -d "${bench_root}/mmapio-residency-bench.XXXXXX")
lock_pids=()
cleanup() {
  local pid tries
  for pid in "${lock_pids[@]}"; do
    kill "${pid}" 2>/dev/null || continue
    # The disk space comes back only once the locker has unmapped the files.
    for ((tries = 0; tries < 50; tries++)); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.1
    done
  done
  rm -rf "${work}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
big=${work}/big.dat
small=${work}/small
sparse=${work}/sparse.dat

# json_number KEY: the number after "KEY": in stdin's last line.
json_number() { tail -n 1 | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

# check_resident PATH: fails unless every page under PATH is in the page cache.
check_resident() {
  local total pages resident
  total=$("${mmapio}" stat --json "$1")
  pages=$(json_number pages <<<"${total}")
  resident=$(json_number resident_pages <<<"${total}")
  [[ -n "${pages}" && "${pages}" == "${resident}" ]] ||
    die "$1: ${resident:-?} of ${pages:-?} pages resident, expected all (not enough free memory?)"
  echo "${pages}"
}

# pin PATH: keeps PATH in memory until exit with "mmapio lock". Without it
# the files do not stay resident through the timing on VMs whose host pages
# out idle page cache (this project's VMs run DAMON reclaim, which evicts
# pages seconds after their last read).
pin() {
  local pidfile
  pidfile="${work}/lock.$((${#lock_pids[@]} + 1)).pid"
  "${mmapio}" lock --daemon --pidfile="${pidfile}" "$1" >/dev/null ||
    log "could not lock $1 in memory; its pages may be evicted while timing"
  if [[ -s "${pidfile}" ]]; then
    lock_pids+=("$(cat "${pidfile}")")
  fi
}

log "writing a ${kBigGiB} GiB file"
dd if=/dev/zero of="${big}" bs=1M count=$((kBigGiB * 1024)) conv=fsync status=none
cat "${big}" >/dev/null
pin "${big}"
big_pages=$(check_resident "${big}")

log "writing ${kSmallFiles} files of 4-16 KiB"
mkdir "${small}"
RANDOM=42  # the same sizes on every run
for ((i = 0; i < kSmallFiles; i++)); do
  printf -v name '%s/f%05d' "${small}" "${i}"
  printf '%*s' $((4096 + RANDOM % 12289)) '' >"${name}"
done
small_files=("${small}"/*)
sync -f "${small}"
cat "${small_files[@]}" >/dev/null
pin "${small}"
small_pages=$(check_resident "${small}")

# Each comparison's commands are arrays, run by name in interleave.
# shellcheck disable=SC2034
{
  stat_big_mmapio=("${mmapio}" stat "${big}")
  stat_big_vmtouch=(vmtouch "${big}")
  stat_big_fincore=(fincore "${big}")
  # vmtouch and mmapio walk the directory; fincore does not, so it gets the
  # same files as arguments.
  stat_small_mmapio=("${mmapio}" stat "${small}")
  stat_small_vmtouch=(vmtouch "${small}")
  stat_small_fincore=(fincore "${small_files[@]}")
  map_mmapio=("${mmapio}" map --width=120 "${big}")
  map_mincore=("${mincore_baseline}" "${big}")
  floor_true=(true)
}

# time_once CMD...: wall seconds of one run of CMD.
time_once() { "${run_command}" -- "$@" | awk '/^run 1:/ { print $3 }'; }

# interleave NAME...: runs the command in each array NAME once per round, in
# turn (A B C A B C ...), so drift in the machine's state hits all alike;
# appends each run's seconds to ${work}/times.NAME. One untimed run first.
interleave() {
  local name ref round
  for name in "$@"; do
    ref="${name}[@]"
    time_once "${!ref}" >/dev/null
  done
  for ((round = 0; round < rounds; round++)); do
    for name in "$@"; do
      ref="${name}[@]"
      time_once "${!ref}" >>"${work}/times.${name}"
    done
  done
}

median() {
  sort -g "${work}/times.$1" |
    awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# duration SECONDS: "0.85 ms" or "12.1 s".
duration() {
  awk -v s="$1" 'BEGIN { if (s < 1) printf "%.2f ms", s * 1000; else printf "%.1f s", s }'
}

# ratio BASELINE MMAPIO: "12.3× faster", or how much slower.
ratio() {
  awk -v b="$1" -v m="$2" 'BEGIN {
    r = b / m
    if (r >= 10) printf "%.1f× faster", r
    else if (r >= 1) printf "%.2f× faster", r
    else printf "%.2f× (mmapio slower)", r
  }'
}

baselines_big=(stat_big_mmapio)
baselines_small=(stat_small_mmapio)
for tool in vmtouch fincore; do
  have="have_${tool}"
  if ((${!have})); then
    baselines_big+=("stat_big_${tool}")
    baselines_small+=("stat_small_${tool}")
  fi
done

log "timing stat on the ${kBigGiB} GiB file, ${rounds} rounds"
interleave floor_true "${baselines_big[@]}"
log "timing stat on ${kSmallFiles} small files, ${rounds} rounds"
interleave "${baselines_small[@]}"
log "timing map on the ${kBigGiB} GiB file, ${rounds} rounds"
interleave map_mmapio map_mincore

# The pages may have been evicted while we timed, which would make the
# numbers meaningless.
check_resident "${big}" >/dev/null
check_resident "${small}" >/dev/null

log "writing a 1 TiB sparse file"
truncate -s 1T "${sparse}"
sparse_written_gib=(1 100 333 512 1000)  # one 4 KiB page at each offset
for gib in "${sparse_written_gib[@]}"; do
  dd if=/dev/urandom of="${sparse}" bs=4096 count=1 seek=$((gib * 262144)) \
    conv=notrunc status=none
done
log "peak RSS of mmapio map --runs and of one mincore on the sparse file"
# median_of RUN_COMMAND_ARGS...: "SECONDS KIB", the medians run_command prints.
median_of() { "${run_command}" "$@" | awk '/^median:/ { print $2, $4 }'; }
sparse_medians=$(median_of --repeat=3 -- "${mmapio}" map --runs "${sparse}")
read -r sparse_seconds sparse_rss_kib <<<"${sparse_medians}"
# One mincore over 1 TiB needs a 256 MiB vector and about 10 s: one run.
sparse_medians=$(median_of -- "${mincore_baseline}" "${sparse}")
read -r sparse_mincore_seconds sparse_mincore_rss_kib <<<"${sparse_medians}"

report=${work}/report.md
# row WORKLOAD MMAPIO_NAME MMAPIO_LABEL BASELINE_NAME BASELINE_LABEL: a table
# row comparing two timed commands; a baseline that is not installed is shown
# as skipped.
row() {
  local m b
  m=$(median "$2")
  if [[ ! -s "${work}/times.$4" ]]; then
    echo "| $1 | $3 | $(duration "${m}") | $5 | — | skipped: not installed |"
    return
  fi
  b=$(median "$4")
  echo "| $1 | $3 | $(duration "${m}") | $5 | $(duration "${b}") | $(ratio "${b}" "${m}") |"
}

# Backquotes below are markdown, not command substitutions.
# shellcheck disable=SC2016
{
  big_label="${kBigGiB} GiB file, resident"
  small_label="${kSmallFiles} files of 4–16 KiB, resident"
  echo "# mmapio residency benchmark"
  echo
  echo "- kernel $(uname -r), ${fs_type}${mount_type:+ (${mount_type})} at ${bench_root}, $(nproc) CPUs"
  echo "- median wall time of ${rounds} interleaved rounds per comparison, one process per run" \
    "(start-up included: \`true\` takes $(duration "$(median floor_true)") the same way)"
  echo "- ${kBigGiB} GiB file: ${big_pages} pages; small files: ${small_pages} pages;" \
    "all resident before and after timing, held by \`mmapio lock\`"
  echo
  echo "| workload | mmapio | median | baseline | median | ratio (baseline / mmapio) |"
  echo "| --- | --- | --- | --- | --- | --- |"
  row "${big_label}" stat_big_mmapio '`mmapio stat FILE`' stat_big_vmtouch '`vmtouch FILE`'
  row "${big_label}" stat_big_mmapio '`mmapio stat FILE`' stat_big_fincore '`fincore FILE`'
  row "${small_label}" stat_small_mmapio '`mmapio stat DIR`' stat_small_vmtouch '`vmtouch DIR`'
  row "${small_label}" stat_small_mmapio '`mmapio stat DIR`' stat_small_fincore \
    "\`fincore\` + ${kSmallFiles} paths"
  row "${big_label}" map_mmapio '`mmapio map --width=120 FILE`' map_mincore \
    '`mincore_baseline FILE` (mmap + one mincore)'
  echo
  echo "Peak RSS on a 1 TiB sparse file with ${#sparse_written_gib[@]} pages written:" \
    "\`mmapio map --runs FILE\` ${sparse_rss_kib} KiB (median of 3 runs, $(duration "${sparse_seconds}"));" \
    "\`mincore_baseline FILE\` ${sparse_mincore_rss_kib} KiB ($(duration "${sparse_mincore_seconds}"))."
  if ((!have_vmtouch)); then
    echo
    echo "vmtouch is not installed (Debian package vmtouch): its comparisons were skipped."
  fi
  if ((!have_fincore)); then
    echo
    echo "fincore is not installed (Debian package util-linux): its comparisons were skipped."
  fi
} >"${report}"

cat "${report}"
if [[ -n "${out}" ]]; then
  cp "${report}" "${out}"
  log "report written to ${out}"
fi
