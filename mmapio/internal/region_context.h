// Error context for operations on a range of a Region, shared by the layers
// above it (guarded access, residency, prefetching) so that every one of
// them names a range the same way: in file offsets.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_REGION_CONTEXT_H_
#define MMAPIO_INTERNAL_REGION_CONTEXT_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mmapio/byte_range.h"
#include "mmapio/internal/errors.h"
#include "mmapio/region.h"

namespace mmapio::internal {

// `operation` on region bytes [offset, offset + length), as file offsets; an
// offset past the largest file offset saturates.
OpContext RegionContext(const Region& region, absl::string_view operation,
                        uint64_t offset, uint64_t length);

// `range` with kToEnd resolved, or OutOfRange naming `operation`, the path
// and the range when it is not all inside the region.
absl::StatusOr<ByteRange> ResolveInRegion(const Region& region,
                                          absl::string_view operation,
                                          ByteRange range);

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_REGION_CONTEXT_H_
