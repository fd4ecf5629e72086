// The workloads of //bench:cold_bench (bench/cold_bench.cc runs them), each
// defined in its own file, and the flags they share.

#ifndef MMAPIO_BENCH_COLD_BENCH_H_
#define MMAPIO_BENCH_COLD_BENCH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_support.h"
#include "bench/cold_harness.h"
#include "mmapio/async_engine.h"
#include "mmapio/prefetch.h"
#include "tools/format.h"

namespace mmapio::bench {

struct ColdConfig {
  std::string dir = "/var/tmp";
  int rounds = 5;
  uint64_t seed = 42;

  // random_depth and executor read distinct pages of one stamped file.
  uint64_t random_file_bytes = uint64_t{2} << 30;
  uint64_t random_pages = 40000;  // Per run of a random_depth variant.
  std::vector<int> depths = {1, 4, 16, 64, 256, 512};

  int tasks = 128;
  uint64_t task_pages = 300;  // Per task per run.
  int64_t tick_us = 50;
  double idle_seconds = 1;

  uint64_t seq_file_bytes = uint64_t{4} << 30;
  double seq_max_seconds = 20;

  uint64_t hazard_file_bytes = uint64_t{256} << 20;
  int hazard_files = 8;
  uint64_t hazard_chunk_bytes = uint64_t{8} << 20;
  // The chunk sizes mmapio_async is run at.
  std::vector<uint64_t> hazard_chunk_sweep = {
      uint64_t{2} << 20, uint64_t{8} << 20, uint64_t{32} << 20};
  int hazard_lookahead = 4;
};

// The stamped file random_depth and executor share.
struct RandomFile {
  std::string path;
  uint64_t bytes = 0;
};

Workload RandomDepthWorkload(const ColdConfig& config, const RandomFile& file);
Workload ExecutorWorkload(const ColdConfig& config, const RandomFile& file);
Workload SequentialWorkload(const ColdConfig& config, const std::string& path);
Workload HazardWorkload(const ColdConfig& config,
                        const std::vector<std::string>& paths);

// The backends a variant may force, by name: every one the enum knows. An
// engine that refuses one (AsyncEngine refuses madvise, a sandbox may refuse
// io_uring) makes that variant skipped, with the reason.
inline constexpr PrefetchBackend kForcedBackends[] = {
    PrefetchBackend::kIoUring, PrefetchBackend::kWorkers,
    PrefetchBackend::kMadvise};

// An engine made with `options`, or why it could not be.
template <typename Engine>
struct MaybeEngine {
  std::unique_ptr<Engine> engine;
  std::string failure;
};

template <typename Engine>
MaybeEngine<Engine> TryCreate(PrefetchOptions options) {
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(options);
  if (!engine.ok()) return {nullptr, engine.status().ToString()};
  return {*std::move(engine), ""};
}

// Dies when the default engine cannot be made: nothing to measure then.
template <typename Engine>
std::unique_ptr<Engine> CreateOrDie(PrefetchOptions options = {}) {
  MaybeEngine<Engine> made = TryCreate<Engine>(options);
  if (made.engine == nullptr) Die(made.failure);
  return std::move(made.engine);
}

// The AsyncEngines of a workload: AsyncEngine::Create() as a user would
// make it, and one per forced backend (or why it could not be made).
struct AsyncEngines {
  std::unique_ptr<AsyncEngine> default_engine;
  std::vector<std::pair<PrefetchBackend, MaybeEngine<AsyncEngine>>> forced;

  static AsyncEngines Create() {
    AsyncEngines engines;
    engines.default_engine = CreateOrDie<AsyncEngine>();
    for (PrefetchBackend backend : kForcedBackends) {
      PrefetchOptions options;
      options.backend = backend;
      engines.forced.emplace_back(backend, TryCreate<AsyncEngine>(options));
    }
    return engines;
  }

  // The backend the default engine chose.
  std::string default_backend() const {
    return std::string(
        PrefetchBackendName(default_engine->prefetch_engine().backend()));
  }

  // The counters of each engine, as JSON strings, for Workload::engines.
  std::vector<std::pair<std::string, std::string>> Stats() const {
    std::vector<std::pair<std::string, std::string>> stats = {
        {"async_default",
         cli::JsonString(
             default_engine->prefetch_engine().stats().ToString())}};
    for (const auto& [backend, made] : forced) {
      if (made.engine == nullptr) continue;
      stats.emplace_back(
          absl::StrCat("async_", PrefetchBackendName(backend)),
          cli::JsonString(made.engine->prefetch_engine().stats().ToString()));
    }
    return stats;
  }
};

// The hazard files' contents: byte i * 512 of hazard file `file` is
// HazardByte(file, i); the others are CreateDataFile's filler.
uint8_t HazardByte(uint64_t file, uint64_t index);
void FillHazardFile(uint64_t file, uint64_t offset, uint8_t* block,
                    uint64_t length);

}  // namespace mmapio::bench

#endif  // MMAPIO_BENCH_COLD_BENCH_H_
