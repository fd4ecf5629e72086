#!/usr/bin/env bash
# Every benchmark of the project, in one command:
#
#   bash bench/run_all.sh [--rounds N] [--residency-rounds N] [--quick]
#
# Builds every target in bench/ with -c opt, then runs
#   every Google Benchmark in bench/            region_bench, guard_bench,
#                                               engine_bench: warm costs
#                                               against raw system calls,
#                                               5 repetitions
#   bench/residency_bench.sh                    stat / map against vmtouch,
#                                               fincore and mincore
#   //bench:cold_bench                          cold-cache workloads: mmapio
#                                               against naive mmap, the
#                                               kernel's best mechanism, fio
#                                               and threads, interleaved by
#                                               round in one process run
# and bench/report.py, which writes bench/RESULTS.md (each workload against
# its baselines, with the machine it ran on and the project's goals),
# bench/results.json (every raw number) and bench/plots/*.svg. Progress and
# the benchmarks' own tables go to stderr. A benchmark that fails is recorded
# as failed and the others still run; the exit status is then 1.
#
# Takes 25 to 30 minutes on 2 cores, cold_bench 20 to 25 of them (writing
# its files and one round took about 4.5 minutes here, random_depth 2.7 of
# them, while other builds shared the machine); --quick takes about a
# minute and only checks that everything runs. Needs python3, fio
# for the fio baselines (skipped without it), 10 GiB free in BENCH_DIR
# (default /var/tmp; a disk filesystem, since cold_bench measures cold
# reads) and about 10 GiB of free memory.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: run_all.sh [--rounds N] [--residency-rounds N] [--quick]

  --rounds N            interleaved rounds of cold_bench (default 5)
  --residency-rounds N  interleaved rounds of residency_bench.sh (default 15)
  --quick               small files, one round, one repetition: checks that
                        every benchmark and the report run, in minutes; its
                        numbers mean little, and RESULTS.md says so

Environment: BENCH_DIR, where the scratch files go (default /var/tmp; must be
a disk filesystem with 10 GiB free).
USAGE
}

