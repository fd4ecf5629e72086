// Page-cache residency of a Region: which of its pages are in memory now.
//
// Example:
//   absl::StatusOr<mmapio::ResidencySummary> summary =
//       mmapio::SummarizeResidency(region);
//   absl::StatusOr<uint64_t> readable = mmapio::ResidentPrefix(region, {0, n});
//
// Snapshots: every result describes the moment it was taken. Pages may be
// read in or evicted by anyone right after.
//
// Sources: a summary comes from cachestat(2) (Linux 6.5+: one call, and it
// knows dirty, writeback and evicted pages), or from mincore(2) where
// cachestat is missing or refused. Per-page answers come from mincore in
// windows of at most 16384 pages, so memory stays bounded for any file size;
// where cachestat can show that a whole window is resident or absent, that
// window costs one cheap call instead of a page-by-page walk.
//
// On Windows there is no page-cache query: per-page answers come from
// QueryWorkingSetEx (source kWorkingSet), which says whether a page is
// mapped in this process's working set, not whether the system file cache
// holds it. A page read by another process, or prefetched by
// PrefetchVirtualMemory (it waits on the standby list), counts as missing
// until this process touches it; a file this process has not mapped reads
// as not resident at all. It is a different number from Linux's, and is
// reported as such.
//
// Honesty: the kernel shows the page cache of a file only to callers who
// could write it (or own it, or hold CAP_FOWNER). For anyone else cachestat
// fails with EPERM (6.14+) and mincore reports every page as resident, a
// number that means nothing. Every function here then fails with
// PermissionDenied, saying so, rather than return such a number.
//
// Ranges are relative to the region; a page is counted when any byte of the
// range lies in it. Errors: OutOfRange for a range outside the region,
// PermissionDenied (above), and the errors of the system calls; each message
// names the operation, the path and the range.
//
// Thread safety: every function may run concurrently with any other and with
// the Region's const methods; not with Refresh() or Grow().

#ifndef MMAPIO_RESIDENCY_H_
#define MMAPIO_RESIDENCY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mmapio/byte_range.h"
#include "mmapio/export.h"
#include "mmapio/region.h"

namespace mmapio {

MMAPIO_BEGIN_EXPORTS

enum class ResidencySource { kCachestat, kMincore, kWorkingSet };

// "cachestat" / "mincore" / "working_set".
absl::string_view ResidencySourceName(ResidencySource source);

struct ResidencySummary {
  uint64_t pages = 0;           // Pages the range touches.
  uint64_t resident_pages = 0;  // Of those, resident.
  // Known from cachestat only.
  std::optional<uint64_t> dirty_pages;
  std::optional<uint64_t> writeback_pages;
  std::optional<uint64_t> evicted_pages;  // Evicted since they were cached.
  std::optional<uint64_t> recently_evicted_pages;  // Evicted under pressure,
                                                   // recently: thrashing.
  // Where the numbers came from: cachestat or mincore on Linux (the page
  // cache), the working set on Windows (see above).
  ResidencySource source = ResidencySource::kMincore;
};

absl::StatusOr<ResidencySummary> SummarizeResidency(
    const Region& region, ByteRange range = ByteRange::All());

// A file's residency, for tools that survey many files.
struct FileResidency {
  uint64_t file_size = 0;
  ByteRange range;         // The range summarized, cut at the end of the file.
  uint64_t page_size = 0;  // The size of the pages that summary counts.
  ResidencySummary summary;
};

// Summarizes `range` of the file at `path` without mapping it where
// cachestat can answer (one open, one cachestat, one close); maps it and asks
// mincore otherwise. A range that ends past the end of the file is cut there;
// one that starts past it is OutOfRange. Errors as Region::Open and
// SummarizeResidency.
absl::StatusOr<FileResidency> SummarizeFile(const std::string& path,
                                            ByteRange range = ByteRange::All());

// A maximal run of pages that are all resident or all missing, as bytes of
// the region clipped to the range that was scanned.
struct PageRun {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool resident = false;

  friend bool operator==(const PageRun&, const PageRun&) = default;
};

// Calls `visit` for each run of `range`, in order, alternating resident and
// missing. Memory use does not depend on the size of the range.
absl::Status ForEachRun(const Region& region, ByteRange range,
                        absl::FunctionRef<void(const PageRun&)> visit);

// How many bytes at the start of `range` are resident: what a consumer can
// read now without a major fault.
absl::StatusOr<uint64_t> ResidentPrefix(const Region& region, ByteRange range);

// An exact per-page snapshot of a range, one bit per page.
class ResidencyMap {
 public:
  static absl::StatusOr<ResidencyMap> Capture(
      const Region& region, ByteRange range = ByteRange::All());

  // The range captured, with ByteRange::kToEnd resolved.
  ByteRange range() const { return range_; }
  uint64_t page_size() const { return page_size_; }
  uint64_t page_count() const { return page_count_; }
  uint64_t resident_pages() const { return resident_pages_; }

  // Page `index` counts from the page holding the first byte of range().
  bool IsResident(uint64_t index) const {
    return (bits_[index / 64] >> (index % 64)) & 1;
  }
  // The runs of the captured range, as ForEachRun would give them.
  std::vector<PageRun> Runs() const;
  // Bytes at the start of range() that were resident.
  uint64_t ResidentPrefix() const;

 private:
  ResidencyMap() = default;

  ByteRange range_;
  uint64_t page_size_ = 0;
  int64_t first_page_start_ = 0;  // Region offset of page 0; may be < 0.
  uint64_t page_count_ = 0;
  uint64_t resident_pages_ = 0;
  std::vector<uint64_t> bits_;
};

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_RESIDENCY_H_
