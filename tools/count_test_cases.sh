#!/usr/bin/env bash
# Counts the test cases of the JUnit files Bazel wrote under a testlogs
# directory (only those newer than the file NEWER_THAN, when given), from
# each file's <testsuites> totals, and prints "PASSED FAILED":
#
#   bash tools/count_test_cases.sh "$(bazel info bazel-testlogs)" [NEWER_THAN]
#
# A test that crashes leaves no failure in its JUnit file: callers say so
# from Bazel's exit status.
set -euo pipefail

passed=0
failed=0
while IFS= read -r file; do
  header=$(grep -o '<testsuites[^>]*' "${file}" || true)
  tests=$(grep -o ' tests="[0-9]*"' <<<"${header}" | grep -o '[0-9]*' || echo 0)
  failures=$(grep -o ' failures="[0-9]*"' <<<"${header}" | grep -o '[0-9]*' || echo 0)
  passed=$((passed + ${tests:-0} - ${failures:-0}))
  failed=$((failed + ${failures:-0}))
done < <(find -L "$1" -name test.xml ${2:+-newer "$2"} 2>/dev/null)
echo "${passed} ${failed}"
