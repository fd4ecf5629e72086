#!/usr/bin/env bash
# Builds mmapio for Windows on this Linux machine (mingw-w64) and runs every
# Windows test under Wine:
#
#   bash tools/windows_test.sh
#
# Installs what it needs (Wine, mingw-w64; tools/mingw_deps.sh builds
# Abseil and GoogleTest for Windows once, about 4 minutes, then caches
# them), makes the Wine prefix the tests share, builds every target that
# exists on Windows (`bazel build --config=mingw //...`; Linux-only targets
# are skipped), runs the tests, and ends with one line,
# "windows: N passed, M failed", exiting non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "windows_test: $*" >&2; }

# Debian's wine64 is the loader; wine (the package) puts it on PATH.
if ! command -v wine >/dev/null || ! command -v wineserver >/dev/null; then
  sudo=()
  ((EUID != 0)) && sudo=(sudo)
  log "installing Wine"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends wine wine64 >&2
fi
bash tools/mingw_deps.sh >/dev/null

# One prefix for all tests, made before they start so that they do not race
# to make it; tools/wine_run.sh uses the same default.
export WINEPREFIX=${WINEPREFIX:-/tmp/mmapio-wine-$(id -u)}
export WINEDEBUG=-all
if [[ ! -f ${WINEPREFIX}/system.reg ]]; then
  log "making the Wine prefix ${WINEPREFIX}"
  WINEDLLOVERRIDES="winedbg.exe=d" wine wineboot --init
  wineserver --wait
fi
# One Wine server for the whole run: tests that start together would
# otherwise race to start it, and a test's wine then fails at times.
wineserver --persistent 2>/dev/null || log "using the Wine server already running"
trap 'wineserver --kill 2>/dev/null || true' EXIT

flags=(--config=mingw --color=no --curses=no --show_progress_rate_limit=30)
status=0
bazel build "${flags[@]}" //... || status=1
if ((status == 0)); then
  bazel test "${flags[@]}" --test_env=WINEPREFIX="${WINEPREFIX}" //... || status=1
fi

# Test cases from the JUnit files of this configuration's tests.
read -r passed failed < <(bash tools/count_test_cases.sh \
  "$(bazel info "${flags[@]}" bazel-testlogs 2>/dev/null)")
if ((status != 0 && failed == 0)); then
  failed=1  # A build failure or a crash leaves no failure in a JUnit file.
fi
echo "windows: ${passed} passed, ${failed} failed"
exit "${status}"
