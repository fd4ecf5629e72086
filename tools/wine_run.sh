#!/usr/bin/env bash
# Runs a Windows program under Wine with the paths of Bazel's test
# environment translated, so that `bazel test --config=mingw` runs Windows
# tests on Linux (--run_under=//tools:wine_run). Headless: no debugger on a
# crash (a death test then takes milliseconds, not seconds), no Wine chatter.
#
#   tools/wine_run.sh PROGRAM.exe [ARGS...]
#
# The Wine prefix is WINEPREFIX if set, else one per user under /tmp, made
# on first use (about 15 seconds; tools/windows_test.sh makes it before the
# tests start, so that they do not race to).
set -euo pipefail

export WINEDEBUG=-all
export WINEDLLOVERRIDES="winedbg.exe=d${WINEDLLOVERRIDES:+;${WINEDLLOVERRIDES}}"
export WINEPREFIX=${WINEPREFIX:-/tmp/mmapio-wine-$(id -u)}

wine=$(command -v wine || true)
if [[ -z ${wine} ]]; then
  echo "wine_run: Wine is not installed (tools/windows_test.sh installs it)" >&2
  exit 2
fi

# A Unix path as Windows sees it: Wine maps / to drive Z:.
windows_path() { printf 'Z:%s' "${1//\//\\}"; }

for name in TEST_TMPDIR TEST_SRCDIR TEST_UNDECLARED_OUTPUTS_DIR \
    TEST_PREMATURE_EXIT_FILE TEST_WARNINGS_OUTPUT_FILE \
    TEST_INFRASTRUCTURE_FAILURE_FILE XML_OUTPUT_FILE; do
  if [[ -n ${!name:-} && ${!name} == /* ]]; then
    export "${name}=$(windows_path "${!name}")"
  fi
done
# GTEST_OUTPUT is "xml:PATH".
if [[ ${GTEST_OUTPUT:-} == xml:/* ]]; then
  export GTEST_OUTPUT="xml:$(windows_path "${GTEST_OUTPUT#xml:}")"
fi

exec "${wine}" "$@"
