#!/usr/bin/env bash
# The man page and the bash completion against the CLI itself: every
# command, and every option each command accepts (`mmapio help --options`),
# appears in the command's section of the man page and in its completions;
# neither offers an option the command refuses; the page renders without
# warnings.
#
#   cli_docs_test.sh MMAPIO MAN_PAGE COMPLETION
set -uo pipefail

mmapio=$1
page=$2
completion=$3
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# shellcheck source=/dev/null
source "${completion}"
# What completing the words "$@" (the last one being typed) offers.
complete_words() {
  COMP_WORDS=(mmapio "$@")
  COMP_CWORD=$#
  COMPREPLY=()
  _mmapio
  printf '%s\n' "${COMPREPLY[@]}" | sort
}

# The man page's text from the line matching $1 to the next section.
section() {
  awk -v start="$1" '
    index($0, start) == 1 { on = 1; print; next }
    on && /^\.S[HS] / { exit }
    on { print }' "${page}"
}
path_section=$(section '.SH PATH OPTIONS')
[[ -n ${path_section} ]] || fail "the man page has no PATH OPTIONS section"

commands=$("${mmapio}" help --options | sort)
offered=$(complete_words "" | grep -v '^-' | grep -v '^help$')
[[ ${commands} == "${offered}" ]] ||
  fail "completion offers commands [$(echo ${offered})], the CLI has [$(echo ${commands})]"

checked=0
for command in ${commands}; do
  own=$(section ".SS \"mmapio ${command} ")
  [[ -n ${own} ]] || fail "the man page has no section for ${command}"
  options=$("${mmapio}" help --options "${command}" | sort)
  completions=$(complete_words "${command}" "-")
  [[ ${options} == "${completions}" ]] ||
    fail "${command}: completion offers [$(echo ${completions})], the CLI takes [$(echo ${options})]"
  for option in ${options}; do
    # roff writes "-" as "\-".
    roff=$(sed 's/-/\\-/g' <<<"${option%=}")
    grep -qF -- "${roff}" <<<"${own}${path_section}" ||
      fail "${command}: ${option} is not in the man page's section"
    checked=$((checked + 1))
  done
  # Every option the man page gives the command, the command takes.
  for documented in $(grep -oE '^\.BI? \\-\\-([a-z]|\\-)+' <<<"${own}" |
                      sed 's/^\.BI\? //; s/\\-/-/g'); do
    grep -qE -- "^${documented}=?\$" <<<"${options}" ||
      fail "${command}: the man page documents ${documented}, which it refuses"
  done
done
((checked > 40)) || fail "only ${checked} options checked"

# Values and paths complete too.
[[ $(complete_words watch --color=a | tr '\n' ' ') == "always auto " ]] ||
  fail "--color= values: $(complete_words watch --color=a)"
[[ $(complete_words stat "$(dirname "${page}")/mmapio.") == *mmapio.1* ]] ||
  fail "paths are not completed"

if command -v groff >/dev/null; then
  warnings=$(groff -man -Tutf8 -ww -z "${page}" 2>&1)
  [[ -z ${warnings} ]] || fail "groff warns: ${warnings}"
  groff -man -Tascii -P-cbou "${page}" 2>/dev/null | grep -q "EXIT STATUS" ||
    fail "the rendered page has no EXIT STATUS"
else
  fail "groff is not installed (tools/install_deps.sh installs it)"
fi

echo "${checked} options checked in the man page and the completion"
if ((failures > 0)); then
  echo "${failures} failures"
  exit 1
fi
echo PASS
