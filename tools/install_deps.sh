#!/usr/bin/env bash
# Installs the Debian 12 packages that mmapio's build, tests and benchmarks
# need. Idempotent: installs nothing when everything is present.
set -euo pipefail

packages=(
  bazel-bootstrap   # Bazel 4.2.3, the build
  cmake             # the CMake build integrators use
  pkg-config        # liburing's and mmapio's .pc files
  g++               # the compiler and its sanitizer runtimes
  libabsl-dev       # Abseil: Status, strings, flags
  libgtest-dev      # GoogleTest
  libgmock-dev      # GoogleMock
  libbenchmark-dev  # Google Benchmark
  liburing-dev      # io_uring
  libfuse3-dev      # FUSE filesystems that inject I/O errors in tests
  librocksdb-dev    # RocksDB, for the mmapio FileSystem plugin
  rocksdb-tools     # db_bench, which drives the plugin
  fuse3
  util-linux        # fincore, to compare against
  fio               # the device ceiling in benchmarks
  vmtouch           # to compare against
  clang-14          # the thread-safety analysis build and the fuzzers
  libclang-rt-14-dev  # libFuzzer and clang's sanitizer runtimes
  tmux              # a real terminal for the CLI's terminal tests
  groff-base        # renders the man page in its test
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "${package}" 2>/dev/null |
      grep -q "install ok installed"; then
    missing+=("${package}")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  sudo=(sudo)
fi
echo "install_deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
