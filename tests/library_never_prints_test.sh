#!/usr/bin/env bash
# A library never prints: no object of mmapio's libraries (the archives
# given as arguments) refers to a function or stream that writes to stdout
# or stderr. Printing is the CLI's business; the library returns Statuses.
set -euo pipefail

forbidden='^(printf|fprintf|vfprintf|vprintf|dprintf|puts|fputs|putchar|fputc|putc|perror|fwrite|psignal|psiginfo|warn|warnx|err|errx|stdout|stderr|_ZSt4cout|_ZSt4cerr|_ZSt4clog|_ZSt5wcout|_ZSt5wcerr)(@.*)?$'
checked=0
status=0
for archive in "$@"; do
  [[ "${archive}" == *.a ]] || continue
  checked=$((checked + 1))
  while read -r symbol; do
    if [[ "${symbol}" =~ ${forbidden} ]]; then
      echo "FAIL: ${archive} refers to ${symbol}" >&2
      status=1
    fi
  done < <(nm --undefined-only --format=just-symbols "${archive}")
done
if ((checked == 0)); then
  echo "FAIL: no archive to check among: $*" >&2
  exit 1
fi
if ((status == 0)); then echo "PASS: ${checked} archives print nothing"; fi
exit "${status}"
