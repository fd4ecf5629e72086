// Why a page of a file mapping could not be provided, and the one Status
// that says so wherever it was met: a SIGBUS in a guarded access, or a
// MADV_POPULATE_READ (Region::Populate, the prefetch backends) that failed.
// Both say only "no page here"; the file and its filesystem say why:
//
//   OutOfRange         the page is past the end of the file: truncated
//                      underneath the mapping
//   ResourceExhausted  the filesystem had no space for the page
//   DataLoss           the device could not read it, or the memory is
//                      poisoned
//
// Every Status carries a FaultInfo payload (mmapio/fault.h) naming the page.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_PAGE_FAILURE_H_
#define MMAPIO_INTERNAL_PAGE_FAILURE_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mmapio/fault_info.h"
#include "mmapio/internal/errors.h"

namespace mmapio::internal {

enum class PageFailureKind { kPoisoned, kTruncated, kNoSpace, kUnreadable };

// What a look at the file found about a failed page.
struct PageFailureFacts {
  bool poisoned = false;          // The fault said: hardware memory error.
  bool past_end_of_file = false;  // The file no longer reaches the page.
  bool reads_now = false;         // Populating the page again succeeded.
  bool no_space = false;          // See NoSpaceForPage in platform.h.
  bool write = false;             // The access that failed was a write.
};

// Pure: the kind of failure the facts show. A page that reads now was
// truncated away and the file has grown back since, unless the access was a
// write (a read of a hole succeeds where a write found no space).
PageFailureKind ClassifyPageFailure(const PageFailureFacts& facts);

// A page that could not be provided.
struct FailedPage {
  int fd = -1;                // The mapped file.
  std::byte* page = nullptr;  // The page's address in the mapping.
  uint64_t page_file_offset = 0;
  FaultInfo fault;  // The byte that failed, for the payload.
  bool poisoned = false;
  bool write = false;
};

// The page of a SIGBUS at `address` (with `si_code`) in a mapping of `fd`
// whose byte `mapped` holds file offset `mapped_offset`.
FailedPage FaultedPage(int fd, const std::byte* mapped, uint64_t mapped_offset,
                       uintptr_t address, int si_code, absl::string_view path,
                       bool write);

// Looks at the file (and tries the page again) to say why `failed` could
// not be provided; the message names `cause` ("SIGBUS",
// "madvise(MADV_POPULATE_READ)") and the file offset. A look reads the
// file's size, tries the page again and reads the size again; there are up
// to three: a file being truncated and restored meanwhile can fool one
// look, not three.
absl::Status PageFailureStatus(const FailedPage& failed,
                               absl::string_view cause,
                               const OpContext& context);

// MADV_POPULATE_READ over [address, address + length), a page-aligned
// range of a mapping of `fd` that starts at `file_offset`. When a page
// cannot be read, finds the first such page and returns PageFailureStatus
// for it; other failures as PopulateError (platform.h). OK when every page
// reads by the time the failure is looked into.
absl::Status PopulateFileMemory(int fd, std::byte* address, size_t length,
                                uint64_t file_offset, const OpContext& context);

// The first page of the page-aligned range [at, end) of a mapping that is
// not resident (mincore; QueryWorkingSetEx on Windows), `end` when every
// page is, or the error when that cannot be told. Asks about 1024 pages at
// a time.
absl::StatusOr<const std::byte*> FirstNonResidentPage(const std::byte* at,
                                                      const std::byte* end,
                                                      const OpContext& context);

// The payload of a fault Status, and back (GetFaultInfo in fault.h).
void AttachFaultInfo(absl::Status& status, const FaultInfo& fault);

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_PAGE_FAILURE_H_
