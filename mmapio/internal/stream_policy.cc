#include "mmapio/internal/stream_policy.h"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace mmapio {
namespace {

// A sequential run this long is a scan, not a few neighbouring reads: only
// then is the mapping advised, because the advice is a system call that
// takes the process's mmap lock for writing, twice if the pattern changes.
constexpr uint64_t kAdviseAfterBytes = uint64_t{1} << 20;

// Pages [first, end) less those of [known_first, known_end) at either end.
std::pair<uint64_t, uint64_t> Trim(uint64_t first, uint64_t end,
                                   uint64_t known_first, uint64_t known_end) {
  if (first >= known_first && first < known_end) first = known_end;
  if (end > known_first && end <= known_end) end = known_first;
  return {first, std::max(first, end)};
}

}  // namespace

absl::string_view AccessPatternName(AccessPattern pattern) {
  switch (pattern) {
    case AccessPattern::kUnknown:
      return "unknown";
    case AccessPattern::kSequential:
      return "sequential";
    case AccessPattern::kStrided:
      return "strided";
    case AccessPattern::kRandom:
      return "random";
  }
  return "unknown";
}

namespace internal {

StreamPolicy::StreamPolicy(StreamGeometry geometry,
                           const StreamOptions& options)
    : geometry_(geometry),
      options_(options),
      window_(std::clamp(options.initial_window, options.min_window,
                         options.max_window)),
      // The first read is measured: a cold start shows there.
      unmeasured_bytes_(options.measure_every_bytes) {}

uint64_t StreamPolicy::PagesOf(ByteRange range) const {
  return EndPage(range.offset + range.length) - FirstPage(range.offset);
}

uint64_t StreamPolicy::FirstPage(uint64_t offset) const {
  return (offset + geometry_.shift) / geometry_.page_size;
}

uint64_t StreamPolicy::EndPage(uint64_t end) const {
  return (end + geometry_.shift + geometry_.page_size - 1) /
         geometry_.page_size;
}

void StreamPolicy::Grow() {
  window_ = std::min(window_ * 2, options_.max_window);
}

void StreamPolicy::Shrink() {
  window_ = std::max(window_ / 2, options_.min_window);
}

void StreamPolicy::Evicted() { Shrink(); }

void StreamPolicy::Completed(uint64_t id) {
  // Strides ahead hold their requests' ids in the order they were made.
  auto it = std::lower_bound(
      ahead_.begin(), ahead_.end(), id,
      [](const Ahead& ahead, uint64_t value) { return ahead.id < value; });
  for (; it != ahead_.end() && it->id == id; ++it) it->done = true;
}

bool StreamPolicy::MeasureRead(uint64_t bytes) {
  bool measure = pattern_ == AccessPattern::kStrided && !last_ready_;
  unmeasured_bytes_ += bytes;
  if (unmeasured_bytes_ >= options_.measure_every_bytes) measure = true;
  if (measure) unmeasured_bytes_ = 0;
  return measure;
}

uint64_t StreamPolicy::Request(uint64_t first, uint64_t end, StreamStep& step) {
  const uint64_t page = geometry_.page_size;
  // Region bytes of the pages, cut at both ends of the region.
  const uint64_t begin =
      std::max(first * page, geometry_.shift) - geometry_.shift;
  const uint64_t stop =
      std::min(end * page - geometry_.shift, geometry_.region_size);
  const uint64_t bytes = (end - first) * page;
  if (stop <= begin || requests_left_ == 0 || bytes > room_) return 0;
  room_ -= bytes;
  --requests_left_;
  step.requests.push_back({next_id_, {begin, stop - begin}, bytes});
  return next_id_++;
}

void StreamPolicy::RequestAnnounced(uint64_t first, uint64_t end,
                                    StreamStep& step) {
  const auto [from, to] = Trim(first, end, announced_first_, announced_end_);
  if (from < to && Request(from, to, step) != 0) {
    announced_first_ = first;
    announced_end_ = end;
  }
}

bool StreamPolicy::Repeats(ByteRange range) const {
  return has_last_ && range.offset == last_offset_ &&
         range.offset + range.length == last_end_;
}

void StreamPolicy::Classify(ByteRange range, StreamStep& step) {
  const uint64_t end = range.offset + range.length;
  AccessPattern next;
  if (!has_last_) {
    next = range.offset == 0 ? AccessPattern::kSequential
                             : AccessPattern::kUnknown;
  } else if (range.offset >= last_offset_ &&
             range.offset < last_end_ + geometry_.page_size) {
    // No whole page between this read and the last: every page is read in
    // turn, whatever the read size.
    next = AccessPattern::kSequential;
  } else {
    const int64_t stride =
        static_cast<int64_t>(range.offset) - static_cast<int64_t>(last_offset_);
    next = stride == last_stride_ ? AccessPattern::kStrided
                                  : AccessPattern::kRandom;
    last_stride_ = stride;
  }
  // Strides ahead are only read by a strided consumer.
  if (next != AccessPattern::kStrided) Abandon(step);
  if (next == AccessPattern::kSequential) {
    last_stride_ = 0;
    if (pattern_ != AccessPattern::kSequential) {
      run_start_ =
          has_last_ ? std::min(last_offset_, range.offset) : range.offset;
    }
    if (end - run_start_ >= kAdviseAfterBytes) step.advise_sequential = true;
  } else if (next != AccessPattern::kUnknown) {
    step.advise_sequential = false;
  }
  // Random access has no use for a window: it decays to the minimum, and
  // grows again only when strides return.
  if (next == AccessPattern::kRandom) Shrink();
  pattern_ = next;
  has_last_ = true;
  last_offset_ = range.offset;
  last_end_ = end;
}

void StreamPolicy::Abandon(StreamStep& step) {
  uint64_t pages = 0;
  for (const Ahead& ahead : ahead_) pages += ahead.requested_pages;
  ahead_.clear();
  if (pages > 0) {
    step.wasted_pages += pages;
    Shrink();
  }
}

Arrival StreamPolicy::Consume(uint64_t first, StreamStep& step) {
  if (ahead_.empty()) return Arrival::kNotAhead;
  // A stride is known by where it starts: its reads may vary in length.
  const Ahead next = ahead_.front();
  if (next.first != first) {
    Abandon(step);
    return Arrival::kNotAhead;
  }
  ahead_.pop_front();
  // All its pages were the current read's when it was planned.
  if (next.id == 0) return Arrival::kNotAhead;
  if (!next.done) {
    // The consumer caught up with the requests: the window does not cover
    // their latency.
    Grow();
    return Arrival::kLate;
  }
  return Arrival::kReady;
}

void StreamPolicy::RequestStrides(ByteRange range, StreamStep& step) {
  const uint64_t first = FirstPage(range.offset);
  const uint64_t end = EndPage(range.offset + range.length);
  // The window bounds the pages of the strides ahead. A stride may touch a
  // page more than the current read, when it lies differently across pages.
  uint64_t pages_ahead = 0;
  for (const Ahead& ahead : ahead_) pages_ahead += ahead.end - ahead.first;
  while (true) {
    const int64_t at = static_cast<int64_t>(range.offset) +
                       static_cast<int64_t>(ahead_.size() + 1) * last_stride_;
    if (at < 0 || static_cast<uint64_t>(at) >= geometry_.region_size) return;
    const uint64_t stop = std::min(static_cast<uint64_t>(at) + range.length,
                                   geometry_.region_size);
    Ahead next{FirstPage(static_cast<uint64_t>(at)), EndPage(stop), 0, 0,
               false};
    pages_ahead += next.end - next.first;
    if (pages_ahead * geometry_.page_size > window_) return;
    // Strides closer than a read apart share pages: those are requested
    // with the stride before (or read with the current one) already.
    const uint64_t known_first = ahead_.empty() ? first : ahead_.back().first;
    const uint64_t known_end = ahead_.empty() ? end : ahead_.back().end;
    const auto [from, to] = Trim(next.first, next.end, known_first, known_end);
    if (from < to) {
      next.id = Request(from, to, step);
      // Out of room or of requests for this call: the next call goes on.
      if (next.id == 0) return;
      next.requested_pages = to - from;
    } else if (!ahead_.empty()) {
      next.id = ahead_.back().id;
      next.done = ahead_.back().done;
    }
    ahead_.push_back(next);
  }
}

StreamStep StreamPolicy::Announce(ByteRange range, bool request_range,
                                  bool read_ahead, uint64_t room) {
  StreamStep step;
  if (Repeats(range)) {
    step.arrival = Arrival::kRepeat;
    return step;
  }
  room_ = room;
  requests_left_ = std::max(options_.max_requests_per_call, 1);
  Classify(range, step);
  last_ready_ = false;
  const uint64_t first = FirstPage(range.offset);
  const uint64_t end = EndPage(range.offset + range.length);
  if (pattern_ == AccessPattern::kSequential && read_ahead) {
    // The kernel's readahead has it (see prefetch_stream.h).
    return step;
  }
  if (pattern_ != AccessPattern::kStrided || !read_ahead) {
    if (request_range) RequestAnnounced(first, end, step);
    return step;
  }
  step.arrival = Consume(first, step);
  if (step.arrival == Arrival::kNotAhead && request_range) {
    RequestAnnounced(first, end, step);
  }
  RequestStrides(range, step);
  last_ready_ = step.arrival == Arrival::kReady;
  return step;
}

}  // namespace internal
}  // namespace mmapio
