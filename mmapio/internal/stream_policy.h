// StreamPolicy: what PrefetchStream (mmapio/prefetch_stream.h) decides, as a
// state machine with no I/O, so that tests and fuzzers can drive it
// directly. It is told what the consumer announces or reads, which of its
// requests completed and how much room is left for requests in flight; it
// answers with the requests to make, the advice the mapping should have and
// the pages it gave up on. PrefetchStream makes the requests, follows the
// advice and keeps the statistics; the file comment of prefetch_stream.h
// says what the policy does for each access pattern.
//
// The policy's guarantees, whatever it is fed:
//   - every request lies inside the region and is not empty;
//   - the requests of one Announce fit in the room it was given and number
//     at most StreamOptions::max_requests_per_call (at least 1);
//   - the strides requested ahead cover at most the window, and the
//     requests of one Announce at most the window and the announced range;
//   - each requested page is given up on (wasted) at most once.
//
// Thread safety: none; a policy belongs to its stream's consumer thread.
// AccessPattern, AccessPatternName and StreamOptions are declared here,
// where the policy needs them, and are part of prefetch_stream.h's API.

#ifndef MMAPIO_INTERNAL_STREAM_POLICY_H_
#define MMAPIO_INTERNAL_STREAM_POLICY_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "mmapio/byte_range.h"

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
  // prefetch_stream.h): every read of this size or more, one in 64 of 4 KiB.
  uint64_t measure_every_bytes = uint64_t{256} << 10;
};

namespace internal {

// Where a region lies in its mapping's pages.
struct StreamGeometry {
  uint64_t page_size = 4096;
  // Bytes of the mapping's first page before the region.
  uint64_t shift = 0;
  uint64_t region_size = 0;
};

// A request the policy decided on.
struct StreamRequest {
  // Increasing from 1; Completed() names a request by it.
  uint64_t id = 0;
  // The region bytes to get in: whole pages, cut at the region's ends.
  ByteRange range;
  // The whole pages it covers, which the in-flight bound counts.
  uint64_t page_bytes = 0;
};

// How an announced range relates to the requests ahead.
enum class Arrival {
  kNotAhead,  // No request ahead covered it.
  kLate,      // Requested ahead, not completed yet.
  kReady,     // Requested ahead and completed: resident, unless evicted.
  kRepeat,    // The last announcement again: counted then.
};

// What one announcement leads to.
struct StreamStep {
  Arrival arrival = Arrival::kNotAhead;
  std::vector<StreamRequest> requests;
  // The mapping's advice should be sequential (true) or normal (false).
  std::optional<bool> advise_sequential;
  // Pages requested ahead that will not be read: the pattern changed.
  uint64_t wasted_pages = 0;
};

class StreamPolicy {
 public:
  StreamPolicy(StreamGeometry geometry, const StreamOptions& options);

  // The consumer will read (WillRead) or reads (Read) `range`: region bytes,
  // not empty, inside the region. Requests the range itself as well when
  // `request_range`; nothing ahead when `!read_ahead` (the region's owner
  // advised kRandom). The requests made fit in `room` bytes.
  StreamStep Announce(ByteRange range, bool request_range, bool read_ahead,
                      uint64_t room);

  // Request `id` completed without error. Ids the policy no longer watches
  // are ignored.
  void Completed(uint64_t id);

  // Whether the read of `bytes` just announced is to be measured for major
  // faults (see prefetch_stream.h). Once per read.
  bool MeasureRead(uint64_t bytes);

  // Pages the last announcement found ready were gone when read: the window
  // is more than the page cache keeps.
  void Evicted();

  // The mapping's pages that region bytes `range` touch.
  uint64_t PagesOf(ByteRange range) const;

  AccessPattern pattern() const { return pattern_; }
  uint64_t window() const { return window_; }
  // Strides requested ahead of the consumer.
  size_t strides_ahead() const { return ahead_.size(); }

 private:
  // The pages [first, end) of a stride the consumer is expected to read,
  // requested ahead of it: `requested_pages` of them by request `id`, the
  // rest with the stride before, or read with the current one (strides
  // closer than a read apart share pages). `id` is the stride before's when
  // it has all the pages, 0 when the current read had them all.
  struct Ahead {
    uint64_t first;
    uint64_t end;
    uint64_t requested_pages;
    uint64_t id;
    bool done;
  };

  // Requests pages [first, end) into `step`: the id, or 0 when the range is
  // outside the region, does not fit in the room or this call has made its
  // share of requests.
  uint64_t Request(uint64_t first, uint64_t end, StreamStep& step);
  // Requests the pages of an announced range not requested by the last
  // announcement.
  void RequestAnnounced(uint64_t first, uint64_t end, StreamStep& step);
  // Whether a range repeats the last announcement (Read after its own
  // WillRead), which says nothing new about the pattern.
  bool Repeats(ByteRange range) const;
  void Classify(ByteRange range, StreamStep& step);
  // Takes the stride that starts at page `first` off the strides ahead.
  Arrival Consume(uint64_t first, StreamStep& step);
  // Requests the strides after `range` that fit in the window.
  void RequestStrides(ByteRange range, StreamStep& step);
  // The strides ahead will not be read: wasted.
  void Abandon(StreamStep& step);
  void Grow();
  void Shrink();
  uint64_t FirstPage(uint64_t offset) const;
  uint64_t EndPage(uint64_t end) const;

  const StreamGeometry geometry_;
  const StreamOptions options_;

  AccessPattern pattern_ = AccessPattern::kUnknown;
  uint64_t window_;
  bool has_last_ = false;
  uint64_t last_offset_ = 0;
  uint64_t last_end_ = 0;
  int64_t last_stride_ = 0;
  // Where the current sequential run began.
  uint64_t run_start_ = 0;
  // Strides requested ahead, in the order the consumer will reach them.
  std::deque<Ahead> ahead_;
  // The pages of the last announced range the policy requested.
  uint64_t announced_first_ = 0;
  uint64_t announced_end_ = 0;
  // Whether the last announcement found its stride ahead and ready.
  bool last_ready_ = false;
  // Bytes read since the last measured read.
  uint64_t unmeasured_bytes_;
  // What the current Announce may still request.
  uint64_t room_ = 0;
  int requests_left_ = 0;
  uint64_t next_id_ = 1;
};

}  // namespace internal
}  // namespace mmapio

#endif  // MMAPIO_INTERNAL_STREAM_POLICY_H_
