#include <utility>

#include "tools/locked_pages.h"

namespace mmapio::cli {

// The Region itself: a view's lock lives as long as the view. It keeps its
// file open, which bounds the files locked at once by the C runtime's
// descriptors rather than by a limit the operator sets.
struct LockedPages::Hold {
  Region region;
};

LockedPages::LockedPages(std::unique_ptr<Hold> hold) : hold_(std::move(hold)) {}
LockedPages::LockedPages(LockedPages&&) noexcept = default;
LockedPages::~LockedPages() = default;

absl::StatusOr<LockedPages> LockedPages::Lock(Region& region, ByteRange range) {
  if (absl::Status status = region.Lock(range, LockMode::kPopulate);
      !status.ok()) {
    return status;
  }
  return LockedPages(std::make_unique<Hold>(Hold{std::move(region)}));
}

}  // namespace mmapio::cli
