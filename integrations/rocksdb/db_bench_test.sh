#!/usr/bin/env bash
# Debian's own db_bench, unchanged, with the plugin preloaded and
# --fs_uri=mmapio: point reads, batched MultiGet (MultiRead), and seeks with
# async_io (ReadAsync, then Poll) all go through mmapio, every key is found,
# and the plugin prints its one line only when asked to.
#
#   db_bench_test.sh PLUGIN.so
set -euo pipefail

plugin=$(realpath "$1")
db_bench=$(command -v db_bench || true)
if [[ -z ${db_bench} ]]; then
  echo "FAIL: db_bench is missing (tools/install_deps.sh installs rocksdb-tools)" >&2
  exit 1
fi
db=${TEST_TMPDIR:-$(mktemp -d)}/db

# A plugin built with a sanitizer needs its runtime loaded first, which
# Debian's uninstrumented db_bench does not do: such builds (--config=asan,
# --config=tsan) test the FileSystem through rocksdb_test instead.
# (ldd's output is kept whole: grep -q closing the pipe early would fail
# the pipeline under pipefail.)
libraries=$(ldd "${plugin}")
if grep -qE 'lib(asan|tsan|ubsan)' <<<"${libraries}"; then
  echo "PASS: not run: the plugin is built with a sanitizer runtime"
  exit 0
fi

run_db_bench() {
  # On db_bench itself: a preload on a wrapper would not reach it.
  LD_PRELOAD=${plugin} "${db_bench}" --fs_uri=mmapio --db="${db}" \
    --num=20000 --reads=4000 --cache_size=0 --multiread_batched=1 \
    --async_io=1 "$@" 2>&1
}

status=0
out=$(MMAPIO_ROCKSDB_STATS=1 run_db_bench \
  --benchmarks=fillseq,flush,readrandom,multireadrandom,seekrandom) || status=$?
if ((status != 0)); then
  echo "${out}"
  echo "FAIL: db_bench exited with status ${status} (an unregistered --fs_uri crashes it)" >&2
  exit 1
fi
echo "${out}" | grep -E "micros/op|mmapio-rocksdb"
for benchmark in readrandom multireadrandom seekrandom; do
  grep -qE "^${benchmark} .*\(4000 of 4000 found\)" <<<"${out}" || {
    echo "FAIL: ${benchmark} did not find every key" >&2
    exit 1
  }
done
stats=$(grep '^mmapio-rocksdb: ' <<<"${out}") || {
  echo "FAIL: no mmapio-rocksdb line with MMAPIO_ROCKSDB_STATS=1" >&2
  exit 1
}
for counter in files reads bytes multi_reads async_reads; do
  value=$(grep -oE " ${counter}=[0-9]+" <<<"${stats}" | cut -d= -f2)
  if ((${value:-0} == 0)); then
    echo "FAIL: ${counter} is 0: ${stats}" >&2
    exit 1
  fi
done
grep -q " faults=0" <<<"${stats}" || {
  echo "FAIL: faults on a healthy database: ${stats}" >&2
  exit 1
}

# Silent unless asked.
out=$(run_db_bench --use_existing_db=1 --benchmarks=readrandom)
if grep -q 'mmapio-rocksdb' <<<"${out}"; then
  echo "FAIL: the plugin printed without MMAPIO_ROCKSDB_STATS=1" >&2
  exit 1
fi
echo "PASS"
