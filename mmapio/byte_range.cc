#include "mmapio/byte_range.h"

#include "absl/strings/str_cat.h"

namespace mmapio {

std::optional<ByteRange> ResolveWithin(ByteRange range, uint64_t size) {
  if (range.offset > size) return std::nullopt;
  const uint64_t left = size - range.offset;
  if (range.length == ByteRange::kToEnd) return ByteRange{range.offset, left};
  if (range.length > left) return std::nullopt;
  return range;
}

PageInterval PagesTouched(uint64_t offset, uint64_t length,
                          uint64_t page_size) {
  const uint64_t first = offset / page_size;
  if (length == 0) return PageInterval{first, 0};
  // From the last byte's page: rounding the end up to a page could wrap
  // around for a range that ends near 2^64.
  const uint64_t last = (offset + length - 1) / page_size;
  return PageInterval{first, last - first + 1};
}

std::string FormatRange(uint64_t offset, uint64_t length) {
  if (length == ByteRange::kToEnd) return absl::StrCat("[", offset, ", end)");
  if (length > std::numeric_limits<uint64_t>::max() - offset) {
    return absl::StrCat("[", offset, ", +", length, ")");
  }
  return absl::StrCat("[", offset, ", ", offset + length, ")");
}

}  // namespace mmapio
