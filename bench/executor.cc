// executor: one EventLoop thread serving many coroutines that each do
// dependent lookups of distinct cold pages, with a ticker coroutine on the
// same loop that measures how late it wakes: what a page fault costs every
// task that shares the executor's thread, and what AsyncEngine gives back.
//
// Each task reads the pages of its own slice of the file's permutation one
// after another: lookup i + 1 is issued only once lookup i's bytes were read
// and folded into the checksum. Every record is a distinct page, so no
// lookup finds a page an earlier one brought in, and every run takes a fresh
// slice. The ticker asks to wake every --tick_us on a fixed schedule; after
// a stall, each tick it swallowed is recorded with the lateness it suffered,
// rather than one sample per stall (which would hide how long the executor
// was gone).

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
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

struct ExecutorState {
  ExecutorState(const ColdConfig& config, const RandomFile& file)
      : config(config),
        file(file),
        // Another seed than random_depth's: the workloads share the file.
        permutation(file.bytes / kPage, config.seed + 1000) {}

  ColdConfig config;
  RandomFile file;
  PagePermutation permutation;
  AsyncEngines async;
};

// One measurement on one loop: the ticker and the tasks, touched only on
// the loop's thread.
class ExecutorRun {
 public:
  ExecutorRun(EventLoop& loop, absl::Duration tick, int tasks)
      : loop_(loop), tick_(tick), tasks_running_(tasks) {
    // Samples are kept without allocating while the run is measured: ticks
    // of 60 s at the period, at most.
    lateness_us_.reserve(static_cast<size_t>(
        std::min<int64_t>(absl::Seconds(60) / tick, 4'000'000)));
  }

  EventLoop& loop() { return loop_; }

  // Starts the ticker, then the tasks by `start_tasks`. Without tasks the
  // run ends after `idle_seconds`.
  void Begin(const std::function<void()>& start_tasks, double idle_seconds) {
    start_ = Now();
    cpu_start_ = ThreadCpuSeconds();
    majflt_start_ = ThreadMajorFaults();
    if (tasks_running_ == 0) {
      loop_.RunAt(absl::Now() + absl::Seconds(idle_seconds),
                  [this] { Finish(); });
    }
    ticker_running_ = true;
    Ticker();
    start_tasks();
  }

  void Read(uint64_t head) {
    ++records_;
    checksum_ += head;
  }
  void TaskDone() {
    if (--tasks_running_ == 0) Finish();
  }

  double seconds() const { return end_ - start_; }
  uint64_t records() const { return records_; }
  uint64_t checksum() const { return checksum_; }

  void AddMetrics(std::vector<std::pair<std::string, double>>& metrics) {
    std::vector<double>& sorted = lateness_us_;
    std::sort(sorted.begin(), sorted.end());
    metrics.emplace_back("ticker_p50_us", Percentile(sorted, 0.50));
    metrics.emplace_back("ticker_p99_us", Percentile(sorted, 0.99));
    metrics.emplace_back("ticker_max_us", sorted.empty() ? 0 : sorted.back());
    metrics.emplace_back("ticks", static_cast<double>(sorted.size()));
    metrics.emplace_back("majflt", static_cast<double>(majflt_));
    if (records_ > 0) {
      metrics.emplace_back("executor_cpu_us_per_record",
                           1e6 * cpu_seconds_ / static_cast<double>(records_));
    }
  }

 private:
  // Wakes every tick on a fixed schedule; see the file comment.
  DetachedTask Ticker() {
    absl::Time next = absl::Now() + tick_;
    while (true) {
      co_await loop_.SleepUntil(next);
      if (stopping_) break;
      lateness_us_.push_back(absl::ToDoubleMicroseconds(absl::Now() - next));
      next += tick_;
    }
    ticker_running_ = false;
    loop_.Stop();
  }

  // Ends the measured window once the last record was read; the ticker
  // stops at its next wake.
  void Finish() {
    end_ = Now();
    cpu_seconds_ = ThreadCpuSeconds() - cpu_start_;
    majflt_ = ThreadMajorFaults() - majflt_start_;
    stopping_ = true;
  }

  EventLoop& loop_;
  const absl::Duration tick_;
  int tasks_running_;
  bool stopping_ = false;
  bool ticker_running_ = false;
  uint64_t records_ = 0;
  uint64_t checksum_ = 0;
  double start_ = 0;
  double end_ = 0;
  double cpu_start_ = 0;
  double cpu_seconds_ = 0;
  int64_t majflt_start_ = 0;
  int64_t majflt_ = 0;
  std::vector<double> lateness_us_;
};

