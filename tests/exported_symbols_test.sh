#!/usr/bin/env bash
# A shared libmmapio exports its public API and nothing of mmapio::internal:
# no dynamic symbol it defines names an internal type or function, in its
# own name, its template arguments or its parameter types.
#
#   tests/exported_symbols_test.sh libmmapio.so
set -euo pipefail

library=$1
symbols=$(nm -DC --defined-only "${library}")
if [[ -z ${symbols} ]]; then
  echo "FAIL: ${library} exports nothing" >&2
  exit 1
fi
# The public API is there.
for expected in 'mmapio::Region::Open(' 'mmapio::AsyncEngine::Create(' \
    'mmapio::GuardedLoadBytes(' 'mmapio_fault_handler_state' \
    'mmapio_guarded_load64'; do
  if ! grep -qF -- "${expected}" <<<"${symbols}"; then
    echo "FAIL: ${library} does not export ${expected}" >&2
    exit 1
  fi
done
if leaked=$(grep 'mmapio::internal' <<<"${symbols}"); then
  echo "FAIL: ${library} exports internal symbols:" >&2
  echo "${leaked}" >&2
  exit 1
fi
echo "PASS: $(wc -l <<<"${symbols}") symbols, none internal"
