// Prefetching: get pages of a Region in flight before they are touched, and
// learn when they have arrived.
//
// Example:
//   absl::StatusOr<std::unique_ptr<mmapio::PrefetchEngine>> engine =
//       mmapio::PrefetchEngine::Create();
//   (*engine)->Prefetch(region, {offset, length}, [](absl::Status status) {
//     // The range is resident and mapped (or status says why not).
//   });
//
// Nothing a caller calls waits for the disk: Prefetch only queues the
// request (after one mincore, for the fast path below). The engine's own
// dispatch thread hands requests to the backend in the order they came,
// keeping at most PrefetchOptions::max_bytes_in_flight in flight; it is the
// thread that sleeps when the device's request queue is full.
//
// Backends, chosen at run time (PrefetchOptions::backend, or the environment
// variable MMAPIO_PREFETCH_BACKEND=io_uring|workers|madvise when the option
// is kAuto):
//   workers   the default. A request under 2 MiB (or any request on a
//             region advised kRandom): MADV_WILLNEED for every chunk on the
//             dispatch thread, then waiting threads fault the chunks in, in
//             order, with MADV_POPULATE_READ (whose return means "resident
//             and mapped"): the kernel's own fastest mechanism, WILLNEED
//             then touch, with the touch moved off the caller. A larger
//             request: no WILLNEED, which reads single-page folios at many
//             times the CPU time of the fault path's readahead; one waiter,
//             always the same for a file, faults its chunks in order, so the
//             kernel reads ahead in large folios. Measured fastest here for
//             random pages and sequential chunks alike (bench/RESULTS.md).
//   io_uring  one ring owned by the engine: MADV_WILLNEED for every chunk,
//             then MADV_POPULATE_READ per chunk, both run by the kernel's
//             io-wq worker threads, one reaper thread for completions.
//             Slower than workers here (bench/RESULTS.md); used when asked
//             for.
//   madvise   MADV_WILLNEED in chunks no larger than the readahead window;
//             the kernel says nothing about completion, so a request
//             completes once it is submitted: a hint, not a promise.
//   windows   the default on Windows, and its only backend that reports
//             completion: PrefetchVirtualMemory for all the chunks of a
//             request in one call, then waiting threads touch each page
//             through the fault guard, as workers does on kernels without
//             MADV_POPULATE_READ. (workers on Windows is the same; io_uring
//             is Unavailable there.)
//
// Errors arrive in the callback, never as SIGBUS: DataLoss for a page the
// device cannot read, OutOfRange for a range outside the region, Cancelled
// for a request whose stop token was stopped before it was dispatched. A
// request is never issued past the end of the region.
//
// Thread safety: every method may be called from any thread. Callbacks run
// on an engine thread (or, for requests refused or completed at once, on
// the calling thread) and must not block for long; they may make requests.
// A Region must outlive the requests made on it.

#ifndef MMAPIO_PREFETCH_H_
#define MMAPIO_PREFETCH_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mmapio/byte_range.h"
#include "mmapio/export.h"
#include "mmapio/internal/mutex.h"
#include "mmapio/prefetch_stats.h"
#include "mmapio/region.h"

namespace mmapio {

namespace internal {
class PrefetchBackendImpl;
class PrefetchRequest;
}  // namespace internal

MMAPIO_BEGIN_EXPORTS

enum class PrefetchBackend { kAuto, kIoUring, kWorkers, kMadvise, kWindows };

// "auto", "io_uring", "workers", "madvise", "windows".
absl::string_view PrefetchBackendName(PrefetchBackend backend);
absl::StatusOr<PrefetchBackend> ParsePrefetchBackend(absl::string_view name);

struct PrefetchOptions {
  // kAuto: MMAPIO_PREFETCH_BACKEND if set, else workers (windows on
  // Windows).
  PrefetchBackend backend = PrefetchBackend::kAuto;
  // Requests are split into chunks of this size (rounded to pages). 0: the
  // readahead window of the device behind the file, at most 2 MiB.
  uint64_t chunk_bytes = 0;
  // Bytes dispatched to the backend and not completed, over all regions;
  // further requests queue in the engine, in order, until there is room. A
  // request larger than this goes alone.
  uint64_t max_bytes_in_flight = uint64_t{256} << 20;
  // Threads of the workers backend. They only wait: readahead for a whole
  // request is in flight before they start, so a few suffice, and more cost
  // context switches on a small machine.
  int threads = 2;
  // Bound on the kernel's io-wq workers that run the io_uring backend's
  // requests.
  int io_workers = 8;
  // Submission queue entries of the io_uring ring.
  unsigned ring_entries = 256;
};

// The backend `options` ask for: options.backend, or under kAuto the one
// MMAPIO_PREFETCH_BACKEND names; kAuto when neither forces one.
// InvalidArgument when the variable names no backend.
absl::StatusOr<PrefetchBackend> RequestedBackend(
    const PrefetchOptions& options);

class PrefetchEngine {
 public:
  using Callback = std::function<void(absl::Status)>;

  // The engine with the requested backend (kAuto: workers; on Windows,
  // windows). A backend that
  // cannot start here is an error (Unavailable, saying why); InvalidArgument
  // for options that are not positive or an unknown
  // MMAPIO_PREFETCH_BACKEND.
  static absl::StatusOr<std::unique_ptr<PrefetchEngine>> Create(
      PrefetchOptions options = {});

  // Waits until every request made has completed (each callback runs
  // exactly once), queued ones included, before returning.
  ~PrefetchEngine();
  PrefetchEngine(const PrefetchEngine&) = delete;
  PrefetchEngine& operator=(const PrefetchEngine&) = delete;

