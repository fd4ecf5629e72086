// Cold-cache benchmark of a single-threaded executor: what a page fault costs
// the tasks that share its thread, and what AsyncEngine gives back.
//
//   bazel run -c opt //bench:executor_bench -- [--dir=/var/tmp]
//       [--file_gib=4] [--seconds=5] [--lookups=0] [--tasks=64] [--depth=16]
//       [--tick_us=100] [--hazard_mib=256] [--hazard_files=8] [--chunk_mib=8]
//       [--lookahead=4] [--rounds=3] [--seed=42] [--workloads=stall,hazard]
//       [--variants=mmap_naive,mmapio_workers,...] [--worker_threads=N]
//       [--io_workers=N]
//
// The program writes its own data files in --dir (a disk filesystem; tmpfs
// and ramfs are refused, since nothing there is ever cold) and removes them
// at exit. Before every measurement the files are made cold (fdatasync, then
// posix_fadvise(POSIX_FADV_DONTNEED), checked with cachestat) and no mapping
// of them is left. The variants of a workload run interleaved (A, B, C, A,
// B, C, ...) for --rounds rounds, so that drift of a shared, noisy machine
// hits all of them alike; the median round is reported.
//
// Workloads:
//   executor_stall  One EventLoop thread runs --tasks coroutines serving
//                   lookups. A lookup reads --depth random 4 KiB records of a
//                   --file_gib GiB file one after another, as a B-tree
//                   descent would: which record comes next depends on the
//                   bytes of the one before. A ticker coroutine on the same
//                   loop asks to wake every --tick_us and records how late it
//                   woke. Ticks keep their schedule: after a stall, the ticks
//                   it swallowed are each recorded, with the lateness each
//                   suffered, rather than one sample per stall (which would
//                   hide how long the executor was gone). Each variant runs
//                   --seconds (or until --lookups lookups have begun);
//                   records/s and the ticker's lateness percentiles. The
//                   variant ticker_alone runs the ticker with no lookups:
//                   the lateness this machine adds to an idle loop.
//   classic_hazard  Sum of every 512th byte of --hazard_files cold files of
//                   --hazard_mib MiB: tasks on one executor thread, one
//                   thread per file, and read(); GB/s (10^9 bytes of file per
//                   second). Every variant must compute the same sum.
//
// Every mapping of the random-read workload is advised MADV_RANDOM and its
// pread descriptor POSIX_FADV_RANDOM, so that no variant reads around a
// record (read-around would read megabytes per record here and fill the page
// cache with records other lookups then find resident).
//
// Output: a human table on stderr, and one JSON document on stdout, one
// result per line:
//   {"benchmark": "executor_bench",
//    "config": {...},
//    "results": [{"workload", "variant", "kind", "description", "value",
//                 "unit", "baseline", "samples": [...], "seconds": [...],
//                 ...}, ...],
//    "targets": [{"workload", "variant", "what", "value", "goal", "met"},
//                ...]}
// "value" is the median of "samples" (one per round, in round order).
// executor_stall results add "lateness_us" {"p50", "p99", "max"} (medians
// over rounds of each round's percentile) with the per-round values in
// "lateness_rounds_us", "ticks" and "lookups" (medians) and
// "executor_cpu_us_per_record": the executor thread's CPU time per record
// read, which for the engine variants is the cost of asking for residency
// and being resumed, and "resident_share_at_end": the share of the file's
// pages cached when the variant ended, which says how often late lookups
// found their records already read by earlier ones. Variants that run on
// one thread report "executor_cpu_share": its CPU time / wall time. "kind" is
// "baseline" (what a program does without mmapio), "reference" (the ticker
// alone, the machine's floor; its records/s is 0) or "mmapio"; a variant that
// could not run has "skipped" (why) and a null "value". "targets" holds the
// project's goals for these workloads and whether this run met them; ratios
// divide medians.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_support.h"
#include "mmapio/async_engine.h"
#include "mmapio/detached_task.h"
#include "mmapio/event_loop.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"
#include "mmapio/resident_view.h"
#include "tools/format.h"

