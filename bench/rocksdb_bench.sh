#!/usr/bin/env bash
# RocksDB's own db_bench reading a cold database three ways, interleaved in
# one run: RocksDB's posix reads, --mmap_read=1, and the mmapio plugin
# (--fs_uri=mmapio). Then the fault experiment: an SST truncated during
# readrandom, with --mmap_read=1 and with the plugin.
#
#   bash bench/rocksdb_bench.sh [--keys=N] [--value_size=B] [--reads=N]
#                               [--rounds=N] [--dir=DIR]
#
# Defaults: 3,000,000 random keys of 1000 bytes (1.9 GiB once compacted:
# random keys repeat), 20,000 reads per run, 3 rounds; medians and ranges
# are reported, with the MiB each run read from the device. Every run starts
# cold: the CLI's `mmapio evict` drops the database's pages first. Not part
# of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

keys=3000000
value_size=1000
reads=20000
rounds=3
dir=${TMPDIR:-/tmp}/mmapio-rocksdb-bench
for arg in "$@"; do
  case ${arg} in
    --keys=*) keys=${arg#*=} ;;
    --value_size=*) value_size=${arg#*=} ;;
    --reads=*) reads=${arg#*=} ;;
    --rounds=*) rounds=${arg#*=} ;;
    --dir=*) dir=${arg#*=} ;;
    *) echo "rocksdb_bench: unknown argument ${arg}" >&2; exit 2 ;;
  esac
done

log() { echo "rocksdb_bench: $*" >&2; }

bazel build -c opt //integrations/rocksdb:mmapio_rocksdb.so //tools:mmapio >&2
plugin=$(realpath bazel-bin/integrations/rocksdb/mmapio_rocksdb.so)
mmapio=$(realpath bazel-bin/tools/mmapio)
db=${dir}/db
mkdir -p "${dir}"

common=(--db="${db}" --key_size=16 --value_size="${value_size}"
        --num="${keys}" --compression_type=none --cache_size=0
        --statistics=0 --threads=1)

if [[ ! -f ${db}/CURRENT ]]; then
  log "filling ${keys} keys of ${value_size} bytes"
  db_bench "${common[@]}" --benchmarks=fillrandom,compact >&2
fi
log "database: $(du -sh "${db}" | cut -f1)"

# The device under the database, for the bytes each run reads from it
# (/proc/diskstats); empty when it cannot be told.
device=$(basename "$(df --output=source "${dir}" | tail -1)")
grep -qw "${device}" /proc/diskstats 2>/dev/null || device=
sectors_read() {
  if [[ -n ${device} ]]; then
    awk -v d="${device}" '$3 == d { print $6 }' /proc/diskstats
  else
    echo 0
  fi
}

# One cold run: prints the benchmark's ops/sec and the MiB read from the
# device meanwhile.
run() {
  local variant=$1 benchmark=$2
  shift 2
  local args=("${common[@]}" --use_existing_db=1 --reads="${reads}"
              --seek_nexts=64 --multiread_batched=1 --benchmarks="${benchmark}")
  "${mmapio}" evict "${db}" >/dev/null
  local out before after
  before=$(sectors_read)
  case ${variant} in
    posix) out=$(db_bench "${args[@]}" "$@" 2>&1) ;;
    mmap_read) out=$(db_bench "${args[@]}" --mmap_read=1 "$@" 2>&1) ;;
    mmapio) out=$(LD_PRELOAD=${plugin} db_bench "${args[@]}" --fs_uri=mmapio "$@" 2>&1) ;;
  esac
  after=$(sectors_read)
  awk -v b="${benchmark}" -v mib="$(( (after - before) / 2048 ))" \
    '$1 == b { for (i = 1; i <= NF; i++) if ($i == "ops/sec") print $(i - 1), mib }' <<<"${out}"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# name|db_bench arguments. posix with --async_io=1 has no io_uring in
