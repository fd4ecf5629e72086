// ResidentView: bytes of a Region that were resident and mapped when the
// view was handed out, by AsyncEngine (mmapio/async_engine.h).
//
// Example:
//   engine->EnsureResident(region, {offset, 4096},
//       [](absl::StatusOr<mmapio::ResidentView> view) {
//         if (!view.ok()) return;  // Cancelled, DataLoss, OutOfRange...
//         absl::StatusOr<uint64_t> key = view->Load<uint64_t>(0);
//       });
//
// A view is a snapshot of residency, not a pin: the kernel may evict its
// pages later, and someone may truncate the file. Reading through Load,
// CopyTo or Visit is therefore guarded: a page that has since become
// unreadable gives a Status (OutOfRange, DataLoss; see mmapio/guarded.h),
// never SIGBUS. bytes() is the unguarded fast way for callers that own the
// file.
//
// Offsets taken by the methods are relative to the start of the view.
//
// Ownership and thread safety: a view is a small value that refers to the
// Region, which must outlive it; copy it freely and read it from any thread.

#ifndef MMAPIO_RESIDENT_VIEW_H_
#define MMAPIO_RESIDENT_VIEW_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "mmapio/byte_range.h"
#include "mmapio/export.h"
#include "mmapio/guarded.h"
#include "mmapio/region.h"

namespace mmapio {

MMAPIO_BEGIN_EXPORTS

class ResidentView {
 public:
  // `range` must lie inside `region` (as AsyncEngine guarantees).
  ResidentView(const Region& region, ByteRange range)
      : region_(&region), range_(range) {}

  const Region& region() const { return *region_; }
  // Where the view lies in the region.
  ByteRange range() const { return range_; }
  uint64_t size() const { return range_.length; }

  // Unguarded (see above).
  absl::Span<const std::byte> bytes() const {
    return region_->bytes().subspan(range_.offset, range_.length);
  }

  // The T at view byte `offset`; OutOfRange past the view.
  template <typename T>
  absl::StatusOr<T> Load(uint64_t offset) const {
    if (offset > range_.length || sizeof(T) > range_.length - offset) {
      return OutsideView("Load", offset, sizeof(T));
    }
    return GuardedLoad<T>(*region_, range_.offset + offset);
  }

  // Copies view bytes [offset, offset + destination.size()).
  CopyResult CopyTo(uint64_t offset, absl::Span<std::byte> destination) const;

  // Calls `visit` on the whole view in place, under GuardedVisit's rules.
  absl::Status Visit(
      absl::FunctionRef<void(absl::Span<const std::byte>)> visit) const {
    return GuardedVisit(*region_, range_, visit);
  }

 private:
  absl::Status OutsideView(absl::string_view operation, uint64_t offset,
                           uint64_t length) const;

  const Region* region_;
  ByteRange range_;
};

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_RESIDENT_VIEW_H_
