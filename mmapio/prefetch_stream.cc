#include "mmapio/prefetch_stream.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "mmapio/internal/platform.h"
#include "mmapio/internal/region_context.h"

namespace mmapio {
namespace {

// A sequential run this long is a scan, not a few neighbouring reads: only
// then is the mapping advised, because the advice is a system call that
// takes the process's mmap lock for writing, twice if the pattern changes.
constexpr uint64_t kAdviseAfterBytes = uint64_t{1} << 20;

uint64_t ThreadMajorFaults() {
  struct rusage usage;
  if (getrusage(RUSAGE_THREAD, &usage) != 0) return 0;
  return static_cast<uint64_t>(usage.ru_majflt);
}

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

PrefetchStream::PrefetchStream(PrefetchEngine& engine, const Region& region,
                               StreamOptions options)
    : engine_(engine),
      region_(region),
      options_(options),
      page_(region.page_size()),
      shift_(region.offset() % region.page_size()),
      window_(std::clamp(options.initial_window, options.min_window,
                         options.max_window)),
      // The first read is measured: a cold start shows there.
      unmeasured_bytes_(options.measure_every_bytes),
      in_flight_(std::make_shared<InFlight>()) {
  counters_.SetWindow(window_);
}

PrefetchStream::~PrefetchStream() {
  Drain();
  AdviseSequential(false);
}

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

void PrefetchStream::Waste(uint64_t pages) {
  counters_.AddWasted(pages * page_);
  engine_.counters().AddWasted(pages * page_);
  Shrink();
}

void PrefetchStream::Hit(uint64_t pages) {
  counters_.AddHit(pages * page_);
  engine_.counters().AddHit(pages * page_);
}

uint64_t PrefetchStream::FirstPage(uint64_t offset) const {
  return (offset + shift_) / page_;
}

uint64_t PrefetchStream::EndPage(uint64_t end) const {
  return (end + shift_ + page_ - 1) / page_;
}

void PrefetchStream::AdviseSequential(bool sequential) {
  if (sequential == advised_sequential_) return;
  // Advice the region's owner gave wins, and has replaced ours.
  if (region_.advice() != Advice::kNormal || region_.size() == 0) {
    advised_sequential_ = false;
    return;
  }
  const auto data = reinterpret_cast<uintptr_t>(region_.bytes().data());
  const uintptr_t first = data / page_ * page_;
  const uintptr_t end = (data + region_.size() + page_ - 1) / page_ * page_;
  const absl::Status status = internal::AdviseMemory(
      reinterpret_cast<std::byte*>(first), end - first,
      sequential ? Advice::kSequential : Advice::kNormal,
      internal::RegionContext(region_, "PrefetchStream", 0, region_.size()));
  // Advice that does not take is a lost hint: reading works the same.
  if (status.ok()) advised_sequential_ = sequential;
}

std::shared_ptr<PrefetchStream::Request> PrefetchStream::Issue(uint64_t first,
                                                               uint64_t end) {
  // Region bytes of the pages, cut at both ends of the region.
  const uint64_t begin = std::max(first * page_, shift_) - shift_;
  const uint64_t stop = std::min(end * page_ - shift_, region_.size());
  if (stop <= begin ||
      requests_this_call_ >= std::max(options_.max_requests_per_call, 1)) {
    return nullptr;
  }
  const uint64_t bytes = (end - first) * page_;
  std::shared_ptr<InFlight> in_flight = in_flight_;
  {
    std::lock_guard<std::mutex> lock(in_flight->mutex);
    // Full: nothing now; the caller leaves the pages for a later call.
    if (in_flight->bytes + bytes > options_.max_bytes_in_flight) {
      return nullptr;
    }
    in_flight->bytes += bytes;
    ++in_flight->requests;
  }
  ++requests_this_call_;
  counters_.AddRequest(bytes);
  auto request = std::make_shared<Request>();
  engine_.Prefetch(
      region_, {begin, stop - begin},
      [this, in_flight, request, bytes](const absl::Status& status) {
        if (status.ok()) {
          counters_.AddCompleted(bytes);
          request->done.store(true, std::memory_order_release);
        } else {
          counters_.AddError();
        }
        {
          std::lock_guard<std::mutex> lock(in_flight->mutex);
          in_flight->bytes -= bytes;
          --in_flight->requests;
        }
        // Last: Drain() may return, and the stream go, once it is seen.
        in_flight->done.notify_all();
      });
  return request;
}

void PrefetchStream::RequestAnnounced(uint64_t first, uint64_t end) {
  const auto [from, to] = Trim(first, end, announced_first_, announced_end_);
  if (from < to && Issue(from, to) != nullptr) {
    announced_first_ = first;
    announced_end_ = end;
  }
}

bool PrefetchStream::Repeats(ByteRange range) const {
  return has_last_ && range.offset == last_offset_ &&
         range.offset + range.length == last_end_;
}

void PrefetchStream::Classify(ByteRange range) {
  const uint64_t end = range.offset + range.length;
  AccessPattern next;
  if (!has_last_) {
    next = range.offset == 0 ? AccessPattern::kSequential
                             : AccessPattern::kUnknown;
  } else if (range.offset >= last_offset_ && range.offset < last_end_ + page_) {
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
  if (next != AccessPattern::kStrided) Abandon();
  if (next == AccessPattern::kSequential) {
    last_stride_ = 0;
    if (pattern_ != AccessPattern::kSequential) {
      run_start_ =
          has_last_ ? std::min(last_offset_, range.offset) : range.offset;
    }
    if (end - run_start_ >= kAdviseAfterBytes) AdviseSequential(true);
  } else if (next != AccessPattern::kUnknown) {
    AdviseSequential(false);
  }
  // Random access has no use for a window: it decays to the minimum, and
  // grows again only when strides return.
  if (next == AccessPattern::kRandom) Shrink();
  pattern_ = next;
  has_last_ = true;
  last_offset_ = range.offset;
  last_end_ = end;
}

void PrefetchStream::Abandon() {
  uint64_t pages = 0;
  for (const Ahead& ahead : ahead_) pages += ahead.requested_pages;
  ahead_.clear();
  if (pages > 0) Waste(pages);
}

PrefetchStream::Arrival PrefetchStream::Consume(uint64_t first) {
  if (ahead_.empty()) return Arrival::kNotAhead;
  // A stride is known by where it starts: its reads may vary in length.
  const Ahead next = ahead_.front();
  if (next.first != first) {
    Abandon();
    return Arrival::kNotAhead;
  }
  ahead_.pop_front();
  // All its pages were the current read's when it was planned.
  if (next.request == nullptr) return Arrival::kNotAhead;
  if (!next.request->done.load(std::memory_order_acquire)) {
    // The consumer caught up with the requests: the window does not cover
    // their latency.
    Grow();
    return Arrival::kLate;
  }
  return Arrival::kReady;
}

void PrefetchStream::RequestStrides(ByteRange range) {
  const uint64_t first = FirstPage(range.offset);
  const uint64_t end = EndPage(range.offset + range.length);
  const uint64_t pages_per_stride = end - first;
  while ((ahead_.size() + 1) * pages_per_stride * page_ <= window_) {
    const int64_t at = static_cast<int64_t>(range.offset) +
                       static_cast<int64_t>(ahead_.size() + 1) * last_stride_;
    if (at < 0 || static_cast<uint64_t>(at) >= region_.size()) return;
    const uint64_t stop =
        std::min(static_cast<uint64_t>(at) + range.length, region_.size());
    Ahead next{FirstPage(static_cast<uint64_t>(at)), EndPage(stop), 0, nullptr};
    // Strides closer than a read apart share pages: those are requested
    // with the stride before (or read with the current one) already.
    const uint64_t known_first = ahead_.empty() ? first : ahead_.back().first;
    const uint64_t known_end = ahead_.empty() ? end : ahead_.back().end;
    const auto [from, to] = Trim(next.first, next.end, known_first, known_end);
    if (from < to) {
      next.request = Issue(from, to);
      // Out of room or of requests for this call: the next call goes on.
      if (next.request == nullptr) return;
      next.requested_pages = to - from;
    } else if (!ahead_.empty()) {
      next.request = ahead_.back().request;
    }
    ahead_.push_back(std::move(next));
  }
}

PrefetchStream::Arrival PrefetchStream::Announce(ByteRange range,
                                                 bool request_range) {
  requests_this_call_ = 0;
  if (Repeats(range)) return Arrival::kRepeat;
  Classify(range);
  last_ready_ = false;
  const uint64_t first = FirstPage(range.offset);
  const uint64_t end = EndPage(range.offset + range.length);
  // The owner advised kRandom: nothing ahead, whatever the pattern.
  const bool read_ahead = region_.advice() != Advice::kRandom;
  if (pattern_ == AccessPattern::kSequential && read_ahead) {
    // The kernel's readahead has it (see the file comment).
    return Arrival::kNotAhead;
  }
  if (pattern_ != AccessPattern::kStrided || !read_ahead) {
    if (request_range) RequestAnnounced(first, end);
    return Arrival::kNotAhead;
  }
  const Arrival arrival = Consume(first);
  if (arrival == Arrival::kNotAhead && request_range) {
    RequestAnnounced(first, end);
  }
  RequestStrides(range);
  last_ready_ = arrival == Arrival::kReady;
  return arrival;
}

void PrefetchStream::WillRead(ByteRange range) {
  const std::optional<ByteRange> resolved =
      ResolveWithin(range, region_.size());
  if (!resolved.has_value() || resolved->length == 0) return;
  if (Announce(*resolved, /*request_range=*/true) == Arrival::kReady) {
    Hit(EndPage(resolved->offset + resolved->length) -
        FirstPage(resolved->offset));
  }
}

CopyResult PrefetchStream::Read(uint64_t offset, absl::Span<std::byte> out) {
  const std::optional<ByteRange> resolved =
      ResolveWithin({offset, out.size()}, region_.size());
  if (!resolved.has_value() || resolved->length == 0) {
    return GuardedCopy(region_, offset, out);
  }
  const Arrival arrival = Announce(*resolved, /*request_range=*/false);
  // See the file comment for which reads are measured, and why.
  bool measure = pattern_ == AccessPattern::kStrided && !last_ready_;
  unmeasured_bytes_ += out.size();
  if (unmeasured_bytes_ >= options_.measure_every_bytes) measure = true;
  if (measure) unmeasured_bytes_ = 0;
  const uint64_t faults_before = measure ? ThreadMajorFaults() : 0;
  CopyResult result = GuardedCopy(region_, offset, out);
  const uint64_t faults = measure ? ThreadMajorFaults() - faults_before : 0;
  if (faults > 0) {
    counters_.AddMajorFaults(faults);
    engine_.counters().AddMajorFaults(faults);
  }
  if (arrival == Arrival::kReady) {
    const uint64_t pages = EndPage(offset + out.size()) - FirstPage(offset);
    // Brought in, then gone before the read: too much ahead.
    if (faults > 0) {
      Waste(pages);
    } else {
      Hit(pages);
    }
  }
  return result;
}

}  // namespace mmapio
