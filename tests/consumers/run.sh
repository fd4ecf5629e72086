#!/usr/bin/env bash
# mmapio as an integrator meets it, from this checkout:
#
#   bash tests/consumers/run.sh
#
# Builds mmapio with CMake as a static and as a shared library, runs ctest
# on the shared build, installs each into a temporary prefix and then moves
# the install elsewhere (it must not depend on where it was installed).
# Against each install it builds and runs the consumers: CMake find_package
# (tests/consumers/cmake) and pkg-config (tests/consumers/pkgconfig); it
# checks that `mmapio --version`, the CMake package version and the
# pkg-config version agree with mmapio/version.h, that each installed header
# compiles on its own, that the platform layer is not installed, and that
# the shared library has its SONAME and exports nothing internal. Last, a
# separate Bazel workspace (tests/consumers/bazel) builds and runs the same
# consumer. Ends with "consumers: ok", or names what failed and exits 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=${PWD}

log() { echo "consumers: $*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
jobs=$(nproc)

version=$(sed -n 's/^#define MMAPIO_VERSION_STRING "\(.*\)"$/\1/p' \
  mmapio/version.h)
[[ -n ${version} ]] || fail "no MMAPIO_VERSION_STRING in mmapio/version.h"

# The consumers' file: a record of 8 known bytes, then more.
data=${work}/data.bin
printf '\x01\x23\x45\x67\x89\xab\xcd\xef' >"${data}"
head -c 100000 /dev/zero >>"${data}"
expected_record=efcdab8967452301

# Checks the line a consumer printed.
check_line() {
  local name=$1 out=$2
  [[ ${out} == "mmapio ${version}: "*"first record ${expected_record}" ]] ||
    fail "${name}: unexpected output: ${out}"
  log "${name}: ${out}"
}

# Runs a consumer binary on the file and checks its line.
check_consumer() {
  local name=$1
  shift
  local out
  out=$("$@" "${data}") || fail "${name}: the consumer failed: ${out}"
  check_line "${name}" "${out}"
}

for kind in static shared; do
  build=${work}/build-${kind}
  shared=OFF
  tests=OFF
  if [[ ${kind} == shared ]]; then
    shared=ON
    tests=ON
  fi
  log "building the ${kind} library with CMake"
  cmake -S . -B "${build}" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=${shared} -DMMAPIO_BUILD_TESTS=${tests} \
    -DMMAPIO_BUILD_BENCHMARKS=OFF >"${work}/cmake-${kind}.log" ||
    { cat "${work}/cmake-${kind}.log"; fail "cmake configure (${kind})"; }
  cmake --build "${build}" -j "${jobs}" >"${work}/build-${kind}.log" ||
    { tail -50 "${work}/build-${kind}.log"; fail "cmake build (${kind})"; }
  if [[ ${tests} == ON ]]; then
    ctest --test-dir "${build}" --output-on-failure -j "${jobs}" ||
      fail "ctest (${kind})"
  fi

  # Installed in one place, used from another.
  cmake --install "${build}" --prefix "${work}/staging-${kind}" >/dev/null
  prefix=${work}/installed-${kind}
  mv "${work}/staging-${kind}" "${prefix}"
  libdir=$(cd "${prefix}" && dirname "$(find . -name mmapio.pc | head -1)")
  libdir=${prefix}/${libdir#./}
  libdir=${libdir%/pkgconfig}

  tool_version=$("${prefix}/bin/mmapio" --version)
  [[ ${tool_version} == "mmapio ${version}" ]] ||
    fail "${kind}: mmapio --version says \"${tool_version}\""
  pc_version=$(PKG_CONFIG_PATH=${libdir}/pkgconfig pkg-config --modversion mmapio)
  [[ ${pc_version} == "${version}" ]] ||
    fail "${kind}: pkg-config says version ${pc_version}"
  grep -q "set(PACKAGE_VERSION \"${version}\")" \
    "${libdir}/cmake/mmapio/mmapioConfigVersion.cmake" ||
    fail "${kind}: the CMake package is not version ${version}"

  [[ -f ${prefix}/share/man/man1/mmapio.1 ]] ||
    fail "${kind}: the man page is not installed"
  [[ -f ${prefix}/share/bash-completion/completions/mmapio ]] ||
    fail "${kind}: the bash completion is not installed"
  [[ ! -e ${prefix}/include/mmapio/internal/platform.h ]] ||
    fail "${kind}: the platform layer is installed"
  for header in "${prefix}"/include/mmapio/*.h; do
    echo "#include <mmapio/${header##*/}>" |
      g++ -std=c++20 -fsyntax-only -I"${prefix}/include" -x c++ - ||
      fail "${kind}: ${header##*/} does not compile on its own"
  done

  if [[ ${kind} == shared ]]; then
    soname=$(readelf -d "${libdir}/libmmapio.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
    [[ ${soname} == "libmmapio.so.${version%.*}" ]] ||
      fail "the SONAME is \"${soname}\""
    bash tests/exported_symbols_test.sh "${libdir}/libmmapio.so" ||
      fail "the shared library exports internal symbols"
  fi

  cp -r tests/consumers "${work}/consumers-${kind}"
  cmake -S "${work}/consumers-${kind}/cmake" -B "${work}/cmake-consumer-${kind}" \
    -DCMAKE_PREFIX_PATH="${prefix}" >/dev/null ||
    fail "${kind}: find_package(mmapio) failed"
  cmake --build "${work}/cmake-consumer-${kind}" >/dev/null ||
    fail "${kind}: the CMake consumer does not build"
  check_consumer "cmake find_package (${kind})" \
    "${work}/cmake-consumer-${kind}/consumer"

  PKG_CONFIG_PATH=${libdir}/pkgconfig make -s -C \
    "${work}/consumers-${kind}/pkgconfig" >/dev/null ||
    fail "${kind}: the pkg-config consumer does not build"
  LD_LIBRARY_PATH=${libdir} check_consumer "pkg-config (${kind})" \
    "${work}/consumers-${kind}/pkgconfig/consumer"
done

log "building the Bazel consumer workspace"
(cd tests/consumers/bazel &&
  bazel run --color=no --curses=no --symlink_prefix=/ //:consumer -- \
    "${data}" >"${work}/bazel.out" 2>"${work}/bazel.log") ||
  { tail -40 "${work}/bazel.log"; fail "the Bazel consumer does not build or run"; }
check_line "bazel" "$(cat "${work}/bazel.out")"
(cd tests/consumers/bazel && bazel shutdown 2>/dev/null)
log "ok"
