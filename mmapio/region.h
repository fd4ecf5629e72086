// Region: a file mapped into memory, owned together with its descriptor.
//
// Example:
//   absl::StatusOr<mmapio::Region> region =
//       mmapio::Region::Open("/data/index");
//   if (!region.ok()) return region.status();
//   absl::Span<const std::byte> bytes = region->bytes();
//
// Ownership: a Region owns one file descriptor (its own, even when made by
// FromFd) and one mapping, and releases both when destroyed. It is move-only;
// a moved-from Region is empty.
//
// Thread safety: const methods may run concurrently with each other.
// Refresh() and Grow() may move the mapping and so invalidate every span and
// pointer obtained before; they must not run concurrently with any other
// method. The other non-const methods change kernel state only and may run
// concurrently with const methods and with each other.
//
// Faults: bytes() is unguarded. Reading a page that lies past the end of a
// file truncated by someone else, or that the device cannot read, raises
// SIGBUS.
//
// Errors: every method returns a Status whose message names the operation,
// the path and the file range, "Lock \"/data/f\" [0, 8192): ...", with the
// code from the error model:
//   NotFound            no such file
//   PermissionDenied    open refused, read-only filesystem
//   InvalidArgument     a directory, FIFO, socket, device or pseudo-file
//                       (/proc, /sys); a descriptor with the wrong access mode
//   FailedPrecondition  an operation the access mode forbids; a filesystem
//                       that cannot map files
//   OutOfRange          a range past the end of the file or region, or whose
//                       offset + length overflows
//   ResourceExhausted   no space for Grow; over RLIMIT_MEMLOCK; no address
//                       space or descriptors left
//   DataLoss            the device failed (EIO) while syncing
//
// Ranges taken by the operations are relative to the start of the region.

#ifndef MMAPIO_REGION_H_
#define MMAPIO_REGION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "mmapio/byte_range.h"
#include "mmapio/export.h"
#include "mmapio/internal/unique_fd.h"
#include "mmapio/region_options.h"

namespace mmapio {

namespace internal {
struct MappableFile;
struct OpContext;
}  // namespace internal

MMAPIO_BEGIN_EXPORTS

class Region {
 public:
  // Opens `path` and maps `options.range` of it. An empty file, or an empty
  // range, is a valid empty region with no mapping behind it.
  static absl::StatusOr<Region> Open(const std::string& path,
                                     RegionOptions options = {});

  // Maps `options.range` of the file behind `fd`. The region works on its own
  // duplicate of `fd`; the caller keeps `fd` and may close it at once. A
  // read-write region needs `fd` opened O_RDWR.
  static absl::StatusOr<Region> FromFd(int fd, RegionOptions options = {});

  Region(Region&& other) noexcept;
  Region& operator=(Region&& other) noexcept;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region();

  // The path given to Open, or the kernel's name for FromFd's descriptor.
  const std::string& path() const { return path_; }
  AccessMode mode() const { return mode_; }
  // The file offset of the region's first byte.
  uint64_t offset() const { return offset_; }
  // Bytes in the region.
  uint64_t size() const { return size_; }
  // The file's size when the region was opened, refreshed or grown.
  uint64_t file_size() const { return file_size_; }
  // True when the region runs to the end of the file and follows it.
  bool follows_end_of_file() const {
    return requested_length_ == ByteRange::kToEnd;
  }
  size_t page_size() const;
  // Whether the kernel shows this process the page cache of the file
  // (mincore, cachestat): it does for the owner, for CAP_FOWNER and for
  // whoever may write the file. Asked once, then remembered.
  bool PageCacheVisible() const;
  // The region's own descriptor, valid while the region lives. Do not close
  // it.
  int fd() const { return fd_.get(); }

  // The mapped bytes, unguarded (see "Faults" above). Invalidated by
  // Refresh(), Grow() and destruction.
  absl::Span<const std::byte> bytes() const {
    return absl::MakeConstSpan(data(), static_cast<size_t>(size_));
  }
  // The mapped bytes, writable: for read-write regions stores reach the file,
  // for copy-on-write regions they stay private. FailedPrecondition on a
  // read-only region.
  absl::StatusOr<absl::Span<std::byte>> MutableBytes();

  // Re-reads the file size and remaps (with mremap, which may move the
  // mapping) to follow it. A region that follows the end of the file grows
  // or shrinks with it, down to empty; a fixed range stays as it is and
  // returns OutOfRange when the file no longer covers it.
  absl::Status Refresh();

