// Pages of a file held in memory by a lock until the holder is destroyed.
// One implementation per OS (locked_pages_linux.cc, locked_pages_windows.cc).

#ifndef MMAPIO_TOOLS_LOCKED_PAGES_H_
#define MMAPIO_TOOLS_LOCKED_PAGES_H_

#include <memory>

#include "absl/status/statusor.h"
#include "mmapio/byte_range.h"
#include "mmapio/region.h"

namespace mmapio::cli {

class LockedPages {
 public:
  // Reads `range` of `region` into memory and locks it there. Errors are
  // Region::Lock's (over the lock limit, a page that cannot be read), named
  // as mmapio names them. `region` may be moved from: the lock may need it.
  static absl::StatusOr<LockedPages> Lock(Region& region, ByteRange range);

  LockedPages(LockedPages&&) noexcept;
  LockedPages& operator=(LockedPages&&) = delete;
  // Unlocks.
  ~LockedPages();

 private:
  struct Hold;  // What keeps the lock, per OS.
  explicit LockedPages(std::unique_ptr<Hold> hold);

  std::unique_ptr<Hold> hold_;
};

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_LOCKED_PAGES_H_
