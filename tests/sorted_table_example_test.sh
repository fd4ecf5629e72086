#!/bin/bash
# Runs the sorted-table example end to end: it writes a cold table, serves
# lookups through the coroutine API and checks every answer itself.
set -euo pipefail

example="$1"
table="${TEST_TMPDIR}/table"

output=$("${example}" "${table}" --records 300000 --lookups 5000 --concurrency 32)
echo "${output}"
grep -q "^lookups=5000 found=[0-9]* wrong=0 " <<<"${output}"

# Again on the table it wrote, now partly resident.
"${example}" "${table}" --lookups 2000 | grep -q "wrong=0"

# A table that cannot be mapped is an error that names it.
if "${example}" "${TEST_TMPDIR}" 2>"${TEST_TMPDIR}/error"; then
  echo "a directory was served as a table" >&2
  exit 1
fi
grep -q "\"${TEST_TMPDIR}\"" "${TEST_TMPDIR}/error"
echo PASS