// Touches its pages through the mapping on the executor: each cold page is
// a blocking fault that holds the whole loop. Yields after each, so that
// the others, and the ticker, get their turn between faults.
DetachedTask NaiveTask(ExecutorRun& run, const uint8_t* base,
                       absl::Span<const uint64_t> pages,
                       ResidentCounter& resident) {
  for (uint64_t page : pages) {
    const uint8_t* p = base + page * kPage;
    resident.Check(p);
    run.Read(Load64(p));
    co_await run.loop().Yield();
  }
  run.TaskDone();
}

// Awaits the residency of each page, then reads its head with a guarded
// load: the executor thread never waits for the disk.
DetachedTask EngineTask(ExecutorRun& run, AsyncEngine& engine,
                        const Region& region, absl::Span<const uint64_t> pages,
                        ResidentCounter& resident) {
  CoroutineClock clock;
  const uint8_t* base = reinterpret_cast<const uint8_t*>(region.bytes().data());
  for (uint64_t page : pages) {
    resident.Check(base + page * kPage);
    absl::StatusOr<ResidentView> view =
        co_await Timed(engine.Resident(region, {page * kPage, kPage}), clock);
    if (!view.ok()) Die(view.status().ToString());
    absl::StatusOr<uint64_t> head = view->Load<uint64_t>(0);
    if (!head.ok()) Die(head.status().ToString());
    run.Read(*head);
  }
  EndCoroutine(clock);
  run.TaskDone();
}

std::unique_ptr<EventLoop> CreateLoop() {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) Die(loop.status().ToString());
  return *std::move(loop);
}

enum class Mode { kIdle, kNaive, kEngine };

RunResult RunExecutor(ExecutorState& s, Mode mode, AsyncEngine* engine) {
  const ColdConfig& c = s.config;
  const int tasks = mode == Mode::kIdle ? 0 : c.tasks;
  const std::vector<uint64_t> pages =
      mode == Mode::kIdle
          ? std::vector<uint64_t>()
          : s.permutation.Next(static_cast<uint64_t>(tasks) * c.task_pages);
  std::unique_ptr<Mapping> map;
  std::optional<Region> region;
  if (mode == Mode::kNaive) {
    map = std::make_unique<Mapping>(s.file.path, s.file.bytes);
    map->Advise(MADV_RANDOM);
  } else if (mode == Mode::kEngine) {
    region = OpenRegion(s.file.path);
    if (absl::Status st = region->Advise(Advice::kRandom); !st.ok()) {
      Die(st.ToString());
    }
  }
  std::unique_ptr<EventLoop> loop = CreateLoop();
  ResidentCounter resident;
  // Two calls per record (await_ready, await_suspend) and a Poll per wake.
  CallTimes times(4 * pages.size() + 1024);
  ThreadCallTimes on_this_thread(times);
  if (engine != nullptr) {
    // As EventLoop::Attach(*engine) does, with each Poll timed.
    absl::Status watched = loop->Watch(engine->fd(), [engine] {
      CallScope call("Poll");
      engine->Poll(8);
    });
    if (!watched.ok()) Die(watched.ToString());
  }
  ExecutorRun run(*loop, absl::Microseconds(c.tick_us), tasks);
  const absl::Span<const uint64_t> all(pages);
  loop->Post([&] {
    run.Begin(
        [&] {
          for (int t = 0; t < tasks; ++t) {
            const absl::Span<const uint64_t> slice = all.subspan(
                static_cast<size_t>(t) * c.task_pages, c.task_pages);
            if (mode == Mode::kNaive) {
              NaiveTask(run, map->data(), slice, resident);
            } else {
              EngineTask(run, *engine, *region, slice, resident);
            }
          }
        },
        c.idle_seconds);
  });
  if (absl::Status st = loop->Run(); !st.ok()) Die(st.ToString());

  RunResult m;
  m.seconds = run.seconds();
  // The idle loop reads nothing: its value is null, not 0 records/s.
  m.work =
      mode == Mode::kIdle ? std::nan("") : static_cast<double>(run.records());
  if (run.records() != pages.size()) {
    Die(absl::StrFormat("executor read %d records of %d", run.records(),
                        pages.size()));
  }
  m.checksum = run.checksum();
  m.expected_checksum = StampSum(pages);
  m.pages_asked = pages.size();
  run.AddMetrics(m.metrics);
  if (mode != Mode::kIdle) {
    m.metrics.emplace_back("resident_share", resident.share());
    m.metrics.emplace_back("resident_checked",
                           static_cast<double>(resident.checked()));
  }
  times.AddMetrics(m.metrics);
  return m;
}

}  // namespace