namespace mmapio::bench {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kRecord = 4096;
constexpr uint64_t kStride = 512;
constexpr uint64_t kReadBlock = uint64_t{1} << 20;
constexpr int kMaxHazardFiles = 64;

// executor_stall's file and the hazard files.
static_assert(kMaxHazardFiles + 1 <= kMaxDataFiles);

struct Config {
  std::string dir = "/var/tmp";
  uint64_t file_gib = 4;
  double seconds = 5;
  uint64_t lookups = 0;  // 0: run for `seconds` instead.
  int tasks = 64;
  int depth = 16;
  int64_t tick_us = 100;
  uint64_t hazard_mib = 256;
  int hazard_files = 8;
  uint64_t chunk_mib = 8;
  int lookahead = 4;
  int rounds = 3;
  uint64_t seed = 42;
  // PrefetchOptions of the engines; 0 keeps the library's default.
  int worker_threads = 0;
  int io_workers = 0;
  bool stall = true;
  bool hazard = true;
  std::vector<std::string> variants;  // Empty: all of them.
};

constexpr char kUsage[] =
    "usage: executor_bench [--dir=DIR] [--file_gib=N] [--seconds=S]\n"
    "                      [--lookups=N] [--tasks=N] [--depth=N] "
    "[--tick_us=N]\n"
    "                      [--hazard_mib=N] [--hazard_files=N] "
    "[--chunk_mib=N]\n"
    "                      [--lookahead=N] [--rounds=N] [--seed=N]\n"
    "                      [--workloads=stall,hazard] [--variants=A,B]\n"
    "\n"
    "  --dir           where the data files go (default /var/tmp; not tmpfs)\n"
    "  --file_gib      size of executor_stall's file in GiB (default 4)\n"
    "  --seconds       how long each executor_stall variant runs (default 5)\n"
    "  --lookups       run each variant for this many lookups instead\n"
    "  --tasks         lookup coroutines on the executor (default 64)\n"
    "  --depth         records per lookup (default 16)\n"
    "  --tick_us       ticker period in microseconds (default 100)\n"
    "  --hazard_mib    size of each classic_hazard file in MiB (default 256)\n"
    "  --hazard_files  number of classic_hazard files (default 8)\n"
    "  --chunk_mib     classic_hazard chunk: the unit of requests and yields "
    "(default 8)\n"
    "  --lookahead     chunks the engine variants keep in flight per file "
    "(default 4)\n"
    "  --rounds        interleaved rounds; the median is reported (default "
    "3)\n"
    "  --seed          seed of the lookups' random records (default 42)\n"
    "  --workloads     which workloads to run (default both)\n"
    "  --variants      run only the variants named (default all)\n"
    "  --worker_threads, --io_workers\n"
    "                  PrefetchOptions threads and io_workers of the engines\n"
    "                  (default: the library's)\n";

Config ParseFlags(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const auto [name, value] = ParseFlag(argv[i], kUsage);
    uint64_t number = 0;
    const bool is_number = absl::SimpleAtoi(value, &number);
    double real = 0;
    const bool is_real = absl::SimpleAtod(value, &real);
    if (name == "dir") {
      config.dir = std::string(value);
    } else if (name == "file_gib" && is_number && number > 0) {
      config.file_gib = number;
    } else if (name == "seconds" && is_real && real > 0 && real < 3600) {
      config.seconds = real;
    } else if (name == "lookups" && is_number) {
      config.lookups = number;
    } else if (name == "tasks" && is_number && number > 0 && number <= 4096) {
      config.tasks = static_cast<int>(number);
    } else if (name == "depth" && is_number && number > 0 && number <= 1024) {
      config.depth = static_cast<int>(number);
    } else if (name == "tick_us" && is_number && number > 0 &&
               number <= 1000000) {
      config.tick_us = static_cast<int64_t>(number);
    } else if (name == "hazard_mib" && is_number && number > 0) {
      config.hazard_mib = number;
    } else if (name == "hazard_files" && is_number && number > 0 &&
               number <= kMaxHazardFiles) {
      config.hazard_files = static_cast<int>(number);
    } else if (name == "chunk_mib" && is_number && number > 0 &&
               number <= 1024) {
      config.chunk_mib = number;
    } else if (name == "lookahead" && is_number && number > 0 &&
               number <= 1024) {
      config.lookahead = static_cast<int>(number);
    } else if (name == "rounds" && is_number && number > 0 && number < 1000) {
      config.rounds = static_cast<int>(number);
    } else if (name == "seed" && is_number) {
      config.seed = number;
    } else if (name == "worker_threads" && is_number && number > 0 &&
               number <= 1024) {
      config.worker_threads = static_cast<int>(number);
    } else if (name == "io_workers" && is_number && number > 0 &&
               number <= 1024) {
      config.io_workers = static_cast<int>(number);
    } else if (name == "variants") {
      config.variants = absl::StrSplit(value, ',', absl::SkipEmpty());
    } else if (name == "workloads") {
      ParseWorkloads(value,
                     {{"stall", &config.stall}, {"hazard", &config.hazard}},
                     kUsage);
    } else {
      UsageError(absl::StrCat("bad flag or value: ", argv[i]), kUsage);
    }
  }
  return config;
}

// Where the data file `name` goes.
std::string DataPath(const std::string& dir, absl::string_view name) {
  return absl::StrCat(dir, "/mmapio-executor-bench.", getpid(), ".", name);
}

using Engines = bench::Engines<AsyncEngine>;

constexpr PrefetchBackend kBackends[] = {PrefetchBackend::kWorkers,
                                         PrefetchBackend::kIoUring};

// A loop for one measurement. `engine`, unless null, completes on it.
std::unique_ptr<EventLoop> CreateLoop(AsyncEngine* engine) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) Die(loop.status().ToString());
  if (engine != nullptr) {
    if (absl::Status s = (*loop)->Attach(*engine); !s.ok()) Die(s.ToString());
  }
  return *std::move(loop);
}

// One run of one variant.
struct Measurement {
  double seconds = 0;
  // Records read (executor_stall) or file bytes (classic_hazard).
  double work = 0;
  uint64_t checksum = 0;
  // executor_stall only.
  std::vector<double> lateness_us;
  uint64_t lookups = 0;
  double executor_cpu_seconds = 0;
};

using Variant = bench::Variant<Measurement>;

struct Workload {
  std::string name;
  std::string description;
  std::string unit;
  double unit_scale = 1;
  std::string baseline;
  std::vector<std::string> files;  // Made cold before every measurement.
  std::optional<uint64_t> expected_checksum;
  // Whether the variants report a ticker's lateness (executor_stall).
  bool ticker = false;
  std::vector<Variant> variants;
};

