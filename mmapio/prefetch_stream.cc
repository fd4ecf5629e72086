#include "mmapio/prefetch_stream.h"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "mmapio/internal/platform.h"
#include "mmapio/internal/region_context.h"

namespace mmapio {
PrefetchStream::PrefetchStream(PrefetchEngine& engine, const Region& region,
                               StreamOptions options)
    : engine_(engine),
      region_(region),
      options_(options),
      policy_({.page_size = region.page_size(),
               .shift = region.offset() % region.page_size(),
               .region_size = region.size()},
              options),
      in_flight_(std::make_shared<InFlight>()) {
  counters_.SetWindow(policy_.window());
}

PrefetchStream::~PrefetchStream() {
  Drain();
  AdviseSequential(false);
}

void PrefetchStream::Drain() {
  InFlight& in_flight = *in_flight_;
  internal::MutexLock lock(&in_flight.mutex);
  while (in_flight.requests > 0) in_flight.done.Wait(&in_flight.mutex);
}

void PrefetchStream::Waste(uint64_t pages) {
  counters_.AddWasted(pages * region_.page_size());
  engine_.counters().AddWasted(pages * region_.page_size());
}

void PrefetchStream::Hit(uint64_t pages) {
  counters_.AddHit(pages * region_.page_size());
  engine_.counters().AddHit(pages * region_.page_size());
}

void PrefetchStream::AdviseSequential(bool sequential) {
  if (sequential == advised_sequential_) return;
  // Advice the region's owner gave wins, and has replaced ours.
  if (region_.advice() != Advice::kNormal || region_.size() == 0) {
    advised_sequential_ = false;
    return;
  }
  const uint64_t page = region_.page_size();
  const auto data = reinterpret_cast<uintptr_t>(region_.bytes().data());
  const uintptr_t first = data / page * page;
  const uintptr_t end = (data + region_.size() + page - 1) / page * page;
  const absl::Status status = internal::AdviseMemory(
      reinterpret_cast<std::byte*>(first), end - first,
      sequential ? Advice::kSequential : Advice::kNormal,
      internal::RegionContext(region_, "PrefetchStream", 0, region_.size()));
  // Advice that does not take is a lost hint: reading works the same.
  if (status.ok()) advised_sequential_ = sequential;
}

void PrefetchStream::Issue(const internal::StreamRequest& request) {
  std::shared_ptr<InFlight> in_flight = in_flight_;
  {
    internal::MutexLock lock(&in_flight->mutex);
    in_flight->bytes += request.page_bytes;
    ++in_flight->requests;
  }
  counters_.AddRequest(request.page_bytes);
  engine_.Prefetch(region_, request.range,
                   [this, in_flight, id = request.id,
                    bytes = request.page_bytes](const absl::Status& status) {
                     if (status.ok()) {
                       counters_.AddCompleted(bytes);
                     } else {
                       counters_.AddError();
                     }
                     InFlight& shared = *in_flight;
                     {
                       internal::MutexLock lock(&shared.mutex);
                       if (status.ok()) shared.completed.push_back(id);
                       shared.bytes -= bytes;
                       --shared.requests;
                     }
                     // Last: Drain() may return, and the stream go, once it is
                     // seen.
                     shared.done.SignalAll();
                   });
}

internal::Arrival PrefetchStream::Announce(ByteRange range,
                                           bool request_range) {
  std::vector<uint64_t> completed;
  uint64_t room = 0;
  {
    InFlight& in_flight = *in_flight_;
    internal::MutexLock lock(&in_flight.mutex);
    completed.swap(in_flight.completed);
    if (in_flight.bytes < options_.max_bytes_in_flight) {
      room = options_.max_bytes_in_flight - in_flight.bytes;
    }
  }
  for (const uint64_t id : completed) policy_.Completed(id);
  // The owner advised kRandom: nothing ahead, whatever the pattern.
  const internal::StreamStep step = policy_.Announce(
      range, request_range,
      /*read_ahead=*/region_.advice() != Advice::kRandom, room);
  if (step.advise_sequential.has_value()) {
    AdviseSequential(*step.advise_sequential);
  }
  if (step.wasted_pages > 0) Waste(step.wasted_pages);
  for (const internal::StreamRequest& request : step.requests) {
    Issue(request);
  }
  counters_.SetWindow(policy_.window());
  return step.arrival;
}

void PrefetchStream::WillRead(ByteRange range) {
  const std::optional<ByteRange> resolved =
      ResolveWithin(range, region_.size());
  if (!resolved.has_value() || resolved->length == 0) return;
  if (Announce(*resolved, /*request_range=*/true) ==
      internal::Arrival::kReady) {
    Hit(policy_.PagesOf(*resolved));
  }
}

CopyResult PrefetchStream::Read(uint64_t offset, absl::Span<std::byte> out) {
  const std::optional<ByteRange> resolved =
      ResolveWithin({offset, out.size()}, region_.size());
  if (!resolved.has_value() || resolved->length == 0) {
    return GuardedCopy(region_, offset, out);
  }
  const internal::Arrival arrival =
      Announce(*resolved, /*request_range=*/false);
  // See the file comment for which reads are measured, and why.
  const bool measure = policy_.MeasureRead(out.size());
  const uint64_t faults_before = measure ? internal::ThreadMajorFaults() : 0;
  CopyResult result = GuardedCopy(region_, offset, out);
  const uint64_t faults =
      measure ? internal::ThreadMajorFaults() - faults_before : 0;
  if (faults > 0) {
    counters_.AddMajorFaults(faults);
    engine_.counters().AddMajorFaults(faults);
  }
  if (arrival == internal::Arrival::kReady) {
    const uint64_t pages = policy_.PagesOf(*resolved);
    // Brought in, then gone before the read: too much ahead.
    if (faults > 0) {
      Waste(pages);
      policy_.Evicted();
      counters_.SetWindow(policy_.window());
    } else {
      Hit(pages);
    }
  }
  return result;
}

}  // namespace mmapio
