#include "mmapio/residency.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/platform.h"

namespace mmapio {
namespace {

// Pages asked of mincore at once: 64 MiB of 4 KiB pages, a 16 KiB vector.
constexpr size_t kWindowPages = 16384;

}  // namespace

absl::StatusOr<ResidentPageCount> CountResidentPages(const Region& region,
                                                     ByteRange range) {
  const internal::OpContext context{"CountResidentPages", region.path(),
                                    region.offset() + range.offset,
                                    range.length};
  const std::optional<ByteRange> resolved = ResolveWithin(range, region.size());
  if (!resolved.has_value()) {
    return internal::MakeError(
        absl::StatusCode::kOutOfRange, context,
        absl::StrCat("the range is outside the region of ", region.size(),
                     " bytes"));
  }
  ResidentPageCount count;
  if (resolved->length == 0) return count;
  count.process_local_only = !internal::MincoreSeesPageCache(region.fd());
  const size_t page = region.page_size();
  const uintptr_t start =
      reinterpret_cast<uintptr_t>(region.bytes().data()) + resolved->offset;
  const uintptr_t first = start - start % page;
  const uintptr_t end = start + resolved->length;
  const uint64_t total_pages = (end - first + page - 1) / page;
  std::vector<unsigned char> window(std::min<uint64_t>(kWindowPages, total_pages));
  for (uint64_t done = 0; done < total_pages;) {
    const size_t pages = std::min<uint64_t>(window.size(), total_pages - done);
    const auto* address = reinterpret_cast<const std::byte*>(first + done * page);
    if (absl::Status status = internal::QueryResidency(address, pages * page,
                                                       window.data(), context);
        !status.ok()) {
      return status;
    }
    for (size_t i = 0; i < pages; ++i) count.resident_pages += window[i] & 1;
    done += pages;
  }
  count.pages = total_pages;
  return count;
}

}  // namespace mmapio
