// PrefetchStream: the fault-aware policy for one consumer reading one
// region. It watches the ranges the consumer announces (WillRead) or reads
// (Read), tells sequential, strided and random access apart, and gets the
// pages ahead of the consumer in by the cheapest means that works for the
// pattern:
//
//   sequential  the kernel's own readahead. Reads that leave no whole page
//               between them are sequential (a 1-byte read of every page
//               is a scan). Once a run reaches 1 MiB the stream advises the
//               mapping MADV_SEQUENTIAL, unless the region's owner advised
//               it otherwise, and makes no requests: on a fault the kernel
//               reads a whole readahead window into large folios and keeps
//               the next window in flight, so it stays ahead of the
//               consumer, whose faults map a whole folio each. Requests of
//               the stream's own did worse on a cold scan here: advised
//               MADV_WILLNEED, they read single-page folios, at half the
//               speed and several times the CPU time; as large requests,
//               which the engine faults in on a thread of its own, a
//               window of them kept ahead by the stream read no faster and
//               took twice the CPU time. The advice belongs to the mapping,
//               so other readers of the region share it; the stream
//               withdraws it when the pattern changes and when it is
//               destroyed.
//   strided     reads a fixed distance apart with whole pages between them:
//               one request per stride for the pages the read will touch,
//               up to the window ahead. Each page is requested once.
//   random      nothing ahead. A range announced with WillRead is requested
//               as it stands, less pages the last announcement requested;
//               Read requests nothing, since its fault reads the page at
//               once.
//
// A region advised kRandom gets nothing ahead whatever the pattern: announced
// ranges are requested as they stand.
//
// The window (of strides ahead) doubles when the consumer reaches a stride
// before its request has completed, and halves when requested pages are
// wasted: left unread when the pattern changes, or evicted before the
// consumer reads them (it faults on pages whose request completed). Random
// access decays it to the minimum.
//
// Nothing waits: WillRead and Read make requests with PrefetchEngine::
// Prefetch and never wait for them. Requests the stream has in flight are
// bounded by StreamOptions::max_bytes_in_flight; a call that finds the bound
// reached requests nothing more, and a later call requests what it left.
// Read itself takes whatever page faults the copy takes. Drain() and the
// destructor wait for the requests in flight.
//
// Major faults are measured with getrusage(RUSAGE_THREAD) around a read,
// which costs two system calls, as much as copying a few KiB, so not around
// every read: around strided reads that reach a stride whose request has not
// completed (the window is tested there, and a fault costs a disk read), and
// otherwise around the read that completes each
// StreamOptions::measure_every_bytes read (sequential faults are the
// kernel's readahead's business, random reads are read as they come, and an
// eviction shows in a sample). Read must be called on the consumer's thread.
//
// Statistics (stats()), counted by the stream, in whole pages:
//   requests         Prefetch requests the stream made.
//   bytes_requested  The pages those requests cover: what the engine reads.
//   bytes_completed  The pages of requests that completed without error.
//   hit_bytes        Pages the consumer announced or read after a request of
//                    the stream had brought them in (completed): each page
//                    once, however many reads touch it, so a 1-byte read of
//                    a prefetched page counts the whole page.
//   major_faults     Major faults the consumer took in the reads that were
//                    measured (above): a sample, not every fault.
//   wasted_bytes     Requested pages never read: left ahead when the
//                    pattern changed, or evicted before they were read.
//   errors           Requests that failed.
//   window_bytes     The current window.
// Hits, major faults and waste are added to the engine's counters as well.
//
// Thread safety: a stream belongs to one consumer thread; stats() may be
// called from any thread. The engine and the region must outlive it.

#ifndef MMAPIO_PREFETCH_STREAM_H_
#define MMAPIO_PREFETCH_STREAM_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
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
  // Bytes (whole pages) requested and not completed.
  uint64_t max_bytes_in_flight = uint64_t{128} << 20;
  // Requests one WillRead or Read may make; the next call makes the rest.
  int max_requests_per_call = 16;
  // A read is measured for major faults once per this many bytes read (see
  // above): every read of this size or more, one in 64 of 4 KiB.
  uint64_t measure_every_bytes = uint64_t{256} << 10;
};

class PrefetchStream {
 public:
  PrefetchStream(PrefetchEngine& engine, const Region& region,
                 StreamOptions options = {});
  // Waits for the stream's requests in flight; withdraws its advice.
  ~PrefetchStream();
  PrefetchStream(const PrefetchStream&) = delete;
  PrefetchStream& operator=(const PrefetchStream&) = delete;

