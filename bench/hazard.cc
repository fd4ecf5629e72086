// hazard: the classic hazard of mmap on an executor. The sum of every 512th
// byte of several cold files: by tasks on one EventLoop thread (touching
// their mappings, or awaiting AsyncEngine residency chunk by chunk), by a
// thread per file, and by read() on one thread. Every variant must find the
// same sum.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "bench/bench_support.h"
#include "bench/cold_bench.h"
#include "bench/cold_harness.h"
#include "mmapio/async_engine.h"
#include "mmapio/detached_task.h"
#include "mmapio/event_loop.h"
#include "mmapio/region.h"
#include "mmapio/resident_view.h"
#include "tools/format.h"

namespace mmapio::bench {
namespace {

constexpr uint64_t kStride = 512;
constexpr uint64_t kReadBlock = uint64_t{1} << 20;

struct HazardState {
  std::vector<std::string> paths;
  uint64_t file_size = 0;
  uint64_t chunk = 0;  // Of the variants outside the chunk sweep.
  int lookahead = 0;
  uint64_t expected = 0;
  AsyncEngines async;

  double bytes() const {
    return static_cast<double>(file_size) * static_cast<double>(paths.size());
  }
};

// "8MiB", "512KiB".
std::string ChunkLabel(uint64_t bytes) {
  return bytes % (uint64_t{1} << 20) == 0 ? absl::StrCat(bytes >> 20, "MiB")
                                          : absl::StrCat(bytes >> 10, "KiB");
}

uint64_t SumStrided(const uint8_t* p, uint64_t bytes) {
  uint64_t sum = 0;
  for (uint64_t at = 0; at < bytes; at += kStride) sum += p[at];
  return sum;
}

// What one executor-thread variant shares among its tasks.
struct HazardRun {
  EventLoop* loop;
  int running = 0;
  uint64_t sum = 0;

  void TaskDone(uint64_t task_sum) {
    sum += task_sum;
    if (--running == 0) loop->Stop();
  }
};

// One chunk requested from the engine, which the task may await. The
// engine's callback and the task both run on the loop's thread.
struct PendingChunk {
  std::optional<absl::StatusOr<ResidentView>> result;
  std::coroutine_handle<> waiter;

