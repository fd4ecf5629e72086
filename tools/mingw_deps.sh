#!/usr/bin/env bash
# Builds the libraries mmapio needs for Windows, which Debian packages only
# for Linux: Abseil from Debian's own source package (the version of the
# installed libabsl-dev) and GoogleTest from the sources Debian's googletest
# package ships, both with mingw-w64 (GCC, posix threads) and C++20.
#
#   bash tools/mingw_deps.sh           # prints the prefix they are installed in
#   bash tools/mingw_deps.sh --prefix  # the prefix if they are built, else
#                                      # exit 1; installs and builds nothing
#
# The prefix is keyed on both versions, under ${XDG_CACHE_HOME:-~/.cache}:
# once built (about 6 minutes on 2 CPUs), a later run prints it at once.
# Installs the Debian packages it needs (mingw-w64, cmake, dpkg-dev,
# googletest) and, when no deb-src entry exists, adds one for the archive
# the machine already uses.
set -euo pipefail

log() { echo "mingw_deps: $*" >&2; }

sudo=()
if ((EUID != 0)); then
  sudo=(sudo)
fi

install_packages() {
  local missing=()
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "${package}" 2>/dev/null |
        grep -q "install ok installed"; then
      missing+=("${package}")
    fi
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

prefix_of_installed_versions() {
  local absl_version gtest_version
  absl_version=$(dpkg-query -W -f='${Version}' libabsl-dev 2>/dev/null) || return 1
  gtest_version=$(dpkg-query -W -f='${Version}' googletest 2>/dev/null) || return 1
  echo "${XDG_CACHE_HOME:-${HOME}/.cache}/mmapio/mingw-absl-${absl_version//[^A-Za-z0-9.]/_}-gtest-${gtest_version//[^A-Za-z0-9.]/_}"
}

if [[ ${1:-} == --prefix ]]; then
  prefix=$(prefix_of_installed_versions) && [[ -f ${prefix}/.complete ]] || exit 1
  echo "${prefix}"
  exit 0
fi

install_packages g++-mingw-w64-x86-64-posix cmake dpkg-dev googletest \
  libabsl-dev

absl_version=$(dpkg-query -W -f='${Version}' libabsl-dev)
gtest_version=$(dpkg-query -W -f='${Version}' googletest)
prefix=$(prefix_of_installed_versions)
if [[ -f ${prefix}/.complete ]]; then
  echo "${prefix}"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT

cat >"${work}/mingw.cmake" <<'TOOLCHAIN'
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
TOOLCHAIN

common=(
  -DCMAKE_TOOLCHAIN_FILE="${work}/mingw.cmake"
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_CXX_STANDARD=20
  -DCMAKE_INSTALL_PREFIX="${prefix}"
  -DBUILD_SHARED_LIBS=OFF
)

if ! apt-cache showsrc abseil 2>/dev/null | grep -q '^Package: abseil'; then
  log "adding a deb-src entry for the machine's Debian archive"
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      "${sudo[@]}" tee /etc/apt/sources.list.d/mmapio-deb-src.sources >/dev/null
  else
    grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
      "${sudo[@]}" tee /etc/apt/sources.list.d/mmapio-deb-src.list >/dev/null
  fi
  "${sudo[@]}" apt-get update -qq
fi

log "building Abseil ${absl_version} for mingw-w64 in ${prefix} (about 6 minutes)"
(cd "${work}" && apt-get source -qq --download-only "abseil=${absl_version}" >&2 &&
  dpkg-source -x --no-check ./*.dsc absl >/dev/null)
cmake -S "${work}/absl" -B "${work}/absl-build" "${common[@]}" \
  -DABSL_PROPAGATE_CXX_STD=ON -DABSL_BUILD_TESTING=OFF -DBUILD_TESTING=OFF \
  >"${work}/absl-configure.log" || { cat "${work}/absl-configure.log" >&2; exit 1; }
cmake --build "${work}/absl-build" -j "$(nproc)" >"${work}/absl-build.log" 2>&1 ||
  { tail -50 "${work}/absl-build.log" >&2; exit 1; }
cmake --install "${work}/absl-build" >/dev/null

log "building GoogleTest ${gtest_version} for mingw-w64"
cmake -S /usr/src/googletest -B "${work}/gtest-build" "${common[@]}" \
  -Dgtest_disable_pthreads=OFF >"${work}/gtest-configure.log" ||
  { cat "${work}/gtest-configure.log" >&2; exit 1; }
cmake --build "${work}/gtest-build" -j "$(nproc)" >"${work}/gtest-build.log" 2>&1 ||
  { tail -50 "${work}/gtest-build.log" >&2; exit 1; }
cmake --install "${work}/gtest-build" >/dev/null

touch "${prefix}/.complete"
echo "${prefix}"