struct Result {
  const Workload* workload = nullptr;
  const Variant* variant = nullptr;
  std::vector<double> samples;
  std::vector<double> seconds;
  std::vector<double> p50_us;
  std::vector<double> p99_us;
  std::vector<double> max_us;
  std::vector<double> ticks;
  std::vector<double> lookups;
  std::vector<double> cpu_us_per_record;
  std::vector<double> resident_at_end;
  std::vector<double> executor_cpu_share;

  double value() const { return Median(samples); }
  bool stall() const { return !p99_us.empty(); }
};

// ---------------------------------------------------------------------------
// executor_stall

// Bytes 0-7 of record r hold RecordStamp(r) and its last 8 bytes the
// complement, so a lookup that read the wrong bytes notices.
uint64_t RecordStamp(uint64_t record) {
  uint64_t x = (record + 1) * 0x9E3779B97F4A7C15ull;
  return x ^ (x >> 31);
}

void FillRecords(uint64_t offset, uint8_t* block, uint64_t length) {
  for (uint64_t at = 0; at < length; at += kRecord) {
    const uint64_t head = RecordStamp((offset + at) / kRecord);
    const uint64_t tail = ~head;
    std::memcpy(block + at, &head, sizeof(head));
    std::memcpy(block + at + kRecord - sizeof(tail), &tail, sizeof(tail));
  }
}

// Reads and checks the head and tail of `record`, found at `bytes`; returns
// the head, on which the choice of the next record depends.
uint64_t ReadRecord(const void* bytes, uint64_t record) {
  const uint8_t* p = static_cast<const uint8_t*>(bytes);
  uint64_t head;
  uint64_t tail;
  std::memcpy(&head, p, sizeof(head));
  std::memcpy(&tail, p + kRecord - sizeof(tail), sizeof(tail));
  if (head != RecordStamp(record) || tail != ~head) {
    Die(absl::StrFormat("record %d holds %x/%x, expected %x", record, head,
                        tail, RecordStamp(record)));
  }
  return head;
}

struct StallSetup {
  std::string path;
  uint64_t size;
  uint64_t records;
  double seconds;
  uint64_t lookups;  // 0: until `seconds` have passed.
  int tasks;
  int depth;
  absl::Duration tick;
  uint64_t seed;
};

// The shared state of one run, touched only on the loop's thread.
class StallRun {
 public:
  StallRun(const StallSetup& setup, EventLoop& loop)
      : setup_(setup), loop_(loop) {}

  const StallSetup& setup() const { return setup_; }
  EventLoop& loop() { return loop_; }
  bool stopping() const { return stopping_; }

  // Starts the ticker and the lookup tasks, each by `start(run, seed)`, and
  // ends the run after the configured time.
  template <typename Start>
  void Begin(Start start) {
    start_ = Now();
    cpu_start_ = ThreadCpuSeconds();
    // Without tasks nothing counts lookups down: only the clock can end it.
    if (setup_.lookups == 0 || setup_.tasks == 0) {
      loop_.RunAt(absl::Now() + absl::Seconds(setup_.seconds),
                  [this] { Finish(); });
    }
    ticker_running_ = true;
    Ticker();
    for (int t = 0; t < setup_.tasks; ++t) {
      ++tasks_running_;
      start(*this, setup_.seed + static_cast<uint64_t>(t));
    }
  }

  // Whether a task may begin another lookup.
  bool BeginLookup() {
    if (stopping_) return false;
    if (setup_.lookups != 0) {
      if (lookups_begun_ == setup_.lookups) return false;
      ++lookups_begun_;
    }
    return true;
  }
  void RecordRead(uint64_t head) {
    ++records_;
    checksum_ += head;
  }
  void LookupDone() { ++lookups_; }
  void TaskDone() {
    if (--tasks_running_ == 0) Finish();
    MaybeStop();
  }

  Measurement Result() const {
    Measurement m;
    m.seconds = end_ - start_;
    m.work = static_cast<double>(records_at_end_);
    m.checksum = checksum_;
    m.lateness_us = lateness_us_;
    m.lookups = lookups_at_end_;
    m.executor_cpu_seconds = cpu_end_ - cpu_start_;
    return m;
  }

 private:
  // Wakes every tick on a fixed schedule; see the header comment.
  DetachedTask Ticker() {
    absl::Time next = absl::Now() + setup_.tick;
    while (true) {
      co_await loop_.SleepUntil(next);
      if (stopping_) break;
      lateness_us_.push_back(absl::ToDoubleMicroseconds(absl::Now() - next));
      next += setup_.tick;
    }
    ticker_running_ = false;
    MaybeStop();
  }

  // Ends the measured window: what happens after it (tasks finishing the
  // record they are on) is not counted.
  void Finish() {
    if (stopping_) return;
    stopping_ = true;
    end_ = Now();
    cpu_end_ = ThreadCpuSeconds();
    records_at_end_ = records_;
    lookups_at_end_ = lookups_;
  }
  void MaybeStop() {
    if (tasks_running_ == 0 && !ticker_running_) loop_.Stop();
  }

