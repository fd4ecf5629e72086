#!/bin/bash
# Fails when an example of the documentation escaped tests/doc_snippets.py:
# the examples it wrote out must be as many as the ```cpp blocks of README.md
# plus the "// Example...:" markers of the public headers, counted here
# independently of it. That they compile is checked by building this test,
# whose data holds the archive compiled from them.
#
#   doc_snippets_test.sh ARCHIVE GENERATED.cc README.md FILE...

set -euo pipefail

archive="$1"
generated="$2"
readme="$3"
shift 3

if [[ ! -s "${archive}" ]]; then
  echo "FAIL: the compiled examples (${archive}) are missing" >&2
  exit 1
fi

headers=()
for file in "$@"; do
  if [[ "${file}" == mmapio/*.h && "${file}" != mmapio/*/* ]]; then
    headers+=("${file}")
  fi
done

blocks=$(grep -cE '^\s*```\s*cpp\s*$' "${readme}" || true)
markers=$(cat "${headers[@]}" | grep -cE '^\s*// Example.*:\s*$' || true)
written=$(grep -c '^// Snippet [0-9]*: ' "${generated}" || true)

echo "README.md: ${blocks} cpp blocks; ${#headers[@]} headers:" \
  "${markers} examples; compiled: ${written}"
if (( blocks == 0 || markers == 0 )); then
  echo "FAIL: no examples found; are the paths right?" >&2
  exit 1
fi
if (( written != blocks + markers )); then
  echo "FAIL: ${written} examples compiled of the" \
    "$((blocks + markers)) in the documentation" >&2
  exit 1
fi