rounds=""
residency_rounds=""
quick=0
while (($# > 0)); do
  case "$1" in
    --rounds) (($# >= 2)) || { usage >&2; exit 2; }; rounds=$2; shift 2 ;;
    --rounds=*) rounds=${1#--rounds=}; shift ;;
    --residency-rounds) (($# >= 2)) || { usage >&2; exit 2; }; residency_rounds=$2; shift 2 ;;
    --residency-rounds=*) residency_rounds=${1#--residency-rounds=}; shift ;;
    --quick) quick=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run_all: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
if ((quick)); then
  rounds=${rounds:-1}
  residency_rounds=${residency_rounds:-2}
  repetitions=1
  # Small files and few pages; the same workloads and variants.
  cold_sizes=(--random_file=512M --random_pages=2000 --task_pages=20
    --idle_ms=200 --seq_file=256M --hazard_file=32M --hazard_files=4)
else
  rounds=${rounds:-5}
  residency_rounds=${residency_rounds:-15}
  repetitions=5
  cold_sizes=()
fi
for n in "${rounds}" "${residency_rounds}"; do
  if ! [[ "${n}" =~ ^[1-9][0-9]*$ ]]; then
    echo "run_all: rounds need a positive integer, got ${n}" >&2
    exit 2
  fi
done

log() { echo "run_all: $*" >&2; }
die() { log "$*"; exit 1; }

command -v python3 >/dev/null ||
  die "python3 is needed to write bench/results.json and bench/RESULTS.md; install it (Debian: apt-get install python3)"
command -v bazel >/dev/null || die "bazel is not installed (see tools/install_deps.sh)"

# shellcheck source=bench/bench_dir.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench_dir.sh"
require_bench_dir 10

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=${PWD}
started=$(date +%s)

log "building every target in bench/"
bazel build -c opt //bench/...
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
# Every Google Benchmark binary in bench/, including ones added after this
# script was written.
mapfile -t google_benchmarks < <(bazel query --noshow_progress \
  'attr(deps, "com_google_benchmark", kind(cc_binary, //bench:all))' 2>/dev/null |
  sed -n 's|^//bench:||p')
((${#google_benchmarks[@]} > 0)) || die "bazel query found no Google Benchmark binaries in bench/"
export RUN_ALL_GOOGLE_BENCHMARKS="${google_benchmarks[*]}"

work=$(mktemp -d "${bench_root}/mmapio-run-all.XXXXXX")
cleanup() { rm -rf "${work}"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The machine, for the report's header. Exported for the report script.
mount_type=$(findmnt -n -o FSTYPE -T "${bench_root}" 2>/dev/null || echo "${fs_type}")
mount_source=$(findmnt -n -o SOURCE -T "${bench_root}" 2>/dev/null || echo "?")
# The filesystem's device number leads to its block device; a partition's
# queue settings are its disk's. btrfs and overlayfs report anonymous device
# numbers with no block device behind them: "unknown".
read_ahead_kb=unknown
block_device=unknown
dev_path=/sys/dev/block/$(stat -c '%Hd:%Ld' "${bench_root}")
if [[ -e "${dev_path}" ]]; then
  dev_path=$(readlink -f "${dev_path}")
  [[ -e "${dev_path}/partition" ]] && dev_path=$(dirname "${dev_path}")
  block_device=$(basename "${dev_path}")
  [[ -r "${dev_path}/queue/read_ahead_kb" ]] && read_ahead_kb=$(cat "${dev_path}/queue/read_ahead_kb")
fi
thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || true)
export RUN_ALL_KERNEL RUN_ALL_BENCH_DIR RUN_ALL_FS RUN_ALL_DEVICE RUN_ALL_READ_AHEAD_KB \
  RUN_ALL_THP RUN_ALL_CPUS RUN_ALL_CPU_MODEL RUN_ALL_MEMORY_KIB RUN_ALL_MEMORY_RECLAIM \
  RUN_ALL_COMMIT RUN_ALL_DATE RUN_ALL_QUICK
RUN_ALL_KERNEL=$(uname -r)
RUN_ALL_BENCH_DIR=${bench_root}
RUN_ALL_FS=${mount_type}
RUN_ALL_DEVICE="${mount_source} (${block_device})"
RUN_ALL_READ_AHEAD_KB=${read_ahead_kb}
RUN_ALL_THP=${thp:-unknown}
RUN_ALL_CPUS=$(nproc)
RUN_ALL_CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
RUN_ALL_MEMORY_KIB=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
# What makes cold and resident numbers noisy on VMs: DAMON reclaim evicts
# idle page cache, and free page reporting hands freed guest memory back to
# the host, which must fault it in again when the guest reuses it.
reclaim=()
if grep -qs '^on$' /sys/kernel/mm/damon/admin/kdamonds/*/state; then
  reclaim+=("DAMON (kdamond) is on")
fi
for device in /sys/bus/virtio/devices/*; do
  # Balloon devices have id 5; feature bit 5 is VIRTIO_BALLOON_F_REPORTING.
  if [[ "$(cat "${device}/device" 2>/dev/null)" == 0x0005 &&
    "$(cut -c 6 "${device}/features" 2>/dev/null)" == 1 ]]; then
    reclaim+=("virtio-balloon free page reporting is on")
  fi
done
RUN_ALL_MEMORY_RECLAIM=""
for item in "${reclaim[@]}"; do
  RUN_ALL_MEMORY_RECLAIM+="${RUN_ALL_MEMORY_RECLAIM:+; }${item}"
done
RUN_ALL_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# The reports this script writes do not count as changes.
if [[ -n "$(git status --porcelain -- . ':!bench/RESULTS.md' ':!bench/results.json' ':!bench/plots' 2>/dev/null)" ]]; then
  RUN_ALL_COMMIT="${RUN_ALL_COMMIT} + uncommitted changes"
fi
RUN_ALL_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
RUN_ALL_QUICK=${quick}

failed=()
# step NAME COMMAND...: runs one benchmark; a failure is recorded in
# ${work}/failed.NAME and the run goes on.
step() {
  local name=$1 t0
  shift
  log "running ${name}"
  t0=$(date +%s)
  if "$@"; then
    log "${name} took $(($(date +%s) - t0)) s"
  else
    local status=$?
    log "${name} FAILED (exit status ${status})"
    echo "exit status ${status}" >"${work}/failed.${name}"
    failed+=("${name}")
  fi
}

# The Google benchmarks write their data file into TEST_TMPDIR.
google_benchmark() {
  local name=$1
  TEST_TMPDIR=${work} "${bin}/bench/${name}" --benchmark_format=json \
    --benchmark_repetitions="${repetitions}" >"${work}/${name}.json"
}

residency_bench() {
  BENCH_DIR=${work} bash bench/residency_bench.sh --rounds "${residency_rounds}" \
    --out "${work}/residency.md" >/dev/null
}

# Writes its own files (8 GiB by default) and removes them at exit.
cold_bench() {
  "${bin}/bench/cold_bench" --dir="${work}" --rounds="${rounds}" \
    "${cold_sizes[@]}" --out="${work}/cold.json"
}

for name in "${google_benchmarks[@]}"; do
  step "${name}" google_benchmark "${name}"
done
step residency_bench residency_bench
step cold_bench cold_bench

RUN_ALL_SECONDS=$(($(date +%s) - started))
export RUN_ALL_SECONDS
log "writing bench/RESULTS.md, bench/results.json and bench/plots"
python3 bench/report.py --work "${work}" --out "${repo}/bench"

log "wrote ${repo}/bench/RESULTS.md, ${repo}/bench/results.json and ${repo}/bench/plots"
if ((${#failed[@]} > 0)); then
  die "failed: ${failed[*]}"
fi