  // Extends the file to `new_file_size` bytes, reserving its blocks first
  // (posix_fallocate) so that a full disk fails here with ResourceExhausted
  // instead of raising SIGBUS on a later store, then refreshes. Read-write
  // regions only (FailedPrecondition otherwise); never shrinks
  // (InvalidArgument).
  absl::Status Grow(uint64_t new_file_size);

  // Advice for the whole region about the access pattern (kNormal,
  // kSequential, kRandom) also applies to reads of the file through its
  // descriptor (GuardedRead), as posix_fadvise: for a region made FromFd,
  // that descriptor shares the caller's open file.
  absl::Status Advise(Advice advice, ByteRange range = ByteRange::All());
  // The last advice given for the whole region (kNormal at first); the
  // prefetch policy honours kRandom by not reading ahead.
  Advice advice() const { return advice_; }

  // Reads the pages of `range` into the page cache and maps them, returning
  // when they are resident (MADV_POPULATE_READ, Linux 5.14+). A page that
  // cannot be read fails the call instead of raising SIGBUS: OutOfRange when
  // it lies past the end of the file (truncated underneath), DataLoss
  // otherwise (EIO, poison). The message names the first such page's file
  // offset, and the Status carries its FaultInfo (mmapio/fault_info.h).
  // Unimplemented on kernels without MADV_POPULATE_READ.
  absl::Status Populate(ByteRange range = ByteRange::All());

  // Locks the pages of `range` in memory. ResourceExhausted naming
  // RLIMIT_MEMLOCK when the process would exceed it. Unmapping (destruction,
  // shrinking) unlocks.
  absl::Status Lock(ByteRange range = ByteRange::All(),
                    LockMode mode = LockMode::kOnFault);
  absl::Status Unlock(ByteRange range = ByteRange::All());

  // Writes modified pages of a read-write region back to the file; a no-op
  // for a read-only region; FailedPrecondition for a copy-on-write region,
  // whose changes never reach the file.
  absl::Status Sync(SyncMode mode, ByteRange range = ByteRange::All());

  // Drops the pages of `range` from the page cache, losing nothing: a
  // read-write region writes them back first, a copy-on-write region keeps
  // its private copies. Best effort: pages that another process maps or
  // locks stay cached, and so does a large folio that straddles an edge of
  // the range. Pages at the edges of a range that is not page-aligned are
  // dropped whole.
  absl::Status Evict(ByteRange range = ByteRange::All());

 private:
  // The page-aligned memory and file bytes that hold a range of the region.
  struct Pages {
    std::byte* address;
    size_t length;
    uint64_t file_offset;
  };

  MMAPIO_HIDDEN Region(internal::UniqueFd fd, std::string path, AccessMode mode,
                       ByteRange range);

  MMAPIO_HIDDEN static absl::StatusOr<Region> Create(
      internal::MappableFile file, std::string path,
      const RegionOptions& options, absl::string_view operation);

  std::byte* data() const { return data_; }
  // The file offset of the mapping: offset_ rounded down to what the OS
  // can map from.
  uint64_t map_offset() const;
  MMAPIO_HIDDEN internal::OpContext Context(absl::string_view operation) const;
  MMAPIO_HIDDEN internal::OpContext Context(absl::string_view operation,
                                            ByteRange range) const;
  absl::StatusOr<Pages> PagesOf(absl::string_view operation,
                                ByteRange range) const;
  // Makes the region cover the file as it is now `file_size` bytes long.
  absl::Status Follow(uint64_t file_size, absl::string_view operation);
  void Reset();

  internal::UniqueFd fd_;
  std::string path_;
  AccessMode mode_ = AccessMode::kReadOnly;
  Advice advice_ = Advice::kNormal;
  uint64_t offset_ = 0;
  uint64_t size_ = 0;
  uint64_t file_size_ = 0;
  // The length asked for: fixed, or kToEnd to follow the file.
  uint64_t requested_length_ = ByteRange::kToEnd;
  std::byte* map_base_ = nullptr;
  size_t map_length_ = 0;
  // map_base_ + (offset_ - map_offset()), or null without a mapping: what
  // bytes() returns, kept ready because guarded loads read it every time.
  std::byte* data_ = nullptr;
  // PageCacheVisible(): -1 not asked yet, else 0 or 1.
  mutable std::atomic<int> page_cache_visible_{-1};
};

// The name of `mode` as written in code: "kReadOnly", ...
absl::string_view AccessModeName(AccessMode mode);
absl::string_view AdviceName(Advice advice);

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_REGION_H_
