// How a Region maps its file, and the vocabulary of its operations.
// Plain values; copy them freely, from any thread.

#ifndef MMAPIO_REGION_OPTIONS_H_
#define MMAPIO_REGION_OPTIONS_H_

#include <cstdint>

#include "mmapio/byte_range.h"
#include "mmapio/export.h"

namespace mmapio {

MMAPIO_BEGIN_EXPORTS

enum class AccessMode {
  // PROT_READ, MAP_SHARED; the file is opened read-only.
  kReadOnly,
  // PROT_READ | PROT_WRITE, MAP_SHARED: stores reach the file.
  kReadWrite,
  // PROT_READ | PROT_WRITE, MAP_PRIVATE: stores stay in this process. The file
  // is opened read-only and never changes.
  kCopyOnWrite,
};

// Region::Advise hints, each one madvise(2) advice.
enum class Advice {
  kNormal,      // MADV_NORMAL
  kSequential,  // MADV_SEQUENTIAL: aggressive readahead, early reclaim.
  kRandom,      // MADV_RANDOM: no readahead.
  kWillNeed,    // MADV_WILLNEED: start readahead now; returns before it ends.
  kDontNeed,    // MADV_DONTNEED: unmap; on kCopyOnWrite, drops private changes.
  kHugePage,    // MADV_HUGEPAGE: back the range with transparent huge pages.
};

enum class LockMode {
  // mlock2(MLOCK_ONFAULT): pages are locked as they are touched; nothing is
  // read now. Falls back to kPopulate on kernels without it (< 4.4).
  kOnFault,
  // mlock(2): reads every page of the range now and locks it.
  kPopulate,
};

enum class SyncMode {
  kAsync,  // msync(MS_ASYNC): schedule write-back and return.
  kSync,   // msync(MS_SYNC): return when the range is on the device.
};

struct RegionOptions {
  AccessMode mode = AccessMode::kReadOnly;
  // The file bytes to map. With ByteRange::kToEnd as length the region
  // follows the end of the file across Refresh() and Grow(); with a fixed
  // length it stays [offset, offset + length). The offset need not be
  // page-aligned.
  ByteRange range = ByteRange::All();
};

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_REGION_OPTIONS_H_
