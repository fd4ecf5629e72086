// Guarded access to a Region: reads and writes that return a Status instead
// of killing the process when a page cannot be provided.
//
// Example:
//   std::array<std::byte, 4096> page;
//   mmapio::CopyResult copied =
//       mmapio::GuardedCopy(region, offset, absl::MakeSpan(page));
//   if (!copied.status.ok()) { /* copied.bytes_copied, GetFaultInfo(...) */ }
//   absl::StatusOr<uint64_t> key = mmapio::GuardedLoad<uint64_t>(region, 64);
//
// Fault codes, each with a FaultInfo payload (mmapio/fault.h):
//   OutOfRange          the page lies past the end of the file (truncated)
//   DataLoss            the device could not read it (EIO), or the memory is
//                       poisoned (BUS_MCEERR_*)
//   ResourceExhausted   a write found no space behind the page (ENOSPC)
// and, before any access, OutOfRange for a range outside the region and
// FailedPrecondition when the fault handler cannot be installed or a write
// targets a read-only region. Messages name the operation, the path and the
// file range.
//
// Cost: no system call and no setjmp on a path that does not fault; a fault
// in GuardedCopy, GuardedLoad or GuardedWrite is caught by looking up the
// faulting instruction in a table, as the kernel's own exception tables do.
//
// Thread safety: as the Region's const methods (GuardedWrite as its
// non-const kernel-state methods); any number of threads may fault at once.

#ifndef MMAPIO_GUARDED_H_
#define MMAPIO_GUARDED_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "mmapio/byte_range.h"
#include "mmapio/export.h"
#include "mmapio/internal/fast_load.h"
#include "mmapio/region.h"

namespace mmapio {

MMAPIO_BEGIN_EXPORTS

struct CopyResult {
  absl::Status status;
  // Bytes copied before the fault; all of them when status is OK.
  size_t bytes_copied = 0;
};

// Copies region bytes [offset, offset + destination.size()) into
// `destination`.
CopyResult GuardedCopy(const Region& region, uint64_t offset,
                       absl::Span<std::byte> destination);

// What a caller knows of a range's pages, which spares GuardedRead its
// residency check.
enum class ExpectedResidency {
  kUnknown,   // Check (one mincore, or QueryWorkingSetEx on Windows).
  kMissing,   // Read the file: right for pages this process has not read.
  kResident,  // Copy from the mapping: a page that is not resident faults.
};

// Copies region bytes [offset, offset + destination.size()) into
// `destination`: as GuardedCopy does when all their pages are resident, and
// otherwise with positioned reads of the file (pread, ReadFile), which read
// the missing pages as one request and map nothing. Through the mapping a
// cold page costs a fault that waits for its own read, one page at a time
// under Advice::kRandom, and mapping a page costs page-table work a read
// does not do; a copy from pages already mapped costs no system call at
// all. bench/RESULTS.md (RocksDB) has the measurements.
//
// The same errors, with the same FaultInfo payload, as GuardedCopy: a page
// the read could not provide is OutOfRange (the file now ends before it),
// DataLoss (the device failed) or ResourceExhausted, named by the failing
// call ("pread at file offset N: ..."); FaultInfo::si_code is 0 when a read,
// not a fault, met the page.
CopyResult GuardedRead(
    const Region& region, uint64_t offset, absl::Span<std::byte> destination,
    ExpectedResidency expected = ExpectedResidency::kUnknown);

// Copies `source` into the region at `offset`: stores reach the file for a
// kReadWrite region and stay private for kCopyOnWrite. A write into a hole
// with no space left fails with ResourceExhausted.
CopyResult GuardedWrite(Region& region, uint64_t offset,
                        absl::Span<const std::byte> source);

// Calls `visit` with region bytes `range` in place, without copying. A fault
// inside `visit` on those bytes abandons it by a non-local jump and returns
// the fault's Status. Because `visit` may be abandoned at any instruction, it
// must not take locks, allocate, or hold anything whose destructor must run
// (no std::string, no std::vector that grows, no RAII), and must not throw;
// it may read the bytes, compute, and write to memory the caller owns.
// Faults on other addresses are not caught.
absl::Status GuardedVisit(
    const Region& region, ByteRange range,
    absl::FunctionRef<void(absl::Span<const std::byte>)> visit);

// Loads the out.size() bytes at region byte `offset` into `out`, all or
// none: the untyped form of GuardedLoad, whose errors it gives.
absl::Status GuardedLoadBytes(const Region& region, uint64_t offset,
                              absl::Span<std::byte> out);

// Loads the T stored at region byte `offset`. T must be trivially copyable;
// the offset need not be aligned.
template <typename T>
absl::StatusOr<T> GuardedLoad(const Region& region, uint64_t offset) {
  static_assert(std::is_trivially_copyable_v<T>,
                "GuardedLoad copies bytes into a T");
  // The common case inline: in range, handler in place, no fault. Anything
  // else, including a fault, takes the slow path, which loads again and
  // explains.
  if constexpr (internal::kHasFastLoad<sizeof(T)>) {
    if (offset <= region.size() && sizeof(T) <= region.size() - offset &&
        internal::FaultHandlerReady()) {
      const internal::LoadResult loaded =
          internal::FastLoad<sizeof(T)>(region.bytes().data() + offset);
      if (loaded.faulted == 0) {
        T value;
        std::memcpy(&value, &loaded.value, sizeof(T));
        return value;
      }
    }
  }
  T value;
  absl::Status status = GuardedLoadBytes(
      region, offset,
      absl::MakeSpan(reinterpret_cast<std::byte*>(&value), sizeof(T)));
  if (!status.ok()) return status;
  return value;
}

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_GUARDED_H_
