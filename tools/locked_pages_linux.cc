#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/format.h"
#include "tools/locked_pages.h"

namespace mmapio::cli {

// A mapping of its own with no descriptor behind it: a Region keeps its file
// open while it lives, so keeping Regions would bound the files locked at
// once by RLIMIT_NOFILE.
struct LockedPages::Hold {
  void* base = nullptr;
  size_t length = 0;

  ~Hold() {
    if (base != nullptr) munmap(base, length);
  }
};

LockedPages::LockedPages(std::unique_ptr<Hold> hold) : hold_(std::move(hold)) {}
LockedPages::LockedPages(LockedPages&&) noexcept = default;
LockedPages::~LockedPages() = default;

absl::StatusOr<LockedPages> LockedPages::Lock(Region& region, ByteRange range) {
  // Through the Region first, so that a failure is named as mmapio names it;
  // then the lock moves to the mapping of its own.
  if (absl::Status status = region.Lock(range, LockMode::kPopulate);
      !status.ok()) {
    return status;
  }
  auto hold = std::make_unique<Hold>();
  if (range.length == 0) return LockedPages(std::move(hold));
  const uint64_t page = region.page_size();
  const uint64_t first = (region.offset() + range.offset) / page * page;
  const uint64_t end =
      (region.offset() + range.offset + range.length + page - 1) / page * page;
  const size_t length = end - first;
  void* base = mmap(nullptr, length, PROT_READ, MAP_SHARED, region.fd(),
                    static_cast<off_t>(first));
  int err = errno;
  // The Region's lock goes before the new mapping takes its own, so that the
  // pages are counted once against RLIMIT_MEMLOCK.
  (void)region.Unlock(range);
  if (base != MAP_FAILED) {
    hold->base = base;  // Unmapped by `hold` if the lock fails.
    hold->length = length;
    // The raw system call: sanitizer runtimes make mlock(3) a no-op.
    if (syscall(SYS_mlock, base, length) == 0) {
      return LockedPages(std::move(hold));
    }
    err = errno;
  }
  return absl::ErrnoToStatus(
      err, absl::StrCat("Lock \"", region.path(), "\" ",
                        FormatRange(range.offset, range.length),
                        ": mapping the locked pages again"));
}

}  // namespace mmapio::cli
