// Prefetching: get pages of a Region in flight before they are touched, and
// learn when they have arrived.
//
//   absl::StatusOr<std::unique_ptr<mmapio::PrefetchEngine>> engine =
//       mmapio::PrefetchEngine::Create();
//   (*engine)->Prefetch(region, {offset, length}, [](absl::Status status) {
//     // The range is resident and mapped (or status says why not).
//   });
//
// Backends, chosen at run time (PrefetchOptions::backend, or the environment
// variable MMAPIO_PREFETCH_BACKEND=io_uring|workers|madvise when the option
// is kAuto), with a logged fallback:
//   io_uring  one ring owned by the engine: MADV_WILLNEED for every chunk of
//             a request first, so the device sees them all at once, then
//             MADV_POPULATE_READ per chunk, whose completion means "resident
//             and mapped". A bounded io-wq worker pool runs them.
//   workers   MADV_WILLNEED (on the requesting thread for a one-chunk
//             request, else on an advisor thread), then threads waiting
//             with MADV_POPULATE_READ, for kernels or sandboxes without
//             io_uring; the fastest backend for random 4 KiB requests.
//   madvise   MADV_WILLNEED in chunks no larger than the readahead window;
//             the kernel says nothing about completion, so a request
//             completes once it is submitted: a hint, not a promise.
//
// Errors arrive in the callback, never as SIGBUS: DataLoss for a page the
// device cannot read, OutOfRange for a range outside the region, and
// ResourceExhausted when the engine is shutting down. A request is never
// issued past the end of the region.
//
// Thread safety: every method may be called from any thread. Callbacks run
// on an engine thread (or, for the madvise backend and for requests refused
// at once, on the calling thread) and must not block for long. A Region must
// outlive the requests made on it.

#ifndef MMAPIO_PREFETCH_H_
#define MMAPIO_PREFETCH_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mmapio/byte_range.h"
#include "mmapio/prefetch_stats.h"
#include "mmapio/region.h"

namespace mmapio {

enum class PrefetchBackend { kAuto, kIoUring, kWorkers, kMadvise };

// "auto", "io_uring", "workers", "madvise".
absl::string_view PrefetchBackendName(PrefetchBackend backend);
absl::StatusOr<PrefetchBackend> ParsePrefetchBackend(absl::string_view name);

struct PrefetchOptions {
  // kAuto: MMAPIO_PREFETCH_BACKEND if set, else the best that works here.
  PrefetchBackend backend = PrefetchBackend::kAuto;
  // Requests are split into chunks of this size (rounded to pages). 0: the
  // readahead window of the device behind the file, at most 2 MiB.
  uint64_t chunk_bytes = 0;
  // Bytes requested but not completed, over all regions; further requests
  // wait for room.
  uint64_t max_bytes_in_flight = uint64_t{256} << 20;
  // The same, per region, so that one region cannot take the whole budget.
  uint64_t max_bytes_in_flight_per_region = uint64_t{128} << 20;
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

namespace internal {
class PrefetchBackendImpl;
}  // namespace internal

class PrefetchEngine {
 public:
  using Callback = std::function<void(absl::Status)>;

  // The engine with the requested (or best available) backend. A forced
  // backend that cannot start is an error (Unavailable, saying why); kAuto
  // falls back and records why in fallback_reason().
  static absl::StatusOr<std::unique_ptr<PrefetchEngine>> Create(
      PrefetchOptions options = {});

  // Waits for every request in flight (each callback runs exactly once)
  // before returning.
  ~PrefetchEngine();
  PrefetchEngine(const PrefetchEngine&) = delete;
  PrefetchEngine& operator=(const PrefetchEngine&) = delete;

  PrefetchBackend backend() const { return backend_; }
  // Why kAuto did not get a better backend, or empty.
  const std::string& fallback_reason() const { return fallback_reason_; }
  const PrefetchOptions& options() const { return options_; }

  // Starts reading `range` of `region` into memory; `done` runs once, when
  // it is resident (io_uring, workers) or requested (madvise). A range of at
  // most 2 MiB that is already in the page cache completes at once, on the
  // calling thread, after a mincore and a cachestat call. Blocks while
  // max_bytes_in_flight are already in flight.
  void Prefetch(const Region& region, ByteRange range, Callback done);

  // Prefetch, for callers that have just asked KnownResident: it does not
  // look for resident pages again, and it never waits for room: when the
  // in-flight bounds are full it returns false and leaves `done` as it was.
  // Returns true when `done` was taken (and may have run already).
  bool TryPrefetch(const Region& region, ByteRange range, Callback& done);

  // Whether every page of region bytes `range` is in the page cache, by one
  // mincore call, without reading anything. False when it cannot tell: more
  // than 2 MiB, a copy-on-write region, a page cache the kernel hides from
  // this caller, or a range outside the region.
  bool KnownResident(const Region& region, ByteRange range);

  // Prefetch and wait.
  absl::Status PrefetchAndWait(const Region& region, ByteRange range);

  PrefetchStats stats() const { return counters_.Snapshot(); }
  // The live counters, for streams that report hits and misses.
  PrefetchStatsCounter& counters() { return counters_; }

 private:
  PrefetchEngine(PrefetchOptions options, PrefetchBackend backend,
                 std::string fallback_reason,
                 std::unique_ptr<internal::PrefetchBackendImpl> impl);

  // The whole pages of the mapping that region bytes `range` touch.
  struct Pages {
    std::byte* first;
    uint64_t bytes;
    uint64_t file_offset;  // Of `first`.
  };
  static Pages PagesOf(const Region& region, ByteRange range);

  // Prefetch and TryPrefetch.
  enum class Caller { kPrefetch, kTryPrefetch };
  bool Start(const Region& region, ByteRange range, Callback& done,
             Caller caller);
  uint64_t ChunkBytes(const Region& region);
  // Whether a request can complete at once: its pages are all cached.
  bool AlreadyResident(const Region& region, const Pages& pages);
  // Takes room for `bytes` in flight; false if there is none and
  // `wait_for_room` is false.
  bool Acquire(const Region* region, uint64_t bytes, bool wait_for_room);
  // Gives back the room Acquire took.
  void Release(const Region* region, uint64_t bytes);
  // Counts a request as finished, for the destructor.
  void Retire();

  const PrefetchOptions options_;
  const PrefetchBackend backend_;
  const std::string fallback_reason_;
  std::unique_ptr<internal::PrefetchBackendImpl> impl_;
  PrefetchStatsCounter counters_;

  std::mutex mutex_;
  std::condition_variable room_;
  uint64_t bytes_in_flight_ = 0;
  std::unordered_map<const Region*, uint64_t> region_bytes_in_flight_;
  uint64_t requests_in_flight_ = 0;
};

}  // namespace mmapio

#endif  // MMAPIO_PREFETCH_H_
