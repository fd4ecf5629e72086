// What a Status made from a page fault carries: the page's file, offset and
// address, for callers that act on the fault itself (skip the page, report
// the sector, retire the file) rather than on the message.
//
// Guarded reads and writes (mmapio/guarded.h), Region::Populate and the
// prefetch engines attach it to OutOfRange, ResourceExhausted and DataLoss
// statuses for a page that could not be provided.

#ifndef MMAPIO_FAULT_INFO_H_
#define MMAPIO_FAULT_INFO_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "mmapio/export.h"

namespace mmapio {

MMAPIO_BEGIN_EXPORTS

struct FaultInfo {
  uint64_t file_offset = 0;  // Of the byte whose page faulted.
  uintptr_t address = 0;     // The faulting address (si_addr).
  int si_code = 0;           // BUS_ADRERR, BUS_MCEERR_AR, ...
  std::string path;          // Of the mapped file.

  friend bool operator==(const FaultInfo&, const FaultInfo&) = default;
};

// The fault behind `status`, or nullopt when it did not come from one.
std::optional<FaultInfo> GetFaultInfo(const absl::Status& status);

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_FAULT_INFO_H_
