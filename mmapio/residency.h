// Page-cache residency of a Region.
//
// Every result is a snapshot: pages may be read in or evicted by anyone the
// moment after it is taken.
//
// Honesty: on kernels since 6.14 mincore(2) reports the page cache only for
// files the caller may write (or owns); for the others it reports just the
// pages this process has mapped. The result says which one it is.
//
// Thread safety: the functions may run concurrently with each other and with
// a Region's const methods.

#ifndef MMAPIO_RESIDENCY_H_
#define MMAPIO_RESIDENCY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "mmapio/byte_range.h"
#include "mmapio/region.h"

namespace mmapio {

struct ResidentPageCount {
  uint64_t pages = 0;           // Pages of the range.
  uint64_t resident_pages = 0;  // Of those, resident at the snapshot.
  // True when the kernel reported only this process's mapped pages, not the
  // whole page cache (see "Honesty" above).
  bool process_local_only = false;
};

// Counts the resident pages of `range` of `region` with mincore(2), in
// bounded windows so that memory stays small for any file size. OutOfRange
// for a range outside the region.
absl::StatusOr<ResidentPageCount> CountResidentPages(
    const Region& region, ByteRange range = ByteRange::All());

}  // namespace mmapio

#endif  // MMAPIO_RESIDENCY_H_
