#!/usr/bin/env bash
# Soak run: the truncation, EIO and cancellation tortures of the test suite,
# over and over for a while, then a report of what they did.
#
#   tools/soak.sh [MINUTES] [BAZEL_FLAGS...]     (default 10 minutes)
#   tools/soak.sh 60 --config=tsan
#
# Each round runs every torture once per backend (the tests' own
# parameters) in the test binaries built by Bazel, as root so that the FUSE
# filesystem that fails pages with EIO and the tmpfs mounts work. The
# report counts, per torture, the runs that passed, failed or were skipped;
# each run makes thousands of guarded reads, prefetches or requests against
# a file being truncated, a device failing pages, or requests cancelled,
# timed out and destroyed while in flight, and fails on any crash, wrong
# status or callback not run exactly once. Logs of failed runs are kept.
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
binaries=()
for torture in "${tortures[@]}"; do binaries+=("//tests:${torture%%:*}"); done
"${bazel[@]}" build "${flags[@]}" "${binaries[@]}"
bin=$("${bazel[@]}" info "${flags[@]}" bazel-bin 2>/dev/null)

work=$(mktemp -d)
failed_logs="${work}/failed"
mkdir -p "${failed_logs}"
declare -A passed failed skipped
deadline=$((SECONDS + minutes * 60))
rounds=0
failed_runs=0
while ((SECONDS < deadline)); do
  rounds=$((rounds + 1))
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
