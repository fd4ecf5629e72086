# shellcheck shell=bash
# Sourced by the benchmark scripts: the scratch directory they write to.
#
# require_bench_dir NEED_GIB
#   Sets bench_root (BENCH_DIR, default /var/tmp, made absolute) and fs_type,
#   or calls the script's die() when it is not a directory, is tmpfs or ramfs
#   (where nothing is ever cold), or has less than NEED_GIB GiB free.
require_bench_dir() {
  local need_gib=$1 free_kib
  bench_root=${BENCH_DIR:-/var/tmp}
  [[ -d "${bench_root}" ]] || die "${bench_root} is not a directory"
  bench_root=$(cd "${bench_root}" && pwd)
  fs_type=$(stat -f -c %T "${bench_root}")
  case "${fs_type}" in
    tmpfs | ramfs) die "${bench_root} is ${fs_type}, where nothing is ever cold; set BENCH_DIR to a disk filesystem" ;;
  esac
  free_kib=$(df -Pk "${bench_root}" | awk 'NR == 2 { print $4 }')
  if ((free_kib < need_gib * 1024 * 1024)); then
    die "${bench_root} has $((free_kib / 1024)) MiB free; ${need_gib} GiB are needed (set BENCH_DIR elsewhere)"
  fi
}