  PrefetchBackend backend() const { return backend_; }
  const PrefetchOptions& options() const { return options_; }

  // Starts reading `range` of `region` into memory; `done` runs once, when
  // it is resident (io_uring, workers) or requested (madvise). A range of at
  // most 2 MiB that is already in the page cache completes at once, on the
  // calling thread, after one mincore call (while requests are found
  // resident; see KnownResident). Never waits: a request beyond
  // the in-flight bound queues in the engine. A request whose `cancel` is
  // stopped before the engine dispatches it reads nothing and completes with
  // Cancelled; once dispatched, it runs to completion.
  void Prefetch(const Region& region, ByteRange range, Callback done,
                std::stop_token cancel = {});

  // Prefetch, for callers that have just asked KnownResident: it does not
  // look for resident pages again. Error messages name `operation` (a
  // string that outlives the request: a literal) as the failed call.
  void PrefetchMissing(const Region& region, ByteRange range, Callback done,
                       std::stop_token cancel = {},
                       absl::string_view operation = "Prefetch");

  // Whether every page of region bytes `range` is in the page cache, by one
  // mincore call, without reading anything. False when it cannot tell: more
  // than 2 MiB, a copy-on-write region, a page cache the kernel hides from
  // this caller, a range outside the region, or a run of misses (below).
  //
  // This is the fast path of Prefetch and of AsyncEngine, and on a cold
  // workload it is a system call per request that finds nothing. After
  // kMissesBeforeSampling misses in a row the engine asks only for one
  // request in kSampleEvery, and asks every time again once one is found
  // resident; a request it does not ask for takes the ordinary path, whose
  // waiter finds the pages ready at once.
  bool KnownResident(const Region& region, ByteRange range);
  static constexpr uint32_t kMissesBeforeSampling = 8;
  static constexpr uint32_t kSampleEvery = 8;

  // Prefetch and wait.
  absl::Status PrefetchAndWait(const Region& region, ByteRange range);

  // While a Batch lives, requests its thread makes to this engine do not
  // wake the dispatch thread; the Batch's end does, once: many requests in
  // a row (a batch of ranges, the callbacks of one AsyncEngine::Poll turn)
  // cost one wake-up instead of a system call each. A request made inside a
  // Batch is not read before the Batch ends or Flush() is called: do not
  // wait for it in between (PrefetchAndWait and AsyncEngine::WaitResident
  // flush first). Only the outermost Batch of a thread counts; a Batch for
  // another engine inside it defers nothing.
  class Batch {
   public:
    explicit Batch(PrefetchEngine& engine);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

    // Wakes the dispatch thread now if a request of this thread's Batch
    // needs it.
    static void Flush();

   private:
    PrefetchEngine* const engine_;  // Null when it defers nothing.
  };

  PrefetchStats stats() const { return counters_.Snapshot(); }
  // The live counters, for streams that report hits and misses.
  PrefetchStatsCounter& counters() { return counters_; }

 private:
  PrefetchEngine(PrefetchOptions options, PrefetchBackend backend);

  // The whole pages of the mapping that region bytes `range` touch.
  struct Pages {
    std::byte* first;
    uint64_t bytes;
    uint64_t file_offset;  // Of `first`.
  };
  static Pages PagesOf(const Region& region, ByteRange range);

  void Start(const Region& region, ByteRange range, Callback done,
             std::stop_token cancel, bool check_resident,
             absl::string_view operation);
  uint64_t ChunkBytes(const Region& region, uint64_t request_bytes);
  // Whether a request can complete at once: its pages are all cached. Asks
  // mincore unless misses have been the rule (see KnownResident).
  bool AlreadyResident(const Region& region, const Pages& pages);
  // One mincore over `pages` (at most 2 MiB).
  bool AskMincore(const Region& region, const Pages& pages);
  // Whether `bytes` more fit in flight.
  bool HasRoom(uint64_t bytes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Whether the oldest queued request can be dispatched now.
  bool CanDispatchFront() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The dispatch thread: hands queued requests to the backend while there
  // is room.
  void Dispatch();
  // Wakes the dispatch thread if it waits and the queue's front can go.
  void WakeDispatcher() ABSL_LOCKS_EXCLUDED(mutex_);
  // The same, after a request is queued and when room frees.
  void WakeDispatcherLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The backend's finisher: counts, makes room, runs the callback.
  MMAPIO_HIDDEN void Finish(internal::PrefetchRequest* request,
                            absl::Status status) ABSL_LOCKS_EXCLUDED(mutex_);

  const PrefetchOptions options_;
  const PrefetchBackend backend_;
  std::unique_ptr<internal::PrefetchBackendImpl> impl_;
  PrefetchStatsCounter counters_;
  // The fast path's recent misses, and a count to sample by while they are
  // the rule. Relaxed: a stale value only costs or saves one mincore.
  std::atomic<uint32_t> misses_in_a_row_{0};
  std::atomic<uint32_t> unasked_{0};

  internal::Mutex mutex_;
  // Requests not yet dispatched, oldest first.
  std::deque<internal::PrefetchRequest*> queue_ ABSL_GUARDED_BY(mutex_);
  // Whether the dispatch thread waits on `dispatch_` for work or room.
  bool dispatcher_waiting_ ABSL_GUARDED_BY(mutex_) = false;
  internal::CondVar dispatch_;
  uint64_t bytes_in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
  // Made and not yet called back, queued or dispatched.
  uint64_t unfinished_ ABSL_GUARDED_BY(mutex_) = 0;
  internal::CondVar all_finished_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread dispatcher_;
};

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_PREFETCH_H_
