// Fuzzes PrefetchStream's policy (mmapio/internal/stream_policy.h) with
// random region geometries, options and access sequences: sequential runs,
// repeated strides and random ranges, with requests completing in any order,
// evictions and reads measured. Whatever the sequence:
//   - every request lies inside the region, is not empty, covers whole
//     pages and has the next id;
//   - one announcement's requests fit in the room it was given, number at
//     most max_requests_per_call (at least 1) and cover at most the window
//     and the announced range;
//   - the strides ahead never outnumber the pages of the largest window,
//     so no call does more than a window's work;
//   - the window stays within its bounds, and no page is wasted that was
//     not requested.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mmapio/byte_range.h"
#include "mmapio/internal/stream_policy.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

namespace mmapio::internal {
namespace {

void Run(fuzz::FuzzInput& input) {
  StreamGeometry geometry;
  geometry.page_size = uint64_t{4096} << (input.Take(1) % 10);
  geometry.shift = input.Take(4) % geometry.page_size;
  // A mapping no larger than a 47-bit address space.
  geometry.region_size = 1 + input.Take(6) % (uint64_t{1} << 40);
  StreamOptions options;
  options.min_window = geometry.page_size << (input.Take(1) % 8);
  options.max_window = options.min_window << (input.Take(1) % 12);
  options.initial_window = input.Take(4) << (input.Take(1) % 16);
  options.max_requests_per_call = static_cast<int>(input.Take(1) % 24) - 2;
  options.measure_every_bytes = input.Take(3);
  StreamPolicy policy(geometry, options);

  const uint64_t page = geometry.page_size;
  const uint64_t size = geometry.region_size;
  std::vector<uint64_t> pending;
  uint64_t next_id = 1;
  uint64_t requested_pages = 0;
  uint64_t wasted_pages = 0;
  uint64_t offset = 0;
  uint64_t length = 1;
  int64_t stride = 0;
  for (int op = 0; op < 512 && !input.empty(); ++op) {
    const uint8_t kind = static_cast<uint8_t>(input.Take(1));
    switch (kind % 8) {
      case 0:  // The next read of a sequential run.
        offset = std::min(offset + length + input.Take(1), size - 1);
        break;
      case 1:  // A new stride.
        stride = static_cast<int64_t>(input.Take(3)) * (kind & 8 ? -1 : 1);
        [[fallthrough]];
      case 2: {  // The same stride again.
        const int64_t at = static_cast<int64_t>(offset) + stride;
        offset = at < 0 ? 0 : std::min<uint64_t>(at, size - 1);
        break;
      }
      case 3:  // Anywhere.
        offset = input.Take(6) % size;
        length = 1 + input.Take(3) % (uint64_t{1} << 21);
        break;
      case 4:  // Requests complete, oldest first or in any order.
        for (int n = static_cast<int>(input.Take(1) % 8);
             n > 0 && !pending.empty(); --n) {
          const size_t i = kind & 8 ? 0 : input.Take(2) % pending.size();
          policy.Completed(pending[i]);
          pending.erase(pending.begin() + static_cast<ptrdiff_t>(i));
        }
        continue;
      case 5:
        policy.Evicted();
        continue;
      case 6:
        policy.MeasureRead(input.Take(3));
        continue;
      case 7:  // An id the policy never gave, or gave long ago.
        policy.Completed(input.Take(2));
        continue;
    }
    const ByteRange range{offset, std::min(length, size - offset)};
    const uint64_t room = kind & 16 ? input.Take(3) * page : ~uint64_t{0};
    const StreamStep step =
        policy.Announce(range, (kind & 32) != 0, (kind & 64) == 0, room);
    const uint64_t window = policy.window();
    FUZZ_CHECK(window >= std::min(options.min_window, options.max_window) &&
                   window <= options.max_window,
               "window ", window);
    const size_t max_requests =
        static_cast<size_t>(std::max(options.max_requests_per_call, 1));
    FUZZ_CHECK(step.requests.size() <= max_requests, step.requests.size(),
               " requests in one call");
    uint64_t bytes = 0;
    for (const StreamRequest& request : step.requests) {
      FUZZ_CHECK(request.id == next_id, "id ", request.id, " after ",
                 next_id - 1);
      ++next_id;
      pending.push_back(request.id);
      FUZZ_CHECK(request.range.length > 0 && request.range.offset < size &&
                     request.range.length <= size - request.range.offset,
                 FormatRange(request.range.offset, request.range.length),
                 " outside a region of ", size);
      FUZZ_CHECK(request.page_bytes % page == 0 &&
                     request.page_bytes >= request.range.length,
                 request.page_bytes, " bytes of pages for ",
                 request.range.length);
      bytes += request.page_bytes;
      requested_pages += request.page_bytes / page;
    }
    FUZZ_CHECK(bytes <= room, bytes, " bytes requested with room for ", room);
    FUZZ_CHECK(bytes <= window + policy.PagesOf(range) * page, bytes,
               " bytes requested for a window of ", window);
    FUZZ_CHECK(policy.strides_ahead() <= options.max_window / page,
               policy.strides_ahead(), " strides ahead");
    wasted_pages += step.wasted_pages;
    FUZZ_CHECK(wasted_pages <= requested_pages, wasted_pages,
               " pages wasted of ", requested_pages, " requested");
    if (step.advise_sequential.value_or(false)) {
      FUZZ_CHECK(policy.pattern() == AccessPattern::kSequential,
                 "sequential advice for a ",
                 AccessPatternName(policy.pattern()), " pattern");
    }
  }
}

}  // namespace
}  // namespace mmapio::internal

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mmapio::fuzz::FuzzInput input(data, size);
  mmapio::internal::Run(input);
  return 0;
}
