#include "mmapio/resident_view.h"

#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/region_context.h"

namespace mmapio {

CopyResult ResidentView::CopyTo(uint64_t offset,
                                absl::Span<std::byte> destination) const {
  if (offset > range_.length || destination.size() > range_.length - offset) {
    return CopyResult{OutsideView("CopyTo", offset, destination.size()), 0};
  }
  return GuardedCopy(*region_, range_.offset + offset, destination);
}

absl::Status ResidentView::OutsideView(absl::string_view operation,
                                       uint64_t offset, uint64_t length) const {
  return internal::MakeError(
      absl::StatusCode::kOutOfRange,
      internal::RegionContext(*region_, operation, range_.offset + offset,
                              length),
      absl::StrCat("past the end of a view of ", range_.length, " bytes"));
}

}  // namespace mmapio