# Debian's RocksDB; --mmap_read=1 has no async reads at all.
declare -A args_of=(
  [readrandom]="readrandom"
  [multireadrandom, batch 10]="multireadrandom --batch_size=10"
  [multireadrandom, batch 100]="multireadrandom --batch_size=100"
  [seekrandom]="seekrandom"
  [seekrandom --async_io=1]="seekrandom --async_io=1"
)
names=("readrandom" "multireadrandom, batch 10" "multireadrandom, batch 100"
       "seekrandom" "seekrandom --async_io=1")
variants_of() {
  if [[ $1 == *async* ]]; then echo posix mmapio; else echo posix mmap_read mmapio; fi
}

declare -A ops mib
for ((round = 1; round <= rounds; round++)); do
  for name in "${names[@]}"; do
    for variant in $(variants_of "${name}"); do
      read -r -a a <<<"${args_of[${name}]}"
      read -r value read_mib <<<"$(run "${variant}" "${a[@]}")"
      log "round ${round}: ${name} ${variant}: ${value} ops/s, ${read_mib} MiB read"
      ops["${name}|${variant}"]+="${value} "
      mib["${name}|${variant}"]+="${read_mib} "
    done
  done
done

cell() { tr ' ' '\n' <<<"${1:-}" | grep . | median; }
range() { tr ' ' '\n' <<<"${1:-}" | grep . | sort -n | sed -n '1p;$p' | paste -sd- -; }

echo "Ops/s, median (min-max) of ${rounds} cold runs; MiB read from the device, median:"
echo
echo "| benchmark | posix | mmap_read | mmapio | mmapio / best baseline | MiB read posix / mmap_read / mmapio |"
echo "| --- | --- | --- | --- | --- | --- |"
for name in "${names[@]}"; do
  row="| ${name} |"
  best=0
  reads_row=""
  for variant in posix mmap_read mmapio; do
    values=${ops["${name}|${variant}"]:-}
    if [[ -z ${values} ]]; then
      row+=" - |"
      reads_row+=" - /"
      continue
    fi
    m=$(cell "${values}")
    row+=" ${m} ($(range "${values}")) |"
    reads_row+=" $(cell "${mib["${name}|${variant}"]}") /"
    if [[ ${variant} == mmapio ]]; then
      mmapio_value=${m}
    elif awk -v a="${m}" -v b="${best}" 'BEGIN { exit !(a > b) }'; then
      best=${m}
    fi
  done
  row+=" $(awk -v a="${mmapio_value}" -v b="${best}" 'BEGIN { printf "%.2f", a / b }') |"
  echo "${row}${reads_row% /} |"
done

# The fault experiment, on a small database of its own: an SST truncated
# while readrandom runs.
fault_db=${dir}/fault-db
fault() {
  local variant=$1
  rm -rf "${fault_db}"
  db_bench --db="${fault_db}" --num=200000 --value_size=1000 \
    --compression_type=none --benchmarks=fillrandom,compact >/dev/null 2>&1
  local args=(--db="${fault_db}" --num=200000 --value_size=1000
              --use_existing_db=1 --cache_size=0 --reads=100000000
              --duration=20 --benchmarks=readrandom)
  local sst
  sst=$(ls -S "${fault_db}"/*.sst | head -1)
  (sleep 2; truncate -s 8192 "${sst}") &
  local status=0 out
  case ${variant} in
    mmap_read) out=$(db_bench "${args[@]}" --mmap_read=1 2>&1) || status=$? ;;
    mmapio) out=$(LD_PRELOAD=${plugin} db_bench "${args[@]}" --fs_uri=mmapio 2>&1) || status=$? ;;
  esac
  wait
  local how="exit ${status}"
  ((status > 128)) && how="killed by signal $((status - 128)) ($(kill -l $((status - 128))))"
  echo "- ${variant}: ${how}; last lines printed:"
  tr '\r' '\n' <<<"${out}" | grep -v '^\.\.\. finished\|^ *$' | tail -2 |
    sed 's/^/    /'
}
echo
echo "Fault experiment (an SST truncated to 8 KiB during readrandom):"
fault mmap_read
fault mmapio