  const StallSetup& setup_;
  EventLoop& loop_;
  bool stopping_ = false;
  bool ticker_running_ = false;
  int tasks_running_ = 0;
  uint64_t lookups_begun_ = 0;
  uint64_t lookups_ = 0;
  uint64_t records_ = 0;
  uint64_t checksum_ = 0;
  uint64_t records_at_end_ = 0;
  uint64_t lookups_at_end_ = 0;
  double start_ = 0;
  double end_ = 0;
  double cpu_start_ = 0;
  double cpu_end_ = 0;
  std::vector<double> lateness_us_;
};

// The record a lookup reads first, and the one after `head`'s record.
uint64_t FirstRecord(std::mt19937_64& rng, uint64_t records) {
  return rng() % records;
}
uint64_t NextRecord(std::mt19937_64& rng, uint64_t head, uint64_t records) {
  return (rng() ^ head) % records;
}

// Where the lookup tasks of a variant read records: through a mapping
// (`base`), by pread of `fd`, or by awaiting `engine`'s residency of
// `region`. Only the ticker, which has no tasks, runs with none of them.
struct RecordSource {
  const uint8_t* base = nullptr;
  int fd = -1;
  AsyncEngine* engine = nullptr;
  const Region* region = nullptr;
};

DetachedTask Lookups(StallRun& run, RecordSource source, uint64_t seed) {
  const StallSetup& setup = run.setup();
  std::mt19937_64 rng(seed);
  AlignedBuffer buffer = source.fd >= 0 ? AllocateAligned(kRecord) : nullptr;
  while (run.BeginLookup()) {
    uint64_t record = FirstRecord(rng, setup.records);
    int step = 0;
    for (; step < setup.depth && !run.stopping(); ++step) {
      uint64_t head;
      if (source.engine != nullptr) {
        absl::StatusOr<ResidentView> view = co_await source.engine->Resident(
            *source.region, {record * kRecord, kRecord});
        if (!view.ok()) Die(view.status().ToString());
        head = ReadRecord(view->bytes().data(), record);
      } else if (source.fd >= 0) {
        if (pread(source.fd, buffer.get(), kRecord,
                  static_cast<off_t>(record * kRecord)) !=
            static_cast<ssize_t>(kRecord)) {
          DieErrno("pread");
        }
        head = ReadRecord(buffer.get(), record);
      } else {
        head = ReadRecord(source.base + record * kRecord, record);
      }
      run.RecordRead(head);
      record = NextRecord(rng, head, setup.records);
      // A blocking read kept the loop to itself; awaiting the engine has
      // let the others run already.
      if (source.engine == nullptr) co_await run.loop().Yield();
    }
    if (step == setup.depth) run.LookupDone();
  }
  run.TaskDone();
}

// Runs one executor_stall measurement.
Measurement RunStall(const StallSetup& setup, const RecordSource& source) {
  std::unique_ptr<EventLoop> loop = CreateLoop(source.engine);
  StallRun run(setup, *loop);
  loop->Post([&run, &source] {
    run.Begin([&source](StallRun& run, uint64_t seed) {
      Lookups(run, source, seed);
    });
  });
  if (absl::Status s = loop->Run(); !s.ok()) Die(s.ToString());
  return run.Result();
}

// The ticker with no lookups beside it: how late this machine wakes an idle
// loop, the floor under every variant's lateness.
Measurement StallTickerAlone(const StallSetup& setup) {
  StallSetup alone = setup;
  alone.tasks = 0;
  return RunStall(alone, {});
}

Measurement StallMmap(const StallSetup& setup) {
  Mapping map(setup.path, setup.size);
  map.Advise(MADV_RANDOM);
  return RunStall(setup, {.base = map.data()});
}

Measurement StallPread(const StallSetup& setup) {
  ScopedFd fd(setup.path, O_RDONLY | O_CLOEXEC);
  if (const int error = posix_fadvise(fd.get(), 0, 0, POSIX_FADV_RANDOM)) {
    Die(absl::StrCat("fadvise: ", std::strerror(error)));
  }
  return RunStall(setup, {.fd = fd.get()});
}

Measurement StallEngine(const StallSetup& setup, AsyncEngine& engine) {
  Region region = OpenRegion(setup.path);
  if (absl::Status s = region.Advise(Advice::kRandom); !s.ok()) {
    Die(s.ToString());
  }
  return RunStall(setup, {.engine = &engine, .region = &region});
}

// ---------------------------------------------------------------------------
// classic_hazard

// Byte `index * kStride` of hazard file `file`; every other byte is 0xa5.
uint8_t HazardByte(uint64_t file, uint64_t index) {
  uint64_t x =
      (file + 1) * 0x9E3779B97F4A7C15ull + index * 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return static_cast<uint8_t>(x >> 56);
}

uint64_t SumStrided(const uint8_t* p, uint64_t bytes) {
  uint64_t sum = 0;
  for (uint64_t at = 0; at < bytes; at += kStride) sum += p[at];
  return sum;
}

struct HazardSetup {
  std::vector<std::string> paths;
  uint64_t file_size;
  uint64_t chunk;
  int lookahead;

  double bytes() const {
    return static_cast<double>(file_size) * static_cast<double>(paths.size());
  }
};

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