Workload ExecutorWorkload(const ColdConfig& config, const RandomFile& file) {
  auto state = std::make_shared<ExecutorState>(config, file);
  ExecutorState* s = state.get();
  s->async = AsyncEngines::Create();
  const std::string default_backend = s->async.default_backend();
  const uint64_t records =
      static_cast<uint64_t>(config.tasks) * config.task_pages;

  Workload w;
  w.name = "executor";
  w.unit = "records/s";
  w.state = state;
  w.files = {file.path};
  w.description = absl::StrFormat(
      "One EventLoop thread runs %d coroutines; each reads %d distinct cold "
      "4 KiB pages of a %.1f GiB file (its own slice of a seeded "
      "permutation, fresh every run) one after another: a lookup is issued "
      "only once the previous one's bytes were read and folded into the "
      "checksum. %d records per run. A ticker coroutine on the same loop "
      "asks to wake every %d us on a fixed schedule and records how late "
      "each tick ran (a tick a stall swallowed counts with its own "
      "lateness). Every mapping is MADV_RANDOM.",
      config.tasks, config.task_pages,
      static_cast<double>(file.bytes) / (1 << 30), records, config.tick_us);
  w.metric_notes = {
      {"ticker_p50_us", "ticker lateness, median tick"},
      {"ticker_p99_us", "ticker lateness, 99th percentile"},
      {"ticker_max_us", "ticker lateness, the latest tick"},
      {"ticks", "ticks recorded in the run"},
      {"majflt",
       "major faults the executor thread took in the run "
       "(getrusage RUSAGE_THREAD)"},
      {"executor_cpu_us_per_record",
       "the executor thread's CPU time per record"},
      {"resident_share",
       "share of lookups whose page was already resident when asked "
       "(mincore right before asking, on a sample of the lookups); must be "
       "~0"},
      {"resident_checked", "lookups checked for resident_share"},
      {"amplification",
       "pages of the file cached after the run (cachestat) per record"},
  };
  for (auto& note : CallMetricNotes(
           "time inside each mmapio call of the executor thread (co_await "
           "Resident's await_ready and await_suspend, Poll), without the "
           "coroutines Poll resumes")) {
    w.metric_notes.push_back(std::move(note));
  }
  w.config = {
      {"file_bytes", absl::StrCat(file.bytes)},
      {"tasks", absl::StrCat(config.tasks)},
      {"task_pages", absl::StrCat(config.task_pages)},
      {"records_per_run", absl::StrCat(records)},
      {"tick_us", absl::StrCat(config.tick_us)},
      {"idle_seconds", JsonNumber(config.idle_seconds)},
      {"async_default_backend", cli::JsonString(default_backend)},
  };
  w.variants.push_back(
      {"idle_loop", "reference",
       absl::StrFormat("the ticker alone for %.1f s: the loop's own lateness "
                       "on this machine",
                       config.idle_seconds),
       [s] { return RunExecutor(*s, Mode::kIdle, nullptr); }, ""});
  w.variants.push_back(
      {"naive_mmap", "baseline",
       "tasks touch the MADV_RANDOM mapping on the executor (a blocking "
       "fault per cold page), yield after each record",
       [s] { return RunExecutor(*s, Mode::kNaive, nullptr); }, ""});
  w.variants.push_back(
      {"mmapio_async", "mmapio",
       absl::StrCat("AsyncEngine::Create() (", default_backend,
                    "): co_await engine.Resident(region, {offset, 4096}), "
                    "then a guarded load"),
       [s] {
         return RunExecutor(*s, Mode::kEngine, s->async.default_engine.get());
       },
       ""});
  for (auto& [backend, made] : s->async.forced) {
    const std::string name(PrefetchBackendName(backend));
    AsyncEngine* engine = made.engine.get();
    w.variants.push_back(
        {absl::StrCat("mmapio_async_", name), "mmapio",
         absl::StrCat("mmapio_async with the ", name, " backend forced"),
         [s, engine] { return RunExecutor(*s, Mode::kEngine, engine); },
         made.failure});
  }
  w.engines = [s] { return s->async.Stats(); };
  return w;
}

}  // namespace mmapio::bench