  void Complete(absl::StatusOr<ResidentView> view) {
    result = std::move(view);
    if (waiter) std::exchange(waiter, nullptr).resume();
  }
};

struct ChunkAwaitable {
  PendingChunk* chunk;
  bool await_ready() const { return chunk->result.has_value(); }
  void await_suspend(std::coroutine_handle<> coroutine) {
    chunk->waiter = coroutine;
  }
  void await_resume() const {}
};

// Keeps `lookahead` chunks of its file requested and sums each once it is
// resident.
DetachedTask EngineSumFile(HazardRun& run, AsyncEngine& engine,
                           const Region& region, uint64_t chunk,
                           int lookahead) {
  const uint64_t size = region.size();
  std::deque<std::shared_ptr<PendingChunk>> pending;
  uint64_t issued = 0;
  const auto issue = [&] {
    auto slot = std::make_shared<PendingChunk>();
    pending.push_back(slot);
    const uint64_t length = std::min(chunk, size - issued);
    CallScope call("EnsureResident");
    engine.EnsureResident(region, {issued, length},
                          [slot](absl::StatusOr<ResidentView> view) {
                            UserScope user;
                            slot->Complete(std::move(view));
                          });
    issued += length;
  };
  uint64_t sum = 0;
  while (issued < size || !pending.empty()) {
    while (issued < size && pending.size() < static_cast<size_t>(lookahead)) {
      issue();
    }
    std::shared_ptr<PendingChunk> next = std::move(pending.front());
    pending.pop_front();
    co_await ChunkAwaitable{next.get()};
    if (!next->result->ok()) Die(next->result->status().ToString());
    // Keeps the engine busy while this chunk is summed.
    if (issued < size) issue();
    const absl::Span<const std::byte> bytes = (*next->result)->bytes();
    sum += SumStrided(reinterpret_cast<const uint8_t*>(bytes.data()),
                      bytes.size());
  }
  run.TaskDone(sum);
}

// Touches its mapping chunk by chunk, yielding between chunks: each cold
// page is a blocking fault that holds the whole loop.
DetachedTask MmapSumFile(HazardRun& run, const uint8_t* base, uint64_t size,
                         uint64_t chunk) {
  uint64_t sum = 0;
  for (uint64_t offset = 0; offset < size; offset += chunk) {
    sum += SumStrided(base + offset, std::min(chunk, size - offset));
    co_await run.loop->Yield();
  }
  run.TaskDone(sum);
}

// Times `sum`, which does all of a variant's work on this thread, and takes
// its result as the checksum; adds the thread's CPU share and major faults.
RunResult MeasureOnThisThread(const HazardState& s,
                              const std::function<uint64_t()>& sum) {
  RunResult m;
  m.work = s.bytes();
  m.expected_checksum = s.expected;
  const int64_t majflt = ThreadMajorFaults();
  const double cpu_start = ThreadCpuSeconds();
  const double start = Now();
  m.checksum = sum();
  m.seconds = Now() - start;
  m.metrics.emplace_back("executor_cpu_share",
                         (ThreadCpuSeconds() - cpu_start) / m.seconds);
  m.metrics.emplace_back("majflt",
                         static_cast<double>(ThreadMajorFaults() - majflt));
  return m;
}

// A task per file on one EventLoop thread: with `engine`, each awaits the
// residency of its chunks of `chunk` bytes; without, each touches its
// mapping and yields every `chunk` bytes.
RunResult HazardExecutor(const HazardState& s, AsyncEngine* engine,
                         uint64_t chunk) {
  std::vector<Region> regions;
  std::vector<std::unique_ptr<Mapping>> maps;
  for (const std::string& path : s.paths) {
    if (engine != nullptr) {
      regions.push_back(OpenRegion(path));
    } else {
      maps.push_back(std::make_unique<Mapping>(path, s.file_size));
    }
  }
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) Die(loop.status().ToString());
  CallTimes times(4 * static_cast<size_t>(s.bytes() / chunk) + 4096);
  ThreadCallTimes on_this_thread(times);
  if (engine != nullptr) {
    // As EventLoop::Attach(*engine) does, with each Poll timed.
    absl::Status watched = (*loop)->Watch(engine->fd(), [engine] {
      CallScope call("Poll");
      engine->Poll(8);
    });
    if (!watched.ok()) Die(watched.ToString());
  }
  RunResult m = MeasureOnThisThread(s, [&] {
    const int tasks = static_cast<int>(s.paths.size());
    HazardRun run{loop->get()};
    run.running = tasks;
    (*loop)->Post([&] {
      for (int t = 0; t < tasks; ++t) {
        if (engine != nullptr) {
          EngineSumFile(run, *engine, regions[t], chunk, s.lookahead);
        } else {
          MmapSumFile(run, maps[t]->data(), s.file_size, chunk);
        }
      }
    });
    if (absl::Status st = (*loop)->Run(); !st.ok()) Die(st.ToString());
    return run.sum;
  });
  times.AddMetrics(m.metrics);
  return m;
}

RunResult HazardRead(const HazardState& s) {
  AlignedBuffer buffer = AllocateAligned(kReadBlock);
  return MeasureOnThisThread(s, [&s, &buffer] {
    uint64_t sum = 0;
    for (const std::string& path : s.paths) {
      ScopedFd fd(path, O_RDONLY | O_CLOEXEC);
      // Fills the buffer whole before summing, so that sums stay aligned to
      // the stride whatever lengths read() returns.
      for (uint64_t offset = 0; offset < s.file_size;) {
        const uint64_t want = std::min(kReadBlock, s.file_size - offset);
        uint64_t got = 0;
        while (got < want) {
          const ssize_t n = read(fd.get(), buffer.get() + got, want - got);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) DieErrno(absl::StrCat("read ", path));
          got += static_cast<uint64_t>(n);
        }
        sum += SumStrided(buffer.get(), got);
        offset += got;
      }
    }
    return sum;
  });
}

RunResult HazardMmapThreads(const HazardState& s) {
  RunResult m;
  m.work = s.bytes();
  m.expected_checksum = s.expected;
  const double start = Now();
  std::vector<uint64_t> sums(s.paths.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < s.paths.size(); ++i) {
    threads.emplace_back([&s, &sums, i] {
      Mapping map(s.paths[i], s.file_size);
      sums[i] = SumStrided(map.data(), s.file_size);
    });
  }
  for (std::thread& thread : threads) thread.join();
  uint64_t sum = 0;
  for (uint64_t file_sum : sums) sum += file_sum;
  m.checksum = sum;
  m.seconds = Now() - start;
  return m;
}

}  // namespace

uint8_t HazardByte(uint64_t file, uint64_t index) {
  uint64_t x =
      (file + 1) * 0x9E3779B97F4A7C15ull + index * 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return static_cast<uint8_t>(x >> 56);
}

