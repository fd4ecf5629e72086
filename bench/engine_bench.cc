// What a prefetch request costs when its pages are already resident: the
// price every consumer pays for asking before it reads. Baseline: one
// mincore call over the same pages, in the same process.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_files.h"
#include "benchmark/benchmark.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"

namespace mmapio {
namespace {

constexpr size_t kFileSize = 16 << 20;

const Region& BenchRegion() {
  return bench::ResidentRegion("mmapio_engine_bench.dat", kFileSize);
}

void BM_MincoreResident(benchmark::State& state) {
  const Region& region = BenchRegion();
  const size_t bytes = static_cast<size_t>(state.range(0));
  std::vector<unsigned char> pages(bytes / 4096);
  size_t offset = 0;
  for (auto _ : state) {
    mincore(const_cast<std::byte*>(region.bytes().data()) + offset, bytes,
            pages.data());
    benchmark::DoNotOptimize(pages.data());
    offset = (offset + bytes) % (kFileSize - bytes);
  }
}
BENCHMARK(BM_MincoreResident)->Arg(4096)->Arg(64 << 10)->Arg(2 << 20);

void BM_PrefetchResident(benchmark::State& state) {
  const Region& region = BenchRegion();
  std::unique_ptr<PrefetchEngine> engine =
      *PrefetchEngine::Create({.backend = PrefetchBackend::kIoUring});
  const uint64_t bytes = static_cast<uint64_t>(state.range(0));
  uint64_t offset = 0;
  int completed = 0;
  for (auto _ : state) {
    engine->Prefetch(region, {offset, bytes},
                     [&completed](absl::Status) { ++completed; });
    offset = (offset + bytes) % (kFileSize - bytes);
  }
  benchmark::DoNotOptimize(completed);
}
BENCHMARK(BM_PrefetchResident)->Arg(4096)->Arg(64 << 10)->Arg(2 << 20);

}  // namespace
}  // namespace mmapio
