// The harness of //bench:cold_bench: workloads made of variants that run
// interleaved by round on cold files, each run checked and measured the same
// way, and the JSON that bench/report.py turns into RESULTS.md.
//
// What every workload gets from here:
//   - data files whose pages carry a stamp (PageStamp), so that the checksum
//     of any list of pages is known before it is read (StampSum);
//   - distinct pages: slices of a seeded permutation of a file's pages
//     (PagePermutation), a fresh slice for every run;
//   - the share of requests whose page was already resident when asked
//     (ResidentCounter, mincore on a sample of them) and, after the run, the
//     pages of the file cached per page asked (cachestat): "amplification";
//   - the time the consuming thread spends inside each mmapio call
//     (CallTimes), without the benchmark's own code those calls run;
//   - files made cold and verified before every run (RunWorkload), and a
//     run whose checksum is wrong ends the program.

#ifndef MMAPIO_BENCH_COLD_HARNESS_H_
#define MMAPIO_BENCH_COLD_HARNESS_H_

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "bench/bench_support.h"

namespace mmapio::bench {

inline constexpr uint64_t kPage = 4096;

// The first 8 bytes of page `page` of a stamped file; the rest of the page is
// the 0xa5 filler CreateDataFile writes.
uint64_t PageStamp(uint64_t page);
// A CreateDataFile fill that stamps every page.
void FillPageStamps(uint64_t offset, uint8_t* block, uint64_t length);
// The sum (mod 2^64) of the stamps of `pages`: what a run that read them
// must compute.
uint64_t StampSum(absl::Span<const uint64_t> pages);
// The same for the pages [0, count).
uint64_t StampSumOfPrefix(uint64_t count);

// The 8 bytes at `p`, read once.
inline uint64_t Load64(const void* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Hands out slices of a seeded permutation of a file's pages. Pages within a
// slice are distinct; a slice that would run past the end of the permutation
// starts a new one (seed + 1), which is fine because every run starts cold.
class PagePermutation {
 public:
  PagePermutation(uint64_t file_pages, uint64_t seed);

  // `count` distinct pages, none of which the earlier slices of the current
  // permutation had. Dies when `count` exceeds the file's pages.
  std::vector<uint64_t> Next(uint64_t count);

 private:
  void Shuffle();

  std::vector<uint32_t> pages_;
  uint64_t seed_;
  uint64_t next_ = 0;
};

// Counts requests whose page was resident when asked: one mincore call on
// the page of a mapping right before the request, for one request in
// every SamplingInterval(). Checking every request slowed MADV_WILLNEED
// then touch by 10 to 25% at depths 16 and 64 here, and would slow every
// mapped variant but not fio; a sample shows the share (which must be ~0)
// at a small fraction of that cost.
class ResidentCounter {
 public:
  // 1: check every request. Set once, from the flags, before any run.
  static void SetSamplingInterval(uint64_t every);
  static uint64_t SamplingInterval();

  void Check(const void* page) {
    if (asked_++ % SamplingInterval() == 0) Sample(page);
  }
  uint64_t checked() const { return checked_; }
  uint64_t resident() const { return resident_; }
  double share() const {
    return checked_ == 0 ? 0 : static_cast<double>(resident_) / checked_;
  }

 private:
  void Sample(const void* page);

  uint64_t asked_ = 0;
  uint64_t checked_ = 0;
  uint64_t resident_ = 0;
};

// The time the consuming thread spends inside mmapio calls. A call's sample
// excludes the benchmark's code that runs inside it (a callback run by
// Poll, a coroutine resumed by it), which is bracketed as "user" code, so
// a sample says what the library cost the caller. Calls and user code nest
// on one thread as a stack. Samples go into a vector reserved up front, so
// that recording one does not allocate.
class CallTimes {
 public:
  using Clock = std::chrono::steady_clock;

  explicit CallTimes(size_t expected_calls);

  // `name` names the function called ("Poll"); a string literal.
  void EnterCall(const char* name) { Push(Frame::kCall, nullptr, name); }
  void ExitCall();
  void EnterUser() { Push(Frame::kUser); }
  void ExitUser();

  // A coroutine resumed from inside a call (by Poll) runs user code until
  // it next suspends: ResumeUser marks the start, tagged with the
  // coroutine's frame address, and SuspendUser the end; SuspendUser does
  // nothing unless the innermost frame is that coroutine's.
  void ResumeUser(const void* coroutine) { Push(Frame::kUser, coroutine); }
  void SuspendUser(const void* coroutine);

  size_t calls() const { return samples_ns_.size(); }
  // Appends call_p50_us, call_p99_us, call_max_us and calls to `metrics`,
  // then call_p99_us:NAME, call_max_us:NAME and calls:NAME for each
  // function called; nothing when no call was timed.
  void AddMetrics(std::vector<std::pair<std::string, double>>& metrics) const;

 private:
  struct Frame {
    enum Kind { kCall, kUser };
    Kind kind;
    const void* coroutine;
    const char* name;
    Clock::time_point start;
    Clock::duration excluded;
  };
  void Push(Frame::Kind kind, const void* coroutine = nullptr,
            const char* name = nullptr);
  // Pops the innermost frame; returns its duration.
  Clock::duration Pop();

  std::vector<Frame> stack_;
  std::vector<int64_t> samples_ns_;
  // The function of each sample, an index into names_.
  std::vector<uint8_t> sample_names_;
  std::vector<const char*> names_;
};

// The notes of the metrics CallTimes::AddMetrics adds, for
// Workload::metric_notes; `what` says which calls were timed.
std::vector<std::pair<std::string, std::string>> CallMetricNotes(
    const std::string& what);

// The CallTimes of the calling thread, or null: what CallScope and UserScope
// record into. Set by ThreadCallTimes for the length of a run.
CallTimes* CurrentCallTimes();

class ThreadCallTimes {
 public:
  explicit ThreadCallTimes(CallTimes& times);
  ~ThreadCallTimes();
  ThreadCallTimes(const ThreadCallTimes&) = delete;
  ThreadCallTimes& operator=(const ThreadCallTimes&) = delete;

 private:
  CallTimes* previous_;
};

// Brackets one call of mmapio function `name` (a string literal) on this
// thread; does nothing on a thread without CallTimes (an engine thread
// running a callback).
class CallScope {
 public:
  explicit CallScope(const char* name) : times_(CurrentCallTimes()) {
    if (times_ != nullptr) times_->EnterCall(name);
  }
  ~CallScope() {
    if (times_ != nullptr) times_->ExitCall();
  }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  CallTimes* times_;
};

// Brackets the benchmark's own code run inside a call (a callback).
class UserScope {
 public:
  UserScope() : times_(CurrentCallTimes()) {
    if (times_ != nullptr) times_->EnterUser();
  }
  ~UserScope() {
    if (times_ != nullptr) times_->ExitUser();
  }
  UserScope(const UserScope&) = delete;
  UserScope& operator=(const UserScope&) = delete;

 private:
  CallTimes* times_;
};

// Wraps an awaitable of mmapio (AsyncEngine::Awaitable): times its
// await_ready and await_suspend as calls, and brackets the coroutine's code
// from its resumption to its next suspension as user code. A coroutine that
// awaits through it keeps one CoroutineClock and calls EndCoroutine before it
// returns.
struct CoroutineClock {
  const void* frame = nullptr;  // The coroutine's, once it suspended.
};

template <typename Awaitable>
class Timed {
 public:
  Timed(Awaitable inner, CoroutineClock& clock)
      : inner_(std::move(inner)), clock_(&clock) {}

  bool await_ready() {
    CallScope call("await_ready");
    return inner_.await_ready();
  }
  void await_suspend(std::coroutine_handle<> coroutine) {
    // The request may complete at once and resume the coroutine inside the
    // call, which may then run on and destroy this awaitable: nothing of
    // it is touched after the call.
    const void* frame = coroutine.address();
    clock_->frame = frame;
    suspended_ = true;
    {
      CallScope call("await_suspend");
      inner_.await_suspend(coroutine);
    }
    // The coroutine is suspended now: its user code since it was last
    // resumed ends here.
    if (CallTimes* times = CurrentCallTimes()) times->SuspendUser(frame);
  }
  auto await_resume() {
    if (suspended_) {
      if (CallTimes* times = CurrentCallTimes()) {
        times->ResumeUser(clock_->frame);
      }
    }
    return inner_.await_resume();
  }

 private:
  Awaitable inner_;
  CoroutineClock* clock_;
  bool suspended_ = false;
};

// Ends the user code of a coroutine that is about to return.
void EndCoroutine(const CoroutineClock& clock);

// One run of one variant.
struct RunResult {
  double seconds = 0;  // The measured part of the run.
  double work = 0;     // Reads, records or bytes done in it.
  // What the run read, and what it should have read; nullopt for a variant
  // that cannot see the bytes (fio).
  std::optional<uint64_t> checksum;
  uint64_t expected_checksum = 0;
  // Pages the run asked for; when > 0, the harness adds "amplification":
  // pages of the workload's files cached after the run per page asked.
  uint64_t pages_asked = 0;
  std::vector<std::pair<std::string, double>> metrics;
};

using ColdVariant = Variant<RunResult>;

struct Workload {
  std::string name;
  // A paragraph for the report: what the workload measures and how.
  std::string description;
  std::string unit;                // Of the values: "reads/s", "GB/s".
  double unit_scale = 1;           // value = work / seconds / unit_scale.
  std::vector<std::string> files;  // Made cold before every run.
  std::vector<ColdVariant> variants;
  // What each metric means, for the report.
  std::vector<std::pair<std::string, std::string>> metric_notes;
  // Facts of its configuration for the JSON, as JSON values.
  std::vector<std::pair<std::string, std::string>> config;
  // Counters of the engines it used, as JSON values, read after the runs.
  std::function<std::vector<std::pair<std::string, std::string>>()> engines;
  // What the variants' run functions use; kept alive with the workload.
  std::shared_ptr<void> state;
};

// Runs `workload`'s variants interleaved for `rounds` rounds, making its
// files cold before every run and checking every checksum; returns its JSON
// object.
std::string RunWorkload(const Workload& workload, int rounds);

// The parameter of a swept variant, as JSON: {"depth", "64"}.
using Param = std::pair<std::string, std::string>;

// JSON object {"a": 1, ...} of already-JSON values.
std::string JsonObject(
    const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace mmapio::bench

#endif  // MMAPIO_BENCH_COLD_HARNESS_H_
