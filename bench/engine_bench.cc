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

#include "benchmark/benchmark.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"

namespace mmapio {
namespace {

constexpr size_t kFileSize = 16 << 20;

const Region& ResidentRegion() {
  static const Region* region = [] {
    const char* dir = getenv("TEST_TMPDIR");
    const std::string path =
        std::string(dir != nullptr ? dir : "/tmp") + "/mmapio_engine_bench.dat";
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    std::vector<char> chunk(1 << 20, 'e');
    for (size_t done = 0; done < kFileSize; done += chunk.size()) {
      if (write(fd, chunk.data(), chunk.size()) < 0) abort();
    }
    close(fd);
    auto* opened = new Region(*Region::Open(path));
    if (!opened->Populate().ok()) abort();
    return opened;
  }();
  return *region;
}

void BM_MincoreResident(benchmark::State& state) {
  const Region& region = ResidentRegion();
  const size_t bytes = static_cast<size_t>(state.range(0));
  std::vector<unsigned char> pages(bytes / 4096);
  size_t offset = 0;
  for (auto _ : state) {
    mincore(const_cast<std::byte*>(region.bytes().data()) + offset, bytes, pages.data());
    benchmark::DoNotOptimize(pages.data());
    offset = (offset + bytes) % (kFileSize - bytes);
  }
}
BENCHMARK(BM_MincoreResident)->Arg(4096)->Arg(64 << 10)->Arg(2 << 20);

void BM_PrefetchResident(benchmark::State& state) {
  const Region& region = ResidentRegion();
  std::unique_ptr<PrefetchEngine> engine =
      *PrefetchEngine::Create({.backend = PrefetchBackend::kIoUring});
  const uint64_t bytes = static_cast<uint64_t>(state.range(0));
  uint64_t offset = 0;
  int completed = 0;
  for (auto _ : state) {
    engine->Prefetch(region, {offset, bytes}, [&completed](absl::Status) { ++completed; });
    offset = (offset + bytes) % (kFileSize - bytes);
  }
  benchmark::DoNotOptimize(completed);
}
BENCHMARK(BM_PrefetchResident)->Arg(4096)->Arg(64 << 10)->Arg(2 << 20);

}  // namespace
}  // namespace mmapio
