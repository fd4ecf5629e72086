#!/usr/bin/env bash
# Every benchmark of the project, in one command:
#
#   bash bench/run_all.sh [--rounds N] [--residency-rounds N]
#                         [--executor-rounds N]
#
# Builds every target in bench/ with -c opt, then runs
#   //bench:region_bench, //bench:guard_bench,  Google Benchmark, 5 repetitions
#   and any other Google Benchmark in bench/
#   bench/residency_bench.sh                    stat / map against vmtouch,
#                                               fincore and mincore
#   //bench:prefetch_bench                      the prefetch engine against
#                                               mmap, madvise, pread, io_uring
#   //bench:executor_bench                      one executor thread on cold
#                                               files: AsyncEngine against
#                                               faulting tasks, pread, read()
#                                               and a thread per file
#   fio (when installed)                        the device ceiling: O_DIRECT
#                                               io_uring 4 KiB random reads at
#                                               QD32, 1 MiB sequential at QD16
# and writes bench/RESULTS.md (each workload against its baselines, with the
# machine it ran on) and bench/results.json (every raw number). Progress and
# the benchmarks' own tables go to stderr. A benchmark that fails is recorded
# as failed and the others still run; the exit status is then 1.
#
# Takes about 10 minutes on 2 cores. Needs python3 (to assemble the reports),
# 10 GiB free in BENCH_DIR (default /var/tmp; a disk filesystem, since the
# prefetch, executor and fio runs measure cold reads) and about 6 GiB of free
# memory.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: run_all.sh [--rounds N] [--residency-rounds N] [--executor-rounds N]

  --rounds N            interleaved rounds of prefetch_bench (default 5)
  --residency-rounds N  interleaved rounds of residency_bench.sh (default 15)
  --executor-rounds N   interleaved rounds of executor_bench (default 3)

Environment: BENCH_DIR, where the scratch files go (default /var/tmp; must be
a disk filesystem with 10 GiB free).
EOF
}