  // The consumer will read `range` next: get it and, as the pattern allows,
  // what follows on its way. Never waits.
  void WillRead(ByteRange range);

  // Reads `out.size()` bytes at `offset` through the fault guard, after
  // getting what follows on its way as WillRead would (but not the range
  // itself: the copy faults it in at once).
  CopyResult Read(uint64_t offset, absl::Span<std::byte> out);

  // Blocks until every request of this stream has completed.
  void Drain();

  AccessPattern pattern() const { return pattern_; }
  uint64_t window() const { return window_; }
  PrefetchStats stats() const { return counters_.Snapshot(); }

 private:
  // A request of the stream, shared with its callback.
  struct Request {
    std::atomic<bool> done{false};  // Completed without error.
  };
  // The pages [first, end) of a stride the consumer is expected to read,
  // requested ahead of it: `requested_pages` of them by `request`, the rest
  // with the stride before, or read with the current one (strides closer
  // than a read apart share pages). `request` is the stride before's when
  // it has all the pages, null when the current read had them all.
  struct Ahead {
    uint64_t first;
    uint64_t end;
    uint64_t requested_pages;
    std::shared_ptr<Request> request;
  };
  // Requests in flight, shared with their callbacks.
  struct InFlight {
    std::mutex mutex;
    std::condition_variable done;
    uint64_t bytes = 0;
    uint64_t requests = 0;
  };
  // How an announced range relates to the requests ahead.
  enum class Arrival {
    kNotAhead,  // No request ahead covered it.
    kLate,      // Requested ahead, not completed yet.
    kReady,     // Requested ahead and completed: resident, unless evicted.
    kRepeat,    // The last announcement again: counted then.
  };

  // Requests pages [first, end). Null, requesting nothing, when the range is
  // outside the region, the in-flight bound is reached or this call has
  // made its share of requests.
  std::shared_ptr<Request> Issue(uint64_t first, uint64_t end);
  // Requests the pages of an announced range not requested by the last
  // announcement.
  void RequestAnnounced(uint64_t first, uint64_t end);
  // Whether a range repeats the last announcement (Read after its own
  // WillRead), which says nothing new about the pattern.
  bool Repeats(ByteRange range) const;
  void Classify(ByteRange range);
  // Classifies `range` and gets what follows it on its way; requests the
  // range itself as well when `request_range`.
  Arrival Announce(ByteRange range, bool request_range);
  // Takes the stride that starts at page `first` off the strides ahead.
  Arrival Consume(uint64_t first);
  // Requests the strides after `range` that fit in the window.
  void RequestStrides(ByteRange range);
  // The strides ahead will not be read: wasted.
  void Abandon();
  void Grow();
  void Shrink();
  void Waste(uint64_t pages);
  void Hit(uint64_t pages);
  // Follows the pattern with the mapping's advice (see the file comment).
  void AdviseSequential(bool sequential);
  // The mapping's pages that region bytes [offset, end) touch.
  uint64_t FirstPage(uint64_t offset) const;
  uint64_t EndPage(uint64_t end) const;

  PrefetchEngine& engine_;
  const Region& region_;
  const StreamOptions options_;
  const uint64_t page_;
  // Bytes of the mapping's first page before the region.
  const uint64_t shift_;
  PrefetchStatsCounter counters_;

  AccessPattern pattern_ = AccessPattern::kUnknown;
  uint64_t window_;
  bool has_last_ = false;
  uint64_t last_offset_ = 0;
  uint64_t last_end_ = 0;
  int64_t last_stride_ = 0;
  // Where the current sequential run began.
  uint64_t run_start_ = 0;
  bool advised_sequential_ = false;
  // Strides requested ahead, in the order the consumer will reach them.
  std::deque<Ahead> ahead_;
  // The pages of the last announced range the stream requested.
  uint64_t announced_first_ = 0;
  uint64_t announced_end_ = 0;
  // Whether the last announcement found its stride ahead and ready.
  bool last_ready_ = false;
  // Bytes read since the last measured read.
  uint64_t unmeasured_bytes_;
  // Requests made by the current call.
  int requests_this_call_ = 0;

  std::shared_ptr<InFlight> in_flight_;
};

}  // namespace mmapio

#endif  // MMAPIO_PREFETCH_STREAM_H_
