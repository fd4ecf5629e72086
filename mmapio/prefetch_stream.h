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
// The decisions are made by internal::StreamPolicy
// (mmapio/internal/stream_policy.h), which has no I/O: the stream makes its
// requests, advises the mapping and counts.
//
// Thread safety: a stream belongs to one consumer thread; stats() may be
// called from any thread. The engine and the region must outlive it.

#ifndef MMAPIO_PREFETCH_STREAM_H_
#define MMAPIO_PREFETCH_STREAM_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/types/span.h"
#include "mmapio/byte_range.h"
#include "mmapio/export.h"
#include "mmapio/guarded.h"
#include "mmapio/internal/mutex.h"
#include "mmapio/internal/stream_policy.h"
#include "mmapio/prefetch.h"
#include "mmapio/prefetch_stats.h"
#include "mmapio/region.h"

namespace mmapio {

MMAPIO_BEGIN_EXPORTS

// AccessPattern, AccessPatternName() and StreamOptions are declared in
// mmapio/internal/stream_policy.h.

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

  AccessPattern pattern() const { return policy_.pattern(); }
  uint64_t window() const { return policy_.window(); }
  PrefetchStats stats() const { return counters_.Snapshot(); }

 private:
  // Requests in flight, shared with their callbacks.
  struct InFlight {
    internal::Mutex mutex;
    internal::CondVar done;
    uint64_t bytes ABSL_GUARDED_BY(mutex) = 0;
    uint64_t requests ABSL_GUARDED_BY(mutex) = 0;
    // Requests that completed without error since the policy was last told.
    std::vector<uint64_t> completed ABSL_GUARDED_BY(mutex);
  };

  // Tells the policy about `range` and carries out what it decides.
  MMAPIO_HIDDEN internal::Arrival Announce(ByteRange range, bool request_range);
  MMAPIO_HIDDEN void Issue(const internal::StreamRequest& request);
  void Waste(uint64_t pages);
  void Hit(uint64_t pages);
  // Follows the pattern with the mapping's advice (see the file comment).
  void AdviseSequential(bool sequential);

  PrefetchEngine& engine_;
  const Region& region_;
  const StreamOptions options_;
  PrefetchStatsCounter counters_;
  internal::StreamPolicy policy_;
  bool advised_sequential_ = false;
  const std::shared_ptr<InFlight> in_flight_;
};

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_PREFETCH_STREAM_H_
