// PrefetchStream: the fault-aware policy for one consumer reading one
// region. It watches the ranges the consumer announces (WillRead) or reads
// (Read), recognizes sequential, strided and random access, and keeps a
// window of prefetch requests ahead of it, sized by what happened:
//
//   grows (x2)   while prefetched pages are read resident, or the consumer
//                faults on pages the window did not reach yet;
//   shrinks (/2) when prefetched pages are wasted (evicted before they were
//                read, or never read because the pattern changed), when the
//                consumer takes major faults on pages that were prefetched,
//                and when the file's recently-evicted count grows (memory
//                pressure, sampled with cachestat).
//
// Random access reads no more than it is asked; so does a region advised
// kRandom. Requests never pass the end of the region, and the stream keeps
// at most StreamOptions::max_bytes_in_flight of them in flight.
//
// Major faults are measured with getrusage(RUSAGE_THREAD) around Read, so
// Read must be called on the consumer's thread.
//
// Thread safety: a stream belongs to one consumer thread; stats() may be
// called from any thread. The engine and the region must outlive it.

#ifndef MMAPIO_PREFETCH_STREAM_H_
#define MMAPIO_PREFETCH_STREAM_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "mmapio/byte_range.h"
#include "mmapio/guarded.h"
#include "mmapio/prefetch.h"
#include "mmapio/prefetch_stats.h"
#include "mmapio/region.h"

namespace mmapio {

enum class AccessPattern { kUnknown, kSequential, kStrided, kRandom };

// "unknown", "sequential", "strided", "random".
absl::string_view AccessPatternName(AccessPattern pattern);

struct StreamOptions {
  uint64_t min_window = uint64_t{128} << 10;
  uint64_t initial_window = uint64_t{2} << 20;
  uint64_t max_window = uint64_t{64} << 20;
  uint64_t max_bytes_in_flight = uint64_t{128} << 20;
  // Announcements between two cachestat samples of waste and pressure.
  int sample_every = 32;
};

class PrefetchStream {
 public:
  PrefetchStream(PrefetchEngine& engine, const Region& region,
                 StreamOptions options = {});
  // Waits for the stream's requests in flight.
  ~PrefetchStream();
  PrefetchStream(const PrefetchStream&) = delete;
  PrefetchStream& operator=(const PrefetchStream&) = delete;

  // The consumer will read `range` next: prefetch it and, as the pattern
  // allows, what follows. Returns at once (unless the in-flight bound is
  // reached).
  void WillRead(ByteRange range);

  // Announces, then reads `out.size()` bytes at `offset` through the fault
  // guard, counting the major faults the read took.
  CopyResult Read(uint64_t offset, absl::Span<std::byte> out);

  // Blocks until every request of this stream has completed.
  void Drain();

  AccessPattern pattern() const { return pattern_; }
  uint64_t window() const { return window_; }
  PrefetchStats stats() const { return counters_.Snapshot(); }

 private:
  // Requests [offset, offset + length), cut at the end of the region, within
  // the stream's in-flight bound.
  void Issue(uint64_t offset, uint64_t length);
  void Classify(ByteRange range);
  void Grow();
  void Shrink();
  // Prefetched bytes lost before they were read: counted, and the window
  // halves.
  void Waste(uint64_t bytes);
  // The highest end of a completed request.
  uint64_t CompletedUpTo() const;
  void Sample();
  void Consume(ByteRange range);

  PrefetchEngine& engine_;
  const Region& region_;
  const StreamOptions options_;
  PrefetchStatsCounter counters_;

  AccessPattern pattern_ = AccessPattern::kUnknown;
  uint64_t window_;
  bool has_last_ = false;
  uint64_t last_offset_ = 0;
  uint64_t last_end_ = 0;
  int64_t last_stride_ = 0;
  // [consumed_, frontier_) is prefetched ahead of the consumer.
  uint64_t consumed_ = 0;
  uint64_t frontier_ = 0;
  int announcements_ = 0;
  uint64_t last_recently_evicted_ = 0;
  bool sampled_ = false;

  // Requests in flight, shared with their callbacks.
  struct InFlight {
    std::mutex mutex;
    std::condition_variable done;
    uint64_t bytes = 0;
    uint64_t requests = 0;
    uint64_t completed_up_to = 0;  // Highest end of a completed request.
  };
  std::shared_ptr<InFlight> in_flight_;
};

}  // namespace mmapio

#endif  // MMAPIO_PREFETCH_STREAM_H_
