#!/usr/bin/env bash
# Runs every fuzz target of tests/fuzz under libFuzzer (--config=fuzz:
# clang 14, AddressSanitizer, UBSan) for a bounded time each, starting from
# the corpus kept in the repository, and fails when any of them crashes or
# breaks an invariant.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET]     (default 20)
#
# New inputs the fuzzers find go to a scratch corpus, not the repository;
# a crashing input is kept in FUZZ_ARTIFACTS (default: a temporary
# directory) and printed. Add it to tests/fuzz/corpus/<target>/ with its fix.
# BAZEL names the bazel command (default "bazel").
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
bazel=(${BAZEL:-bazel})
flags=(--config=fuzz --color=no --curses=no --show_progress_rate_limit=30)

targets=()
for dir in tests/fuzz/corpus/*/; do
  targets+=("$(basename "${dir}")")
done

"${bazel[@]}" build "${flags[@]}" "${targets[@]/#/\/\/tests\/fuzz:}"
bin=$("${bazel[@]}" info "${flags[@]}" bazel-bin 2>/dev/null)

scratch=$(mktemp -d)
trap 'rm -rf "${scratch}"' EXIT
artifacts=${FUZZ_ARTIFACTS:-${scratch}/artifacts}
mkdir -p "${artifacts}"

status=0
for target in "${targets[@]}"; do
  mkdir -p "${scratch}/corpus/${target}" "${scratch}/tmp/${target}"
  log="${scratch}/${target}.log"
  # The file walker's trees go to a directory of their own.
  if TEST_TMPDIR="${scratch}/tmp/${target}" "${bin}/tests/fuzz/${target}" \
      -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 \
      -max_len=512 -print_final_stats=1 \
      -artifact_prefix="${artifacts}/${target}-" \
      "${scratch}/corpus/${target}" "tests/fuzz/corpus/${target}" \
      >"${log}" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "${log}" |
      grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "${log}" | tail -1 | grep -o '[0-9]*' || echo '?')
    echo "fuzz: ${target}: ok, ${runs} runs in ${seconds} s, coverage ${cov}"
  else
    status=1
    echo "fuzz: ${target}: FAILED"
    grep -v '^#\|^INFO\|^\s*$' "${log}" | tail -40
    for crash in "${artifacts}/${target}-"*; do
      [[ -e "${crash}" ]] || continue
      echo "fuzz: ${target}: input kept in ${crash}:"
      od -A d -c "${crash}" | head -20
    done
  fi
done
if [[ "${status}" -ne 0 && -z "${FUZZ_ARTIFACTS:-}" ]]; then
  # Keep the crashing inputs past the scratch directory's removal.
  kept=$(mktemp -d)
  cp -r "${artifacts}/." "${kept}/"
  echo "fuzz: crashing inputs copied to ${kept}"
fi
exit "${status}"
