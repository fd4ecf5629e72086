// What guarding costs on the path that does not fault: guarded loads and
// copies of resident data against plain ones, in the same process.

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_files.h"
#include "benchmark/benchmark.h"
#include "mmapio/guarded.h"
#include "mmapio/region.h"

namespace mmapio {
namespace {

constexpr size_t kFileSize = 16 << 20;

const Region& BenchRegion() {
  return bench::ResidentRegion("mmapio_guard_bench.dat", kFileSize);
}

// Offsets spread over the file, the same sequence for both sides.
std::vector<uint64_t> Offsets(size_t alignment) {
  std::vector<uint64_t> offsets(4096);
  uint64_t x = 12345;
  for (uint64_t& offset : offsets) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    offset = (x >> 20) % (kFileSize - 4096) / alignment * alignment;
  }
  return offsets;
}

void BM_Load8Plain(benchmark::State& state) {
  const std::byte* base = BenchRegion().bytes().data();
  const std::vector<uint64_t> offsets = Offsets(8);
  size_t i = 0;
  for (auto _ : state) {
    uint64_t value;
    std::memcpy(&value, base + offsets[i++ & 4095], 8);
    benchmark::DoNotOptimize(value);
  }
}
BENCHMARK(BM_Load8Plain);

void BM_Load8Guarded(benchmark::State& state) {
  const Region& region = BenchRegion();
  const std::vector<uint64_t> offsets = Offsets(8);
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<uint64_t> value =
        GuardedLoad<uint64_t>(region, offsets[i++ & 4095]);
    benchmark::DoNotOptimize(*value);
  }
}
BENCHMARK(BM_Load8Guarded);

void BM_Copy4KPlain(benchmark::State& state) {
  const std::byte* base = BenchRegion().bytes().data();
  const std::vector<uint64_t> offsets = Offsets(4096);
  std::vector<std::byte> buffer(4096);
  size_t i = 0;
  for (auto _ : state) {
    std::memcpy(buffer.data(), base + offsets[i++ & 4095], buffer.size());
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 4096);
}
BENCHMARK(BM_Copy4KPlain);

void BM_Copy4KGuarded(benchmark::State& state) {
  const Region& region = BenchRegion();
  const std::vector<uint64_t> offsets = Offsets(4096);
  std::vector<std::byte> buffer(4096);
  size_t i = 0;
  for (auto _ : state) {
    CopyResult copied =
        GuardedCopy(region, offsets[i++ & 4095], absl::MakeSpan(buffer));
    benchmark::DoNotOptimize(copied.bytes_copied);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 4096);
}
BENCHMARK(BM_Copy4KGuarded);

void BM_Visit4KGuarded(benchmark::State& state) {
  const Region& region = BenchRegion();
  const std::vector<uint64_t> offsets = Offsets(4096);
  std::vector<std::byte> buffer(4096);
  size_t i = 0;
  for (auto _ : state) {
    absl::Status status =
        GuardedVisit(region, {.offset = offsets[i++ & 4095], .length = 4096},
                     [&buffer](absl::Span<const std::byte> bytes) {
                       std::memcpy(buffer.data(), bytes.data(), bytes.size());
                     });
    benchmark::DoNotOptimize(status.ok());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 4096);
}
BENCHMARK(BM_Visit4KGuarded);

}  // namespace
}  // namespace mmapio