void FillHazardFile(uint64_t file, uint64_t offset, uint8_t* block,
                    uint64_t length) {
  for (uint64_t at = 0; at < length; at += kStride) {
    block[at] = HazardByte(file, (offset + at) / kStride);
  }
}

Workload HazardWorkload(const ColdConfig& config,
                        const std::vector<std::string>& paths) {
  auto state = std::make_shared<HazardState>();
  HazardState* s = state.get();
  s->paths = paths;
  s->file_size = config.hazard_file_bytes;
  s->chunk = config.hazard_chunk_bytes;
  s->lookahead = config.hazard_lookahead;
  for (uint64_t f = 0; f < paths.size(); ++f) {
    for (uint64_t i = 0; i < s->file_size / kStride; ++i) {
      s->expected += HazardByte(f, i);
    }
  }
  s->async = AsyncEngines::Create();
  const std::string default_backend = s->async.default_backend();
  const std::string n = absl::StrCat(paths.size());

  Workload w;
  w.name = "hazard";
  w.unit = "GB/s";
  w.unit_scale = 1e9;
  w.state = state;
  w.files = paths;
  w.description = absl::StrFormat(
      "The sum of every 512th byte of %d cold files of %d MiB: tasks on one "
      "EventLoop thread, a thread per file, or read() on one thread. Every "
      "variant must find the same sum. GB/s is 10^9 bytes of file per "
      "second of wall time.",
      paths.size(), s->file_size >> 20);
  w.metric_notes = {
      {"executor_cpu_share",
       "CPU time of the one thread that does the work, over wall time"},
      {"majflt", "major faults that thread took"},
  };
  for (auto& note : CallMetricNotes(
           "time inside each mmapio call of the executor thread "
           "(EnsureResident, "
           "Poll), without the callbacks and coroutines they run")) {
    w.metric_notes.push_back(std::move(note));
  }
  w.config = {
      {"files", absl::StrCat(paths.size())},
      {"file_bytes", absl::StrCat(s->file_size)},
      {"chunk_bytes", absl::StrCat(s->chunk)},
      {"chunk_sweep_bytes",
       absl::StrCat("[", absl::StrJoin(config.hazard_chunk_sweep, ", "), "]")},
      {"lookahead", absl::StrCat(s->lookahead)},
      {"async_default_backend", cli::JsonString(default_backend)},
  };
  // The chunk is a parameter of the engine variants: mmapio_async is run at
  // each of --chunks, the others at --chunk.
  const std::string engine_what = absl::StrFormat(
      "a task per file on one EventLoop thread keeps %d chunks of the chunk "
      "size requested with EnsureResident, and sums each once resident",
      s->lookahead);
  for (uint64_t chunk : config.hazard_chunk_sweep) {
    w.variants.push_back({"mmapio_async",
                          "mmapio",
                          absl::StrCat("AsyncEngine::Create() (",
                                       default_backend, "): ", engine_what),
                          [s, chunk] {
                            return HazardExecutor(
                                *s, s->async.default_engine.get(), chunk);
                          },
                          "",
                          {{"chunk", cli::JsonString(ChunkLabel(chunk))}}});
  }
  for (auto& [backend, made] : s->async.forced) {
    const std::string name(PrefetchBackendName(backend));
    AsyncEngine* engine = made.engine.get();
    const uint64_t chunk = s->chunk;
    w.variants.push_back(
        {absl::StrCat("mmapio_async_", name),
         "mmapio",
         absl::StrCat("mmapio_async with the ", name,
                      " backend forced, at --chunk"),
         [s, engine, chunk] { return HazardExecutor(*s, engine, chunk); },
         made.failure,
         {{"chunk", cli::JsonString(ChunkLabel(chunk))}}});
  }
  w.variants.push_back(
      {"mmap_naive", "baseline",
       absl::StrCat("a task per file on one EventLoop thread touches its "
                    "mapping, yields every ",
                    ChunkLabel(s->chunk)),
       [s] { return HazardExecutor(*s, nullptr, s->chunk); }, ""});
  w.variants.push_back({"read_1MiB", "reference",
                        "read() of 1 MiB blocks on one thread, file after "
                        "file",
                        [s] { return HazardRead(*s); }, ""});
  w.variants.push_back(
      {absl::StrCat("mmap_", n, "_threads"), "baseline",
       absl::StrCat(n, " threads, each mmaps one file and sums it"),
       [s] { return HazardMmapThreads(*s); }, ""});
  w.engines = [s] { return s->async.Stats(); };
  return w;
}

}  // namespace mmapio::bench
