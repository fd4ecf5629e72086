#!/usr/bin/env bash
# Soak run: the truncation, EIO and cancellation tortures of the test suite,
# over and over for a while, then a report of what they did.
#
#   tools/soak.sh [MINUTES] [BAZEL_FLAGS...]     (default 10 minutes)
#   tools/soak.sh 60 --config=tsan
#
# Each round runs tests/soak:soak_driver, which keeps each of its three
# tortures going for 20 s (SOAK_DRIVER_SECONDS) and counts operations,
# faults and errors: guarded copies of a file truncated and written back
# under four readers (faults: OutOfRange past the cut), copies of a FUSE
# file whose chosen pages fail with EIO (faults: DataLoss at the first bad
# page), and requests to AsyncEngine cancelled from another thread while in
# flight (faults: Cancelled); an error is anything else. Then the round runs
# the tortures of the test suite once per backend: the truncation, EIO,
# cancellation, deadline and shutdown tests of guarded_test, prefetch_test
# and async_test, counted as runs that passed, failed or were skipped. Run
# as root, so that FUSE and tmpfs mounts work. Logs of failed runs are kept.
# BAZEL names the bazel command (default "bazel").
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-10}
shift || true
bazel=(${BAZEL:-bazel})
flags=(--color=no --curses=no --show_progress_rate_limit=30 "$@")

# binary:gtest filter of its tortures.
tortures=(
  "guarded_test:GuardedTest.ConcurrentTruncationNeverCrashesNorLies:GuardedTest.TruncationBecomesOutOfRange:GuardedTest.DeviceErrorsBecomeDataLossOnExactlyTheBadPages"
  "prefetch_test:*.TruncationArrivesAsOutOfRange/*:*.DeviceErrorsArriveAsDataLoss/*:*.ManyRequestsInFlightEachCompleteOnce/*"
  "async_test:*.TruncationArrivesAsOutOfRange/*:*.DeviceErrorsArriveAsDataLoss/*:*.CancelRacingCompletionCallsBackExactlyOnce/*:*.DestroyingTheEngineCompletesEveryRequest/*:*.DeadlinesAndCancellationCompleteWaitingRequests/*:*.DestroyingTheEngineDoesNotWaitForBlockedReads/*"
)
binaries=(//tests/soak:soak_driver)
for torture in "${tortures[@]}"; do binaries+=("//tests:${torture%%:*}"); done
"${bazel[@]}" build "${flags[@]}" "${binaries[@]}"
bin=$("${bazel[@]}" info "${flags[@]}" bazel-bin 2>/dev/null)

work=$(mktemp -d)
failed_logs="${work}/failed"
mkdir -p "${failed_logs}"
declare -A passed failed skipped operations faults errors
deadline=$((SECONDS + minutes * 60))
rounds=0
failed_runs=0
while ((SECONDS < deadline)); do
  rounds=$((rounds + 1))
  log="${work}/soak_driver.log"
  status=0
  TEST_SRCDIR="${bin}/tests/soak/soak_driver.runfiles" TEST_TMPDIR="${work}" \
    "${bin}/tests/soak/soak_driver" "${SOAK_DRIVER_SECONDS:-20}" \
    >"${log}" 2>&1 || status=$?
  while read -r name op fault error; do
    operations[${name}]=$((${operations[${name}]:-0} + op))
    faults[${name}]=$((${faults[${name}]:-0} + fault))
    errors[${name}]=$((${errors[${name}]:-0} + error))
  done < <(sed -n 's/^soak: \([a-z]*\) operations=\([0-9]*\) faults=\([0-9]*\) errors=\([0-9]*\)$/\1 \2 \3 \4/p' "${log}")
  if [[ "${status}" -ne 0 ]]; then
    failed_runs=$((failed_runs + 1))
    kept="${failed_logs}/soak_driver-round${rounds}.log"
    cp "${log}" "${kept}"
    echo "soak: round ${rounds}: soak_driver failed (exit ${status}), log in ${kept}"
  fi
  for torture in "${tortures[@]}"; do
    binary=${torture%%:*}
    filter=${torture#*:}
    log="${work}/${binary}.log"
    tmp="${work}/tmp"
    rm -rf "${tmp}" && mkdir -p "${tmp}"
    status=0
    TEST_SRCDIR="${bin}/tests/${binary}.runfiles" TEST_TMPDIR="${tmp}" \
      "${bin}/tests/${binary}" --gtest_filter="${filter}" \
      >"${log}" 2>&1 || status=$?
    while read -r result name; do
      case "${result}" in
        OK) passed[${name}]=$((${passed[${name}]:-0} + 1)) ;;
        FAILED) failed[${name}]=$((${failed[${name}]:-0} + 1)) ;;
        SKIPPED) skipped[${name}]=$((${skipped[${name}]:-0} + 1)) ;;
      esac
    done < <(sed -n 's/^\[ *\(OK\|FAILED\|SKIPPED\) *\] \([^ ]*\) (.*/\1 \2/p' "${log}")
    if [[ "${status}" -ne 0 ]]; then
      # A crash fails the run without a FAILED line.
      failed_runs=$((failed_runs + 1))
      kept="${failed_logs}/${binary}-round${rounds}.log"
      cp "${log}" "${kept}"
      echo "soak: round ${rounds}: ${binary} failed (exit ${status}), log in ${kept}"
    fi
  done
done

echo "soak: ${rounds} rounds in ${minutes} min${*:+ with $*}"
printf '%-85s %12s %12s %7s\n' torture operations faults errors
for name in truncation eio cancellation; do
  printf '%-85s %12d %12d %7d\n' "${name}" "${operations[${name}]:-0}" \
    "${faults[${name}]:-0}" "${errors[${name}]:-0}"
done
printf '%-85s %7s %7s %7s\n' torture passed failed skipped
for name in $(printf '%s\n' "${!passed[@]}" "${!failed[@]}" "${!skipped[@]}" | sort -u); do
  printf '%-85s %7d %7d %7d\n' "${name}" "${passed[${name}]:-0}" \
    "${failed[${name}]:-0}" "${skipped[${name}]:-0}"
done
if ((failed_runs > 0)); then
  echo "soak: ${failed_runs} binary runs failed or crashed; logs in ${failed_logs}"
  exit 1
fi
rm -rf "${work}"
echo "soak: no failures"
