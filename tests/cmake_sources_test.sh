#!/usr/bin/env bash
# CMakeLists.txt builds the files Bazel builds for Linux: every source of
# the library, the CLI, the tests and the benchmarks that is in the Bazel
# build (the files after the first argument) is named in CMakeLists.txt (the
# first argument), and CMakeLists.txt names no other. Files only Bazel
# builds are left out of the second list in their packages' BUILD files.
#
#   tests/cmake_sources_test.sh CMakeLists.txt FILE...
set -euo pipefail

cmake_lists=$1
shift
in_cmake=$(grep -oE '(mmapio|tools|tests|bench)/[A-Za-z0-9_/]+\.(cc|h|S|sh)' \
  "${cmake_lists}" | sort -u)
in_bazel=$(printf '%s\n' "$@" | sort -u)

status=0
while read -r file; do
  echo "FAIL: Bazel builds ${file}; CMakeLists.txt does not name it" >&2
  status=1
done < <(comm -13 <(echo "${in_cmake}") <(echo "${in_bazel}") | grep .)
while read -r file; do
  echo "FAIL: CMakeLists.txt names ${file}, which the Bazel build does not" >&2
  status=1
done < <(comm -23 <(echo "${in_cmake}") <(echo "${in_bazel}") | grep .)
if ((status == 0)); then
  echo "PASS: both builds name the same $(wc -l <<<"${in_bazel}") files"
fi
exit "${status}"