rounds=5
residency_rounds=15
executor_rounds=3
while (($# > 0)); do
  case "$1" in
    --rounds) (($# >= 2)) || { usage >&2; exit 2; }; rounds=$2; shift 2 ;;
    --rounds=*) rounds=${1#--rounds=}; shift ;;
    --residency-rounds) (($# >= 2)) || { usage >&2; exit 2; }; residency_rounds=$2; shift 2 ;;
    --residency-rounds=*) residency_rounds=${1#--residency-rounds=}; shift ;;
    --executor-rounds) (($# >= 2)) || { usage >&2; exit 2; }; executor_rounds=$2; shift 2 ;;
    --executor-rounds=*) executor_rounds=${1#--executor-rounds=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run_all: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "${rounds}" "${residency_rounds}" "${executor_rounds}"; do
  if ! [[ "${n}" =~ ^[1-9][0-9]*$ ]]; then
    echo "run_all: rounds need a positive integer, got ${n}" >&2
    exit 2
  fi
done

log() { echo "run_all: $*" >&2; }
die() { log "$*"; exit 1; }

# The reports are assembled from several JSON documents; bash alone cannot
# parse them safely.
command -v python3 >/dev/null ||
  die "python3 is needed to assemble bench/results.json and bench/RESULTS.md; install it (Debian: apt-get install python3)"
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
  RUN_ALL_COMMIT RUN_ALL_DATE
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
if [[ -n "$(git status --porcelain -- . ':!bench/RESULTS.md' ':!bench/results.json' 2>/dev/null)" ]]; then
  RUN_ALL_COMMIT="${RUN_ALL_COMMIT} + uncommitted changes"
fi
RUN_ALL_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')

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
    --benchmark_repetitions=5 >"${work}/${name}.json"
}

residency_bench() {
  BENCH_DIR=${work} bash bench/residency_bench.sh --rounds "${residency_rounds}" \
    --out "${work}/residency.md" >/dev/null
}

prefetch_bench() {
  "${bin}/bench/prefetch_bench" --dir="${work}" --rounds="${rounds}" >"${work}/prefetch.json"
}

# Writes a 4 GiB file and eight of 256 MiB; each workload variant runs
# executor_rounds times, the stall workload's for 5 s each.
executor_bench() {
  "${bin}/bench/executor_bench" --dir="${work}" --rounds="${executor_rounds}" >"${work}/executor.json"
}

# The device's own limits, with no page cache in the way. The file fio lays
# out is written for real, so reads cost I/O.
fio_ceiling() {
  local common=(--filename="${work}/fio.dat" --size=4G --ioengine=io_uring --direct=1
    --output-format=json)
  fio --name=randread_4k_qd32 "${common[@]}" --rw=randread --bs=4k --iodepth=32 \
    --runtime=10 --time_based --output="${work}/fio_randread.json" >&2 &&
    fio --name=seqread_1m_qd16 "${common[@]}" --rw=read --bs=1M --iodepth=16 \
      --output="${work}/fio_seqread.json" >&2
  local status=$?
  rm -f "${work}/fio.dat"
  return "${status}"
}

for name in "${google_benchmarks[@]}"; do
  step "${name}" google_benchmark "${name}"
done
step residency_bench residency_bench
step prefetch_bench prefetch_bench
step executor_bench executor_bench
if command -v fio >/dev/null; then
  step fio fio_ceiling
else
  log "fio is not installed (Debian package fio): no device ceiling"
  echo "not installed" >"${work}/skipped.fio"
fi

RUN_ALL_SECONDS=$(($(date +%s) - started))
export RUN_ALL_SECONDS
log "writing bench/RESULTS.md and bench/results.json"
python3 - "${work}" "${repo}/bench" <<'PY'
"""Assembles bench/results.json and bench/RESULTS.md from one run's outputs."""
import json
import os
import re
import sys

work, out_dir = sys.argv[1], sys.argv[2]
env = os.environ


def load_json(name):
    path = os.path.join(work, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read()
    # fio may print notes before its JSON document; a benchmark that failed
    # may have left half of one.
    start = text.find("{")
    try:
        return json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        return None


def status_of(step):
    for kind in ("failed", "skipped"):
        path = os.path.join(work, f"{kind}.{step}")
        if os.path.exists(path):
            with open(path) as f:
                return f"{kind}: {f.read().strip()}"
    return None


def fmt(value, digits=3):
    if value is None:
        return "—"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def pct(value):
    return "—" if value is None else f"{100 * value:.1f}%"


def times(value):
    return "—" if value is None else f"{value:.2f}×"


environment = {
    "kernel": env["RUN_ALL_KERNEL"],
    "bench_dir": env["RUN_ALL_BENCH_DIR"],
    "filesystem": env["RUN_ALL_FS"],
    "device": env["RUN_ALL_DEVICE"],
    "read_ahead_kb": env["RUN_ALL_READ_AHEAD_KB"],
    "transparent_hugepage": env["RUN_ALL_THP"],
    "cpus": int(env["RUN_ALL_CPUS"]),
    "cpu_model": env["RUN_ALL_CPU_MODEL"],
    "memory_kib": int(env["RUN_ALL_MEMORY_KIB"]),
    "memory_reclaim": env["RUN_ALL_MEMORY_RECLAIM"],
    "commit": env["RUN_ALL_COMMIT"],
    "date": env["RUN_ALL_DATE"],
    "run_seconds": int(env["RUN_ALL_SECONDS"]),
}

prefetch = load_json("prefetch.json")
executor = load_json("executor.json")
fio = {}
for job, name in (("randread_4k_qd32", "fio_randread.json"),
                  ("seqread_1m_qd16", "fio_seqread.json")):
    document = load_json(name)
    if document is not None:
        fio[job] = document
google_names = env["RUN_ALL_GOOGLE_BENCHMARKS"].split()
google = {name: load_json(f"{name}.json") for name in google_names}
# Google Benchmark records where its binary ran from: a path of this
# machine's build cache, which says nothing about the results.
for report in google.values():
    if report is not None:
        report.get("context", {}).pop("executable", None)
residency_md = None
residency_rows = []
if os.path.exists(os.path.join(work, "residency.md")):
    with open(os.path.join(work, "residency.md")) as f:
        residency_md = f.read()
    header = None
    for line in residency_md.splitlines():
        if not line.startswith("|") or line.startswith("| ---"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
        else:
            residency_rows.append(dict(zip(header, cells)))

steps = tuple(google_names) + ("residency_bench", "prefetch_bench",
                              "executor_bench", "fio")
results = {
    "environment": environment,
    "status": {s: status_of(s) or "ok" for s in steps},
    "prefetch_bench": prefetch,
    "executor_bench": executor,
    "fio": fio or None,
    "google_benchmark": google,
    "residency_bench": None if residency_md is None else {
        "report_markdown": residency_md, "rows": residency_rows},
}
with open(os.path.join(out_dir, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
    f.write("\n")


def engine_counters(config, title):
    stats = config.get("engine_stats") or {}
    if stats:
        md.append("")
        md.append(f"{title}: " + "; ".join(
            f"{backend}: {text}" for backend, text in stats.items()) + ".")


def fio_job(job):
    document = fio.get(job)
    if not document:
        return None
    read = document["jobs"][0]["read"]
    clat = read.get("clat_ns", {})
    p99 = clat.get("percentile", {}).get("99.000000")
    return {"iops": read["iops"], "gbps": read["bw_bytes"] / 1e9,
            "mean_us": clat.get("mean", 0) / 1e3,
            "p99_us": None if p99 is None else p99 / 1e3}


fio_rand, fio_seq = fio_job("randread_4k_qd32"), fio_job("seqread_1m_qd16")

md = []
md.append("# mmapio benchmark results")
md.append("")
md.append(f"Written by `bash bench/run_all.sh` on {environment['date']} "
          f"at commit {environment['commit']}, in {environment['run_seconds']} s. "
          "Raw numbers: `bench/results.json`. The machines are shared and noisy; "
          "read the ratios, which compare variants measured interleaved in the "
          "same run.")
md.append("")
md.append("| | |")
md.append("| --- | --- |")
md.append(f"| kernel | {environment['kernel']} |")
md.append(f"| bench directory | {environment['bench_dir']}: {environment['filesystem']} "
          f"on {environment['device']} |")
md.append(f"| read_ahead_kb of that device | {environment['read_ahead_kb']} |")
md.append(f"| transparent huge pages | {environment['transparent_hugepage']} |")
md.append(f"| CPUs | {environment['cpus']} × {environment['cpu_model']} |")
md.append(f"| memory | {environment['memory_kib'] / 1048576:.1f} GiB |")
if environment["memory_reclaim"]:
    md.append(f"| page cache may shrink underneath | {environment['memory_reclaim']} |")
problems = [f"{s}: {results['status'][s]}" for s in steps if results["status"][s] != "ok"]
if problems:
    md.append("")
    md.append("Not measured: " + "; ".join(problems) + ".")

# ---------------------------------------------------------------- prefetch
md.append("")
md.append("## Prefetch engine, cold page cache (`//bench:prefetch_bench`)")
md.append("")
if prefetch is None:
    md.append("No results (see above).")
else:
    config = prefetch["config"]
    md.append(
        f"A {config['file_bytes'] / 2**30:.1f} GiB file the benchmark writes itself on "
        f"{environment['filesystem']}, dropped from the page cache (fdatasync + "
        "POSIX_FADV_DONTNEED, checked with cachestat) before every measurement. "
        f"Median of {config['rounds']} rounds; the variants of a workload run "
        "interleaved. Ratios divide medians: `× baseline` by the workload's "
        "baseline, `× best baseline` by the best variant a program could build "
        "without mmapio (kind `baseline`), `× fio` by fio's O_DIRECT result below "
        "(a buffered scan's readahead may beat O_DIRECT 1 MiB reads at QD 16). "
        "*no-majflt*: share of 2 MiB chunks during which the reader took "
        "no major fault (the kernel counts a fault that sleeps on a read already "
        "in flight as minor). *blocked*: share of the reader's wall time off the "
        "CPU (on a VM, CPU time includes what the hypervisor spends on the "
        "thread, such as mapping guest pages that were just read). *ready*: share of chunks whose prefetch had completed when the "
        "reader got there.")
    by_workload = {}
    for r in prefetch["results"]:
        by_workload.setdefault(r["workload"], []).append(r)
    titles = {
        "seq_scan": "Sequential scan, one byte per 4 KiB page",
        "random_read": f"Random 4 KiB reads, {config['reads']} distinct pages "
                       f"in batches of {config['batch']}",
        "lead_sweep": "Sequential scan with the io_uring engine: how far ahead to prefetch",
    }
    for workload, rows in by_workload.items():
        unit = rows[0]["unit"]
        baseline_name = rows[0]["baseline"]
        values = {r["variant"]: r["value"] for r in rows}
        baseline = values.get(baseline_name)
        best = max((r["value"] for r in rows
                    if r["kind"] == "baseline" and r["value"] is not None),
                   default=None)
        device = None
        if workload == "random_read" and fio_rand:
            device = fio_rand["iops"]
        elif workload in ("seq_scan", "lead_sweep") and fio_seq:
            device = fio_seq["gbps"]
        md.append("")
        md.append(f"### {titles.get(workload, workload)} (`{workload}`, {unit})")
        md.append("")
        md.append(f"| variant | kind | what | median {unit} | min–max | "
                  f"× {baseline_name} | × best baseline | × fio | "
                  "no-majflt | blocked | ready |")
        md.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in rows:
            if r["value"] is None:
                md.append(f"| `{r['variant']}` | {r['kind']} | {r['description']} | "
                          f"skipped: {r.get('skipped', '?')} | | | | | | | |")
                continue
            v = r["value"]
            samples = r["samples"]
            md.append(
                f"| `{r['variant']}` | {r['kind']} | {r['description']} | {fmt(v)} | "
                f"{fmt(min(samples))}–{fmt(max(samples))} | "
                f"{times(v / baseline) if baseline else '—'} | "
                f"{times(v / best) if best and r['kind'] == 'mmapio' else '—'} | "
                f"{times(v / device) if device else '—'} | "
                f"{pct(r.get('no_majflt_chunk_share'))} | "
                f"{pct(r.get('reader_blocked_share'))} | "
                f"{pct(r.get('ready_chunk_share'))} |")
    engine_counters(config, "Engine counters over the whole run")

# ---------------------------------------------------------------- executor
md.append("")
md.append("## One executor thread on cold files (`//bench:executor_bench`)")
md.append("")
if executor is None:
    md.append("No results (see above).")
else:
    config = executor["config"]
    md.append(
        f"Files the benchmark writes itself on {environment['filesystem']}, dropped "
        "from the page cache (fdatasync + POSIX_FADV_DONTNEED, checked with "
        "cachestat) before every measurement. Median of "
        f"{config['rounds']} rounds; the variants of a workload run interleaved. "
        "Every mapping of the stall workload is MADV_RANDOM and its pread "
        "descriptor POSIX_FADV_RANDOM, so no variant reads around a record. "
        "*ticker*: a coroutine on the same thread that asks to wake every "
        f"{config['tick_us']} µs on a fixed schedule; lateness is how late each "
        "tick ran, each tick a stall swallowed counted with its own lateness "
        "(medians over rounds of each round's percentile). *CPU/record*: the "
        "executor thread's CPU time per record read. *resident at end*: share "
        "of the file cached when the variant stopped; lookups find records "
        "earlier ones read, the more often the more records a variant reads.")
    rows_by = {}
    for r in executor["results"]:
        rows_by.setdefault(r["workload"], []).append(r)

    def value_of(rows, variant):
        for r in rows:
            if r["variant"] == variant:
                return r["value"]
        return None

    def late(r, key):
        return r["lateness_us"][key]

    stall_rows = rows_by.get("executor_stall", [])
    if stall_rows:
        naive = next((r for r in stall_rows
                      if r["variant"] == "mmap_naive" and r["value"] is not None),
                     None)
        limit = (f"{config['lookups']} lookups" if config["lookups"]
                 else f"{config['seconds']} s")
        md.append("")
        md.append("### Executor stalls (`executor_stall`, records/s)")
        md.append("")
        md.append(
            f"One EventLoop thread runs {config['tasks']} lookup coroutines; a "
            f"lookup reads {config['depth']} random 4 KiB records of a cold "
            f"{config['file_bytes'] / 2**30:.1f} GiB file one after another, each "
            f"chosen from the bytes of the one before; {limit} per variant.")
        md.append("")
        md.append("| variant | kind | what | median records/s | min–max | × mmap_naive | "
                  "ticker p50 | ticker p99 | ticker max | p99 mmap_naive ÷ this | "
                  "CPU/record | resident at end |")
        md.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in stall_rows:
            if r["value"] is None:
                md.append(f"| `{r['variant']}` | {r['kind']} | {r['description']} | "
                          f"skipped: {r.get('skipped', '?')} | | | | | | | | |")
                continue
            v = r["value"]
            p99 = late(r, "p99")
            lateness = (times(late(naive, "p99") / p99)
                        if naive and p99 else "—")
            if r["kind"] == "reference":
                # The ticker alone reads no records.
                records, speed, cpu = "— | —", "—", "—"
            else:
                records = (f"{fmt(v)} | "
                           f"{fmt(min(r['samples']))}–{fmt(max(r['samples']))}")
                speed = (times(v / naive["value"])
                         if naive and naive["value"] else "—")
                cpu = f"{r['executor_cpu_us_per_record']:.2f} µs"
            md.append(
                f"| `{r['variant']}` | {r['kind']} | {r['description']} | {records} | "
                f"{speed} | "
                f"{fmt(late(r, 'p50'))} µs | {fmt(p99)} µs | {fmt(late(r, 'max'))} µs | "
                f"{lateness} | {cpu} | {pct(r.get('resident_share_at_end'))} |")

    hazard_rows = rows_by.get("classic_hazard", [])
    if hazard_rows:
        baseline_name = hazard_rows[0]["baseline"]
        threads = value_of(hazard_rows, baseline_name)
        naive = value_of(hazard_rows, "mmap_naive")
        md.append("")
        md.append("### The classic hazard (`classic_hazard`, GB/s)")
        md.append("")
        md.append(
            f"The sum of every 512th byte of {config['hazard_files']} cold files of "
            f"{config['hazard_file_bytes'] / 2**20:.0f} MiB; every variant must find "
            "the same sum. GB/s: 10^9 bytes of file per second of wall time. "
            "*executor CPU*: CPU time of the one thread that does the work, "
            "over wall time.")
        md.append("")
        md.append(f"| variant | kind | what | median GB/s | min–max | × {baseline_name} | "
                  "× mmap_naive | executor CPU |")
        md.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in hazard_rows:
            if r["value"] is None:
                md.append(f"| `{r['variant']}` | {r['kind']} | {r['description']} | "
                          f"skipped: {r.get('skipped', '?')} | | | | |")
                continue
            v = r["value"]
            md.append(
                f"| `{r['variant']}` | {r['kind']} | {r['description']} | {fmt(v)} | "
                f"{fmt(min(r['samples']))}–{fmt(max(r['samples']))} | "
                f"{times(v / threads) if threads else '—'} | "
                f"{times(v / naive) if naive else '—'} | "
                f"{pct(r.get('executor_cpu_share'))} |")

    if executor.get("targets"):
        md.append("")
        md.append("Goals for these workloads, and whether this run met them:")
        md.append("")
        md.append("| workload | variant | measure | this run | goal | met |")
        md.append("| --- | --- | --- | --- | --- | --- |")
        for t in executor["targets"]:
            md.append(f"| `{t['workload']}` | `{t['variant']}` | {t['what']} | "
                      f"{fmt(t['value'])} | {t['goal']} | "
                      f"{'yes' if t['met'] else '**no**'} |")
    engine_counters(config, "Prefetch counters of the AsyncEngines over the whole run")

# ---------------------------------------------------------------- fio
md.append("")
md.append("## Device ceiling (fio, O_DIRECT, io_uring)")
md.append("")
if not fio:
    md.append(f"Not measured: {results['status']['fio']}.")
else:
    md.append("| job | IOPS | GB/s | mean latency | p99 latency |")
    md.append("| --- | --- | --- | --- | --- |")
    for label, job in (("4 KiB random reads, QD 32, 10 s, 4 GiB file", fio_rand),
                       ("1 MiB sequential reads, QD 16, 4 GiB once", fio_seq)):
        if job:
            p99 = "—" if job["p99_us"] is None else f"{job['p99_us']:.0f} µs"
            md.append(f"| {label} | {fmt(job['iops'])} | {job['gbps']:.3f} | "
                      f"{job['mean_us']:.0f} µs | {p99} |")

# ---------------------------------------------------------------- residency
md.append("")
md.append("## Residency (`bench/residency_bench.sh`)")
md.append("")
if residency_md is None:
    md.append(f"Not measured: {results['status']['residency_bench']}.")
else:
    # The script's own report, without its title.
    lines = residency_md.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    while lines and not lines[0].strip():
        lines = lines[1:]
    md.extend(lines)

# ---------------------------------------------------------------- google
PAIRS = {
    "region_bench": [
        ("open + map + unmap + close, 64 MiB file", "BM_RegionOpenClose", "BM_RawOpenMapClose"),
        ("residency summary, 64 MiB", "BM_SummarizeResidency", "BM_RawMincore"),
        ("exact per-page map, 64 MiB", "BM_ResidencyMapCapture", "BM_RawMincore"),
    ],
    "engine_bench": [
        ("prefetch request, {arg} bytes resident", "BM_PrefetchResident/{arg}",
         "BM_MincoreResident/{arg}"),
    ],
    "guard_bench": [
        ("8-byte load", "BM_Load8Guarded", "BM_Load8Plain"),
        ("4 KiB copy", "BM_Copy4KGuarded", "BM_Copy4KPlain"),
        ("4 KiB visit (memcpy inside GuardedVisit)", "BM_Visit4KGuarded", "BM_Copy4KPlain"),
    ],
}
UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


def aggregates(document):
    """{benchmark: {"median": ns, "cv": fraction}} from a Google Benchmark JSON."""
    out = {}
    for b in document.get("benchmarks", []):
        if b.get("run_type") != "aggregate":
            continue
        name = b.get("run_name", b["name"].rsplit("_", 1)[0])
        entry = out.setdefault(name, {})
        if b["aggregate_name"] == "cv":
            entry["cv"] = b["real_time"]
        else:
            entry[b["aggregate_name"]] = b["real_time"] * UNIT_NS[b.get("time_unit", "ns")]
    return out


def cv(entry):
    value = entry.get("cv")
    if value is None:
        return "—"
    return f"{100 * value:.1f}%" + (" !" if value > 0.10 else "")


def compare(ours_ns, theirs_ns):
    """How mmapio's time compares: "289× faster", "1.19× slower (+1.0 µs)"."""
    if ours_ns <= theirs_ns:
        return f"{theirs_ns / ours_ns:.3g}× faster"
    return f"{ours_ns / theirs_ns:.3g}× slower (+{duration(ours_ns - theirs_ns)})"


def duration(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


TITLES = {
    "region_bench": "Region costs against raw system calls",
    "guard_bench": "Guarded access against plain access, resident data",
    "engine_bench": "Prefetch requests for resident pages against one mincore",
}


def expand(pairs, names):
    """Pairs whose names hold {arg}, once per argument the benchmark ran with."""
    for label, ours, theirs in pairs:
        if "{arg}" not in ours:
            yield label, ours, theirs
            continue
        prefix = ours.split("{arg}")[0]
        for name in sorted((n for n in names if n.startswith(prefix)),
                           key=lambda n: (len(n), n)):
            arg = name[len(prefix):]
            yield label.replace("{arg}", arg), name, theirs.replace("{arg}", arg)


for name in google_names:
    title = TITLES.get(name, "Google Benchmark")
    md.append("")
    md.append(f"## {title} (`//bench:{name}`)")
    md.append("")
    document = google[name]
    if document is None:
        md.append(f"Not measured: {results['status'][name]}.")
        continue
    agg = aggregates(document)
    md.append("Google Benchmark, median of 5 repetitions; cv is their coefficient of "
              "variation, and a cv above 10% (marked !) means the repetitions "
              "disagree, so read that median with care.")
    md.append("")
    md.append("| operation | mmapio | median | cv | baseline | median | cv | mmapio vs baseline |")
    md.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    used = set()
    for label, ours, theirs in expand(PAIRS.get(name, []), agg):
        a, b = agg.get(ours), agg.get(theirs)
        used.update((ours, theirs))
        if not a or not b:
            md.append(f"| {label} | `{ours}` | missing | | `{theirs}` | | | |")
            continue
        md.append(f"| {label} | `{ours}` | {duration(a['median'])} | {cv(a)} | "
                  f"`{theirs}` | {duration(b['median'])} | {cv(b)} | "
                  f"{compare(a['median'], b['median'])} |")
    for other in sorted(set(agg) - used):
        md.append(f"| (unpaired) | `{other}` | {duration(agg[other]['median'])} | "
                  f"{cv(agg[other])} | | | | |")

with open(os.path.join(out_dir, "RESULTS.md"), "w") as f:
    f.write("\n".join(md) + "\n")
PY

log "wrote ${repo}/bench/RESULTS.md and ${repo}/bench/results.json"
if ((${#failed[@]} > 0)); then
  die "failed: ${failed[*]}"
fi
