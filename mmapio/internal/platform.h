// The system calls under Region, one implementation per OS
// (platform_linux.cc). Every failure becomes a Status here, once, with the
// errno text and the operation, path and range of `context`.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_PLATFORM_H_
#define MMAPIO_INTERNAL_PLATFORM_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/unique_fd.h"
#include "mmapio/region_options.h"

namespace mmapio::internal {

size_t PageSize();
// The alignment of a mapping's file offset: the page size on Linux, the
// allocation granularity (64 KiB) on Windows.
size_t MapGranularity();

// A descriptor of a regular file on a filesystem with real file sizes, and
// that size when it was checked.
struct MappableFile {
  UniqueFd fd;
  uint64_t size = 0;
};

// Opens a file that may back a region in `mode`, without blocking on a FIFO:
// the result is a regular file on a filesystem with real file sizes, or an
// error that says what it is instead.
absl::StatusOr<MappableFile> OpenMappable(const std::string& path,
                                          AccessMode mode,
                                          const OpContext& context);

// Duplicates a caller's descriptor after checking that its access mode and
// file type can back a region in `mode`.
absl::StatusOr<MappableFile> AdoptMappable(int fd, AccessMode mode,
                                           const OpContext& context);

// The path the kernel knows for `fd`, or "fd N" when it has none.
std::string PathOfFd(int fd);

absl::StatusOr<uint64_t> FileSize(int fd, const OpContext& context);

// Maps `length` bytes of `fd` from the page-aligned `offset`.
absl::StatusOr<std::byte*> MapFile(int fd, uint64_t offset, size_t length,
                                   AccessMode mode, const OpContext& context);
// The mapping at `base` of `old_length` bytes of `fd` from `offset`, made
// `new_length` long; it may move, and `base` is gone once this succeeds.
absl::StatusOr<std::byte*> Remap(int fd, uint64_t offset, std::byte* base,
                                 size_t old_length, size_t new_length,
                                 AccessMode mode, const OpContext& context);
void Unmap(std::byte* base, size_t length);

// `address` and `length` are page-aligned in all of these.
absl::Status AdviseMemory(std::byte* address, size_t length, Advice advice,
                          const OpContext& context);
// Gives reads of `fd` the access pattern of kNormal, kSequential or kRandom
// (posix_fadvise; nothing on Windows, which takes it only when a file is
// opened). A hint: no error is reported.
void AdviseFileReads(int fd, Advice advice);

// A page-aligned range of a mapping.
struct MemoryRange {
  std::byte* address;
  size_t length;
};

// Starts reading every range in (kWillNeed) at once: one madvise per range
// on Linux, one PrefetchVirtualMemory for all of them on Windows. A hint: no
// error is reported.
void WillNeed(const MemoryRange* ranges, size_t count);

// What the OS calls the fault of a page a file cannot provide, for
// messages: "SIGBUS", "an in-page error".
const char* PageFaultName();

// Faults the range in for reading (MADV_POPULATE_READ) and returns 0 once
// it is resident and mapped, or the errno it failed with: EFAULT for a page
// that could not be read (never SIGBUS), EHWPOISON for a poisoned one,
// EINVAL on a kernel without the advice. PopulateFileMemory
// (page_failure.h) says which page and why.
int PopulateRead(std::byte* address, size_t length);
// Whether this kernel has MADV_POPULATE_READ (Linux 5.14+).
bool HasPopulateRead();
// Whether PopulateRead's `err` blames a page (which PopulateFileMemory then
// looks for), and the fault code (FaultInfo::si_code) a touch of that page
// would have raised.
bool PopulateFailedOnPage(int err);
int FaultCodeOfPopulateError(int err);
// Whether a fault with `fault_code` (FaultInfo::si_code) was a hardware
// memory error.
bool IsPoisonFault(int fault_code);
// The Status for `err` (an errno value) from MADV_POPULATE_READ, however it
// was issued (madvise(2) or io_uring), when no page is to blame.
absl::Status PopulateError(int err, const OpContext& context);
// The readahead window of the device behind `fd`, or 0 when unknown.
uint64_t ReadaheadBytes(int fd);
absl::Status LockMemory(std::byte* address, size_t length, LockMode mode,
                        const OpContext& context);
absl::Status UnlockMemory(std::byte* address, size_t length,
                          const OpContext& context);
// Writes the range of a shared writable mapping of `fd` back to the file;
// kSync waits until the device has it.
absl::Status SyncMemory(int fd, std::byte* address, size_t length,
                        SyncMode mode, const OpContext& context);
// Drops this process's page table entries without losing data: writable
// shared ranges are written back first; private ranges keep their private
// copies (MADV_PAGEOUT).
absl::Status ReleaseMemory(std::byte* address, size_t length, AccessMode mode,
                           const OpContext& context);
// Writes back the file's dirty cached pages in the range, then asks the
// kernel to drop those no process maps.
absl::Status DropFileCache(int fd, uint64_t offset, uint64_t length,
                           const OpContext& context);
// Extends the file to `new_size`, reserving blocks so a full disk fails here.
absl::Status Allocate(int fd, uint64_t old_size, uint64_t new_size,
                      const OpContext& context);
// Page-cache counters of a file range, from cachestat(2) (Linux 6.5+).
struct CacheCounters {
  uint64_t cached = 0;
  uint64_t dirty = 0;
  uint64_t writeback = 0;
  uint64_t evicted = 0;
  uint64_t recently_evicted = 0;
};

// cachestat(2) over [offset, offset + length) of `fd` (pages touched by the
// range). Unimplemented where the kernel has no cachestat; PermissionDenied
// where it refuses this caller (6.14+ asks for write permission).
absl::StatusOr<CacheCounters> CacheStat(int fd, uint64_t offset,
                                        uint64_t length,
                                        const OpContext& context);

// Whether a fault on a page of `fd` can have failed for lack of space: the
// filesystem has no blocks left, and the access was a write or the
// filesystem allocates pages on reading holes (tmpfs, hugetlbfs).
bool NoSpaceForPage(int fd, bool write);

// Whether mincore(2) on a mapping of `fd` reports the page cache, or only
// this process's mapped pages: the kernel shows the cache to the file's owner,
// to CAP_FOWNER and to whoever could open the file for writing.
bool MincoreSeesPageCache(int fd);
// Major faults (page faults that waited for I/O) of the calling thread so
// far; 0 where the OS does not count them.
uint64_t ThreadMajorFaults();

// Whether QueryResidency reports this process's working set (Windows)
// rather than the page cache (mincore, Linux).
bool ResidencyIsWorkingSet();
// A positioned read of a file: what ReadFileAt read, and why it stopped
// short.
struct FileRead {
  // OK when the read stopped only at the end of the file.
  absl::Status status;
  size_t bytes_read = 0;
  // The device could not provide the data (EIO; on Windows, a device
  // error or a device not ready, which is how Wine reports EIO).
  bool device_failed = false;
};

// Reads destination.size() bytes of `fd` from file offset `offset`, in as
// many positioned reads (pread, ReadFile) as it takes; fewer at the end of
// the file or before an error. Does not move the file position.
FileRead ReadFileAt(int fd, uint64_t offset, absl::Span<std::byte> destination,
                    const OpContext& context);

// The name of that read in messages: "pread", "ReadFile".
const char* FileReadName();

// One byte per page of [address, address + length): bit 0 set when resident.
absl::Status QueryResidency(const std::byte* address, size_t length,
                            unsigned char* pages, const OpContext& context);

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_PLATFORM_H_
