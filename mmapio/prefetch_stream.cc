#include "mmapio/prefetch_stream.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "mmapio/residency.h"

namespace mmapio {
namespace {

uint64_t ThreadMajorFaults() {
  struct rusage usage;
  if (getrusage(RUSAGE_THREAD, &usage) != 0) return 0;
  return static_cast<uint64_t>(usage.ru_majflt);
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

PrefetchStream::PrefetchStream(PrefetchEngine& engine, const Region& region,
                               StreamOptions options)
    : engine_(engine),
      region_(region),
      options_(options),
      window_(std::clamp(options.initial_window, options.min_window,
                         options.max_window)),
      in_flight_(std::make_shared<InFlight>()) {
  counters_.SetWindow(window_);
}

PrefetchStream::~PrefetchStream() { Drain(); }

void PrefetchStream::Drain() {
  std::unique_lock<std::mutex> lock(in_flight_->mutex);
  in_flight_->done.wait(lock, [this] { return in_flight_->requests == 0; });
}

void PrefetchStream::Grow() {
  window_ = std::min(window_ * 2, options_.max_window);
  counters_.SetWindow(window_);
}

void PrefetchStream::Shrink() {
  window_ = std::max(window_ / 2, options_.min_window);
  counters_.SetWindow(window_);
}

void PrefetchStream::Waste(uint64_t bytes) {
  counters_.AddWasted(bytes);
  engine_.counters().AddWasted(bytes);
  Shrink();
}

uint64_t PrefetchStream::CompletedUpTo() const {
  std::lock_guard<std::mutex> lock(in_flight_->mutex);
  return in_flight_->completed_up_to;
}

void PrefetchStream::Classify(ByteRange range) {
  if (!has_last_) {
    pattern_ = range.offset == 0 ? AccessPattern::kSequential
                                 : AccessPattern::kUnknown;
  } else if (range.offset >= last_offset_ && range.offset <= last_end_) {
    pattern_ = AccessPattern::kSequential;
  } else {
    const int64_t stride =
        static_cast<int64_t>(range.offset) - static_cast<int64_t>(last_offset_);
    pattern_ = stride == last_stride_ ? AccessPattern::kStrided
                                      : AccessPattern::kRandom;
    last_stride_ = stride;
  }
  if (pattern_ == AccessPattern::kSequential) last_stride_ = 0;
  has_last_ = true;
  last_offset_ = range.offset;
  last_end_ = range.offset + range.length;
}

void PrefetchStream::Issue(uint64_t offset, uint64_t length) {
  length = std::min(length, region_.size() - std::min(offset, region_.size()));
  if (length == 0) return;
  std::shared_ptr<InFlight> in_flight = in_flight_;
  {
    std::unique_lock<std::mutex> lock(in_flight->mutex);
    in_flight->done.wait(lock, [&] {
      return in_flight->bytes == 0 ||
             in_flight->bytes + length <= options_.max_bytes_in_flight;
    });
    in_flight->bytes += length;
    ++in_flight->requests;
  }
  counters_.AddRequest(length);
  const uint64_t end = offset + length;
  engine_.Prefetch(region_, {offset, length},
                   [this, in_flight, length, end](const absl::Status& status) {
                     if (status.ok()) {
                       counters_.AddCompleted(length);
                     } else {
                       counters_.AddError();
                     }
                     {
                       std::lock_guard<std::mutex> lock(in_flight->mutex);
                       in_flight->bytes -= length;
                       --in_flight->requests;
                       in_flight->completed_up_to =
                           std::max(in_flight->completed_up_to, end);
                     }
                     in_flight->done.notify_all();
                   });
}

void PrefetchStream::Consume(ByteRange range) {
  // Pages read from the prefetched span are hits; the window has earned
  // its size.
  const uint64_t end = range.offset + range.length;
  if (range.offset < frontier_ && end > consumed_) {
    const uint64_t hit =
        std::min(end, frontier_) - std::max(range.offset, consumed_);
    counters_.AddHit(hit);
    engine_.counters().AddHit(hit);
  }
  consumed_ = std::max(consumed_, end);
}

void PrefetchStream::Sample() {
  if (++announcements_ % options_.sample_every != 0) return;
  absl::StatusOr<ResidencySummary> whole = SummarizeResidency(region_);
  if (!whole.ok()) return;
  // Memory pressure: the kernel is evicting this file's pages and seeing
  // them come back.
  if (whole->recently_evicted_pages.has_value()) {
    if (sampled_ && *whole->recently_evicted_pages > last_recently_evicted_)
      Shrink();
    last_recently_evicted_ = *whole->recently_evicted_pages;
    sampled_ = true;
  }
  // Waste: prefetched pages ahead of the consumer that are gone already.
  if (frontier_ > consumed_) {
    const uint64_t ready_end = std::min(CompletedUpTo(), frontier_);
    if (ready_end > consumed_) {
      absl::StatusOr<ResidencySummary> ahead =
          SummarizeResidency(region_, {consumed_, ready_end - consumed_});
      if (ahead.ok() && ahead->resident_pages < ahead->pages) {
        Waste((ahead->pages - ahead->resident_pages) * region_.page_size());
      }
    }
  }
}

void PrefetchStream::WillRead(ByteRange range) {
  const std::optional<ByteRange> resolved =
      ResolveWithin(range, region_.size());
  if (!resolved.has_value() || resolved->length == 0) return;
  Classify(*resolved);
  const uint64_t end = resolved->offset + resolved->length;
  const bool read_ahead = region_.advice() != Advice::kRandom &&
                          pattern_ != AccessPattern::kRandom &&
                          pattern_ != AccessPattern::kUnknown;
  if (!read_ahead) {
    // The span ahead will not be read: whatever of it was prefetched is
    // waste, and the window shrinks to what random access needs.
    if (frontier_ > consumed_ &&
        (resolved->offset < consumed_ || resolved->offset >= frontier_)) {
      Waste(frontier_ - consumed_);
    }
    // Random access has no use for a window: it decays to the minimum, and
    // grows again only when a pattern returns.
    if (pattern_ == AccessPattern::kRandom) Shrink();
    if (resolved->offset >= frontier_ || end <= consumed_) {
      Issue(resolved->offset, resolved->length);
    }
    consumed_ = resolved->offset;
    frontier_ = end;
    Consume(*resolved);
    Sample();
    return;
  }
  if (pattern_ == AccessPattern::kSequential) {
    if (resolved->offset > frontier_ || end <= consumed_) {
      consumed_ = frontier_ = resolved->offset;
    }
    Consume(*resolved);
    // Refill once half the window is used, so that requests stay large.
    const uint64_t target = std::min(end + window_, region_.size());
    if (frontier_ < std::min(end + window_ / 2, region_.size())) {
      const uint64_t from = std::max(frontier_, resolved->offset);
      // Whole windows' worth at a time, in requests of the engine's size.
      Issue(from, target - from);
      frontier_ = target;
    }
  } else {
    // Strided: the next strides that fit in the window.
    Consume(*resolved);
    const int64_t stride = last_stride_;
    uint64_t ahead = 0;
    for (int64_t at = static_cast<int64_t>(resolved->offset) + stride;
         ahead < window_ && at >= 0 &&
         static_cast<uint64_t>(at) < region_.size();
         at += stride) {
      Issue(static_cast<uint64_t>(at), resolved->length);
      ahead += resolved->length;
    }
    consumed_ = resolved->offset;
    frontier_ = end;
  }
  Sample();
}

CopyResult PrefetchStream::Read(uint64_t offset, absl::Span<std::byte> out) {
  const uint64_t frontier_before = frontier_;
  const uint64_t completed = CompletedUpTo();
  WillRead({offset, out.size()});
  const uint64_t faults_before = ThreadMajorFaults();
  CopyResult result = GuardedCopy(region_, offset, out);
  const uint64_t faults = ThreadMajorFaults() - faults_before;
  if (faults > 0) {
    counters_.AddMajorFaults(faults);
    engine_.counters().AddMajorFaults(faults);
    // Faulting on what was already prefetched and complete means it was
    // evicted first: too much ahead. Faulting beyond means too little.
    if (offset + out.size() <= std::min(frontier_before, completed)) {
      Shrink();
    } else if (pattern_ == AccessPattern::kSequential ||
               pattern_ == AccessPattern::kStrided) {
      Grow();
    }
  } else if (pattern_ == AccessPattern::kSequential &&
             offset < frontier_before) {
    Grow();
  }
  return result;
}

}  // namespace mmapio
