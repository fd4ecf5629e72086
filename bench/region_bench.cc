// Micro costs of the region core against the raw system calls it wraps,
// measured in the same process: what the safety and the error messages cost.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_files.h"
#include "benchmark/benchmark.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"

namespace mmapio {
namespace {

constexpr size_t kFileSize = 64 << 20;

// Written once and reused by every benchmark.
const std::string& BenchFile(size_t size) {
  static const std::string path =
      bench::BenchFile("mmapio_region_bench.dat", size);
  return path;
}

void BM_RawOpenMapClose(benchmark::State& state) {
  const std::string& path = BenchFile(kFileSize);
  for (auto _ : state) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    void* base = mmap(nullptr, kFileSize, PROT_READ, MAP_SHARED, fd, 0);
    benchmark::DoNotOptimize(base);
    munmap(base, kFileSize);
    close(fd);
  }
}
BENCHMARK(BM_RawOpenMapClose);

void BM_RegionOpenClose(benchmark::State& state) {
  const std::string& path = BenchFile(kFileSize);
  for (auto _ : state) {
    absl::StatusOr<Region> region = Region::Open(path);
    benchmark::DoNotOptimize(region->bytes().data());
  }
}
BENCHMARK(BM_RegionOpenClose);

void BM_RawMincore(benchmark::State& state) {
  const std::string& path = BenchFile(kFileSize);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  void* base = mmap(nullptr, kFileSize, PROT_READ, MAP_SHARED, fd, 0);
  std::vector<unsigned char> pages(kFileSize / 4096);
  for (auto _ : state) {
    mincore(base, kFileSize, pages.data());
    uint64_t resident = 0;
    for (unsigned char page : pages) resident += page & 1;
    benchmark::DoNotOptimize(resident);
  }
  munmap(base, kFileSize);
  close(fd);
}
BENCHMARK(BM_RawMincore);

void BM_SummarizeResidency(benchmark::State& state) {
  absl::StatusOr<Region> region = Region::Open(BenchFile(kFileSize));
  for (auto _ : state) {
    benchmark::DoNotOptimize(SummarizeResidency(*region));
  }
}
BENCHMARK(BM_SummarizeResidency);

void BM_ResidencyMapCapture(benchmark::State& state) {
  absl::StatusOr<Region> region = Region::Open(BenchFile(kFileSize));
  for (auto _ : state) {
    benchmark::DoNotOptimize(ResidencyMap::Capture(*region));
  }
}
BENCHMARK(BM_ResidencyMapCapture);

}  // namespace
}  // namespace mmapio
