// Files the Google Benchmark programs in bench/ measure against.

#ifndef MMAPIO_BENCH_BENCH_FILES_H_
#define MMAPIO_BENCH_BENCH_FILES_H_

#include <cstddef>
#include <string>

#include "mmapio/region.h"

namespace mmapio::bench {

// The path of a file of `size` bytes named `name` in TEST_TMPDIR (or /tmp),
// written on first use. Aborts when it cannot be written: a benchmark
// without its file measures nothing.
std::string BenchFile(const std::string& name, size_t size);

// A region over BenchFile(name, size), read in: every page resident. Made
// on the first call for `name`, then the same region; lives until the
// program exits.
const Region& ResidentRegion(const std::string& name, size_t size);

}  // namespace mmapio::bench

#endif  // MMAPIO_BENCH_BENCH_FILES_H_