DetachedTask EngineSumFile(HazardRun& run, AsyncEngine& engine,
                           const Region& region, uint64_t chunk,
                           int lookahead) {
  const uint64_t size = region.size();
  std::deque<std::shared_ptr<PendingChunk>> pending;
  uint64_t issued = 0;
  const auto issue = [&] {
    auto slot = std::make_shared<PendingChunk>();
    pending.push_back(slot);
    engine.EnsureResident(region, {issued, std::min(chunk, size - issued)},
                          [slot](absl::StatusOr<ResidentView> view) {
                            slot->Complete(std::move(view));
                          });
    issued += std::min(chunk, size - issued);
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

DetachedTask MmapSumFile(HazardRun& run, const uint8_t* base, uint64_t size,
                         uint64_t chunk) {
  uint64_t sum = 0;
  for (uint64_t offset = 0; offset < size; offset += chunk) {
    sum += SumStrided(base + offset, std::min(chunk, size - offset));
    co_await run.loop->Yield();
  }
  run.TaskDone(sum);
}

// Times `sum`, which does all of a variant's work on this thread, and
// takes its result as the checksum.
Measurement MeasureOnThisThread(const HazardSetup& setup,
                                const std::function<uint64_t()>& sum) {
  Measurement m;
  m.work = setup.bytes();
  const double start = Now();
  const double cpu_start = ThreadCpuSeconds();
  m.checksum = sum();
  m.seconds = Now() - start;
  m.executor_cpu_seconds = ThreadCpuSeconds() - cpu_start;
  return m;
}

// A task per file on one EventLoop thread: with `engine`, each awaits the
// residency of its chunks; without, each touches its mapping.
Measurement HazardExecutor(const HazardSetup& setup, AsyncEngine* engine) {
  return MeasureOnThisThread(setup, [&setup, engine] {
    std::vector<Region> regions;
    std::vector<std::unique_ptr<Mapping>> maps;
    for (const std::string& path : setup.paths) {
      if (engine != nullptr) {
        regions.push_back(OpenRegion(path));
      } else {
        maps.push_back(std::make_unique<Mapping>(path, setup.file_size));
      }
    }
    std::unique_ptr<EventLoop> loop = CreateLoop(engine);
    const int tasks = static_cast<int>(setup.paths.size());
    HazardRun run{loop.get()};
    run.running = tasks;
    loop->Post([&] {
      for (int t = 0; t < tasks; ++t) {
        if (engine != nullptr) {
          EngineSumFile(run, *engine, regions[t], setup.chunk, setup.lookahead);
        } else {
          MmapSumFile(run, maps[t]->data(), setup.file_size, setup.chunk);
        }
      }
    });
    if (absl::Status s = loop->Run(); !s.ok()) Die(s.ToString());
    return run.sum;
  });
}

Measurement HazardRead(const HazardSetup& setup) {
  AlignedBuffer buffer = AllocateAligned(kReadBlock);
  return MeasureOnThisThread(setup, [&setup, &buffer] {
    uint64_t sum = 0;
    for (const std::string& path : setup.paths) {
      ScopedFd fd(path, O_RDONLY | O_CLOEXEC);
      // Fills the buffer whole before summing, so that sums stay aligned to
      // the stride whatever lengths read() returns.
      for (uint64_t offset = 0; offset < setup.file_size;) {
        const uint64_t want = std::min(kReadBlock, setup.file_size - offset);
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

Measurement HazardMmapThreads(const HazardSetup& setup) {
  Measurement m;
  m.work = setup.bytes();
  const double start = Now();
  std::vector<uint64_t> sums(setup.paths.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < setup.paths.size(); ++i) {
    threads.emplace_back([&setup, &sums, i] {
      Mapping map(setup.paths[i], setup.file_size);
      sums[i] = SumStrided(map.data(), setup.file_size);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (uint64_t sum : sums) m.checksum += sum;
  m.seconds = Now() - start;
  return m;
}

// ---------------------------------------------------------------------------
// Running and reporting.

std::vector<Result> RunWorkload(const Workload& workload, int rounds) {
  std::vector<Result> results;
  for (const Variant& variant : workload.variants) {
    Result& result = results.emplace_back();
    result.workload = &workload;
    result.variant = &variant;
  }
  RunInterleaved(
      workload.name, workload.variants, rounds, [&](int round, size_t i) {
        Result& result = results[i];
        const Variant& variant = *result.variant;
        for (const std::string& path : workload.files) MakeCold(path);
        const Measurement m = variant.run();
        if (workload.expected_checksum.has_value() &&
            m.checksum != *workload.expected_checksum) {
          Die(absl::StrFormat("%s/%s read wrong data: sum %d, expected %d",
                              workload.name, variant.name, m.checksum,
                              *workload.expected_checksum));
        }
        const double value = m.work / m.seconds / workload.unit_scale;
        result.samples.push_back(value);
        result.seconds.push_back(m.seconds);
        std::string detail;
        if (m.executor_cpu_seconds > 0) {
          result.executor_cpu_share.push_back(m.executor_cpu_seconds /
                                              m.seconds);
        }
        if (workload.ticker) {
          std::vector<double> sorted = m.lateness_us;
          std::sort(sorted.begin(), sorted.end());
          result.p50_us.push_back(Percentile(sorted, 0.50));
          result.p99_us.push_back(Percentile(sorted, 0.99));
          result.max_us.push_back(sorted.empty() ? 0 : sorted.back());
          result.ticks.push_back(static_cast<double>(sorted.size()));
          result.lookups.push_back(static_cast<double>(m.lookups));
          result.cpu_us_per_record.push_back(
              m.work > 0 ? 1e6 * m.executor_cpu_seconds / m.work : 0);
          // Lookups revisit records that earlier ones read, more often the
          // more records a variant reads: this says how warm the file got.
          absl::StatusOr<FileResidency> residency =
              SummarizeFile(workload.files.front());
          if (!residency.ok()) Die(residency.status().ToString());
          result.resident_at_end.push_back(
              static_cast<double>(residency->summary.resident_pages) /
              static_cast<double>(
                  std::max<uint64_t>(1, residency->summary.pages)));
          detail = absl::StrFormat(
              "  ticker p50 %.0f p99 %.0f max %.0f us; %.2f us CPU/record; "
              "%.1f%% resident at end",
              result.p50_us.back(), result.p99_us.back(), result.max_us.back(),
              result.cpu_us_per_record.back(),
              100 * result.resident_at_end.back());
        }
        Log(absl::StrFormat("  round %d %-18s %11.3f %s%s", round + 1,
                            variant.name, value, workload.unit, detail));
      });
  return results;
}

std::string ResultJson(const Result& r) {
  const Workload& w = *r.workload;
  const Variant& v = *r.variant;
  cli::JsonLine line;
  line.Add("workload", w.name)
      .Add("variant", v.name)
      .Add("kind", v.kind)
      .Add("description", v.description)
      .AddRaw("value", v.skipped.empty() ? JsonNumber(r.value()) : "null")
      .Add("unit", w.unit)
      .Add("baseline", w.baseline);
  if (!v.skipped.empty()) return line.Add("skipped", v.skipped).Build();
  line.AddRaw("samples", JsonArray(r.samples))
      .AddRaw("seconds", JsonArray(r.seconds));
  if (!r.executor_cpu_share.empty()) {
    line.AddRaw("executor_cpu_share", JsonNumber(Median(r.executor_cpu_share)));
  }
  if (r.stall()) {
    line.AddRaw("lateness_us",
                absl::StrCat("{\"p50\": ", JsonNumber(Median(r.p50_us)),
                             ", \"p99\": ", JsonNumber(Median(r.p99_us)),
                             ", \"max\": ", JsonNumber(Median(r.max_us)), "}"))
        .AddRaw("lateness_rounds_us",
                absl::StrCat("{\"p50\": ", JsonArray(r.p50_us),
                             ", \"p99\": ", JsonArray(r.p99_us),
                             ", \"max\": ", JsonArray(r.max_us), "}"))
        .AddRaw("ticks", JsonNumber(Median(r.ticks)))
        .AddRaw("lookups", JsonNumber(Median(r.lookups)))
        .AddRaw("executor_cpu_us_per_record",
                JsonNumber(Median(r.cpu_us_per_record)))
        .AddRaw("resident_share_at_end", JsonNumber(Median(r.resident_at_end)));
  }
  return line.Build();
}

struct Target {
  std::string workload;
  std::string variant;
  std::string what;
  double value;
  std::string goal;
  bool met;
};

std::string TargetJson(const Target& t) {
  return cli::JsonLine()
      .Add("workload", t.workload)
      .Add("variant", t.variant)
      .Add("what", t.what)
      .AddRaw("value", JsonNumber(t.value))
      .Add("goal", t.goal)
      .Add("met", t.met)
      .Build();
}

const Result* Find(const std::vector<Result>& results,
                   absl::string_view variant) {
  for (const Result& r : results) {
    if (r.variant->name == variant && r.variant->skipped.empty()) return &r;
  }
  return nullptr;
}

// The project's goals for these workloads, for every engine variant that
// ran.
std::vector<Target> Targets(const std::vector<Result>& results) {
  std::vector<Target> targets;
  for (const Result& r : results) {
    if (r.variant->kind != "mmapio" || !r.variant->skipped.empty()) continue;
    const std::string& w = r.workload->name;
    const std::string& v = r.variant->name;
    if (r.stall()) {
      const double p99 = Median(r.p99_us);
      targets.push_back(
          {w, v, "ticker p99 lateness, us", p99, "<= 200", p99 <= 200});
      if (const Result* naive = Find(results, "mmap_naive")) {
        const double lateness = Median(naive->p99_us) / p99;
        targets.push_back({w, v, "ticker p99 lateness, mmap_naive / this",
                           lateness, ">= 10x", lateness >= 10});
        const double speed = r.value() / naive->value();
        targets.push_back(
            {w, v, "records/s, this / mmap_naive", speed, ">= 5x", speed >= 5});
      }
    } else {
      const std::string& threads_name = r.workload->baseline;
      if (const Result* threads = Find(results, threads_name)) {
        const double ratio = r.value() / threads->value();
        targets.push_back({w, v, absl::StrCat("GB/s, this / ", threads_name),
                           ratio, ">= 1.0x", ratio >= 1.0});
      }
      if (const Result* naive = Find(results, "mmap_naive")) {
        const double ratio = r.value() / naive->value();
        targets.push_back(
            {w, v, "GB/s, this / mmap_naive", ratio, ">= 3x", ratio >= 3});
      }
    }
  }
  return targets;
}

void PrintTable(const std::vector<Result>& results, int rounds) {
  if (results.empty()) return;
  const Workload& w = *results.front().workload;
  const Result* baseline = Find(results, w.baseline);
  std::fprintf(stderr, "\n%s: %s; median of %d rounds\n", w.name.c_str(),
               w.description.c_str(), rounds);
  const bool stall = w.ticker;
  std::fprintf(stderr, "  %-18s %-8s %11s %-9s %11s %11s %8s", "variant",
               "kind", "median", "unit", "min", "max", "ratio");
  if (stall) {
    std::fprintf(stderr, " %9s %9s %9s %9s", "p50 us", "p99 us", "max us",
                 "CPU us/r");
  }
  std::fputc('\n', stderr);
  for (const Result& r : results) {
    const Variant& v = *r.variant;
    if (PrintIfSkipped(v, 18, 8)) continue;
    const auto [min, max] =
        std::minmax_element(r.samples.begin(), r.samples.end());
    const std::string ratio =
        baseline != nullptr
            ? absl::StrFormat("%.2fx", r.value() / baseline->value())
            : "-";
    std::fprintf(stderr, "  %-18s %-8s %11.3f %-9s %11.3f %11.3f %8s",
                 v.name.c_str(), v.kind.c_str(), r.value(), w.unit.c_str(),
                 *min, *max, ratio.c_str());
    if (stall) {
      std::fprintf(stderr, " %9.0f %9.0f %9.0f %9.2f", Median(r.p50_us),
                   Median(r.p99_us), Median(r.max_us),
                   Median(r.cpu_us_per_record));
    }
    std::fputc('\n', stderr);
  }
  std::fprintf(stderr, "  (ratio: median / median of %s)\n",
               w.baseline.c_str());
}

// The variant of the engine of `backend` that does `what`.
Variant MmapioVariant(const Engines& engines, PrefetchBackend backend,
                      const std::string& what,
                      std::function<Measurement(AsyncEngine&)> run) {
  const std::string name(PrefetchBackendName(backend));
  return EngineVariant(engines, backend, absl::StrCat("mmapio_", name),
                       absl::StrCat(what, " (", name, " backend)"),
                       std::move(run));
}

int Main(int argc, char** argv) {
  SetProgramName("executor_bench");
  const Config config = ParseFlags(argc, argv);
  if (sysconf(_SC_PAGESIZE) != static_cast<long>(kPage)) {
    Die("the workloads are defined for 4 KiB pages");
  }
  const uint64_t stall_size = config.stall ? config.file_gib << 30 : 0;
  const uint64_t hazard_size = config.hazard_mib << 20;
  const uint64_t hazard_total =
      config.hazard ? hazard_size * static_cast<uint64_t>(config.hazard_files)
                    : 0;
  const std::string filesystem =
      CheckDir(config.dir, stall_size + hazard_total, "the data files need");
  RemoveDataFilesAtExit();
  PrefetchOptions options;
  if (config.worker_threads != 0) options.threads = config.worker_threads;
  if (config.io_workers != 0) options.io_workers = config.io_workers;
  const Engines engines = CreateEngines<AsyncEngine>(kBackends, options);
  const PrefetchOptions defaults;

  std::vector<Workload> workloads;
  StallSetup stall{"",
                   stall_size,
                   stall_size / kRecord,
                   config.seconds,
                   config.lookups,
                   config.tasks,
                   config.depth,
                   absl::Microseconds(config.tick_us),
                   config.seed};
  if (config.stall) {
    Log(absl::StrFormat("writing %d MiB to %s", stall_size >> 20, config.dir));
    stall.path = CreateDataFile(DataPath(config.dir, "records"), stall_size,
                                FillRecords);
    const std::string limit = config.lookups != 0
                                  ? absl::StrCat(config.lookups, " lookups")
                                  : absl::StrCat(config.seconds, " s");
    Workload w{
        "executor_stall",
        absl::StrFormat(
            "one EventLoop thread, %d tasks doing lookups of %d dependent "
            "random 4 KiB records of a cold %d GiB file, and a ticker every "
            "%d us; %s per variant",
            config.tasks, config.depth, config.file_gib, config.tick_us, limit),
        "records/s",
        1,
        "mmap_naive",
        {stall.path},
        std::nullopt,
        true,
        {}};
    w.variants.push_back(
        {"mmap_naive", "baseline",
         "mmap + MADV_RANDOM: touch the record (a blocking fault), then yield",
         [&stall] { return StallMmap(stall); }, ""});
    w.variants.push_back({"pread", "baseline",
                          "pread of 4 KiB into the task's buffer (blocking), "
                          "then yield",
                          [&stall] { return StallPread(stall); }, ""});
    w.variants.push_back(
        {"ticker_alone", "reference",
         "the ticker with no lookups: the loop's own lateness on this machine",
         [&stall] { return StallTickerAlone(stall); }, ""});
    for (PrefetchBackend backend : kBackends) {
      w.variants.push_back(MmapioVariant(
          engines, backend,
          "co_await AsyncEngine::Resident of the record, read the view",
          [&stall](AsyncEngine& engine) {
            return StallEngine(stall, engine);
          }));
    }
    workloads.push_back(std::move(w));
  }

  HazardSetup hazard{{}, hazard_size, config.chunk_mib << 20, config.lookahead};
  uint64_t hazard_sum = 0;
  if (config.hazard) {
    Log(absl::StrFormat("writing %d files of %d MiB to %s", config.hazard_files,
                        config.hazard_mib, config.dir));
    for (int f = 0; f < config.hazard_files; ++f) {
      const uint64_t file = static_cast<uint64_t>(f);
      hazard.paths.push_back(CreateDataFile(
          DataPath(config.dir, absl::StrCat("hazard", f)), hazard_size,
          [file](uint64_t offset, uint8_t* block, uint64_t length) {
            for (uint64_t at = 0; at < length; at += kStride) {
              block[at] = HazardByte(file, (offset + at) / kStride);
            }
          }));
      for (uint64_t i = 0; i < hazard_size / kStride; ++i) {
        hazard_sum += HazardByte(file, i);
      }
    }
    const std::string files = absl::StrFormat(
        "%d cold files of %d MiB", config.hazard_files, config.hazard_mib);
    const std::string n = absl::StrCat(config.hazard_files);
    Workload w{"classic_hazard",
               absl::StrCat("sum of every 512th byte of ", files),
               "GB/s",
               1e9,
               absl::StrCat("mmap_", n, "_threads"),
               hazard.paths,
               hazard_sum,
               false,
               {}};
    for (PrefetchBackend backend : kBackends) {
      w.variants.push_back(MmapioVariant(
          engines, backend,
          absl::StrFormat("a task per file on one EventLoop thread, %d x %d "
                          "MiB EnsureResident in flight per file, sum each "
                          "chunk once resident",
                          config.lookahead, config.chunk_mib),
          [&hazard](AsyncEngine& engine) {
            return HazardExecutor(hazard, &engine);
          }));
    }
    w.variants.push_back(
        {"mmap_naive", "baseline",
         absl::StrFormat("a task per file on one EventLoop thread touches "
                         "its mapping, yields every %d MiB",
                         config.chunk_mib),
         [&hazard] { return HazardExecutor(hazard, nullptr); }, ""});
    w.variants.push_back({"read_1MiB", "baseline",
                          "read() of 1 MiB blocks on one thread, file after "
                          "file",
                          [&hazard] { return HazardRead(hazard); }, ""});
    w.variants.push_back({absl::StrCat("mmap_", n, "_threads"), "baseline",
                          absl::StrCat(n,
                                       " threads, each mmaps one file "
                                       "and sums it"),
                          [&hazard] { return HazardMmapThreads(hazard); }, ""});
    workloads.push_back(std::move(w));
  }

  if (!config.variants.empty()) {
    for (Workload& w : workloads) {
      std::erase_if(w.variants, [&config](const Variant& v) {
        return std::find(config.variants.begin(), config.variants.end(),
                         v.name) == config.variants.end();
      });
    }
  }
  std::vector<std::vector<Result>> all;
  for (const Workload& w : workloads) {
    all.push_back(RunWorkload(w, config.rounds));
  }
  for (const std::vector<Result>& results : all) {
    PrintTable(results, config.rounds);
  }

  std::vector<std::string> result_json;
  std::vector<std::string> target_json;
  for (const std::vector<Result>& results : all) {
    for (const Result& r : results) result_json.push_back(ResultJson(r));
    for (const Target& t : Targets(results)) {
      std::fprintf(stderr, "target %s/%s: %s = %.2f (goal %s): %s\n",
                   t.workload.c_str(), t.variant.c_str(), t.what.c_str(),
                   t.value, t.goal.c_str(), t.met ? "met" : "MISSED");
      target_json.push_back(TargetJson(t));
    }
  }
  std::vector<std::string> engine_stats;
  for (const auto& [backend, engine] : engines.engines) {
    engine_stats.push_back(absl::StrCat(
        cli::JsonString(PrefetchBackendName(backend)), ": ",
        cli::JsonString(engine->prefetch_engine().stats().ToString())));
  }
  absl::PrintF(
      "{\"benchmark\": \"executor_bench\",\n \"config\": {\"dir\": %s, "
      "\"filesystem\": %s, \"file_bytes\": %d, \"seconds\": %s, "
      "\"lookups\": %d, \"tasks\": %d, \"depth\": %d, \"tick_us\": %d, "
      "\"hazard_files\": %d, \"hazard_file_bytes\": %d, \"chunk_bytes\": %d, "
      "\"lookahead\": %d, \"rounds\": %d, \"seed\": %d, "
      "\"worker_threads\": %d, \"io_workers\": %d, "
      "\"engine_stats\": {%s}},\n \"results\": [\n  %s\n ],\n"
      " \"targets\": [\n  %s\n ]}\n",
      cli::JsonString(config.dir), cli::JsonString(filesystem), stall_size,
      JsonNumber(config.seconds), config.lookups, config.tasks, config.depth,
      config.tick_us, config.hazard ? config.hazard_files : 0,
      config.hazard ? hazard_size : 0, config.chunk_mib << 20, config.lookahead,
      config.rounds, config.seed,
      config.worker_threads != 0 ? config.worker_threads : defaults.threads,
      config.io_workers != 0 ? config.io_workers : defaults.io_workers,
      absl::StrJoin(engine_stats, ", "), absl::StrJoin(result_json, ",\n  "),
      absl::StrJoin(target_json, ",\n  "));
  return 0;
}

}  // namespace
}  // namespace mmapio::bench

int main(int argc, char** argv) { return mmapio::bench::Main(argc, argv); }
