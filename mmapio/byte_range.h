// A half-open range of bytes, [offset, offset + length).
//
// Ranges passed to Region operations are relative to the start of the region;
// error messages translate them to file offsets. A ByteRange is a plain value:
// copy it freely, from any thread.

#ifndef MMAPIO_BYTE_RANGE_H_
#define MMAPIO_BYTE_RANGE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "mmapio/export.h"

namespace mmapio {

MMAPIO_BEGIN_EXPORTS

struct ByteRange {
  // A length meaning "up to the end of whatever the range is applied to".
  static constexpr uint64_t kToEnd = std::numeric_limits<uint64_t>::max();

  uint64_t offset = 0;
  uint64_t length = kToEnd;

  // Everything: [0, end).
  static constexpr ByteRange All() { return ByteRange{}; }

  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// `range` with kToEnd replaced by the bytes left in a container of `size`
// bytes, or nullopt when it starts or ends past `size` or overflows.
std::optional<ByteRange> ResolveWithin(ByteRange range, uint64_t size);

// The pages of `page_size` bytes that bytes [offset, offset + length)
// touch: the index of the first and how many (0 for an empty range).
// `offset + length` must not wrap around.
struct PageInterval {
  uint64_t first = 0;
  uint64_t count = 0;
};
PageInterval PagesTouched(uint64_t offset, uint64_t length, uint64_t page_size);

// "[offset, offset + length)" in decimal; "[offset, +length)" when the end
// overflows, "[offset, end)" for kToEnd.
std::string FormatRange(uint64_t offset, uint64_t length);

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_BYTE_RANGE_H_
