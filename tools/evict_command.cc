// mmapio evict: drop files from the page cache.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_format.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"
#include "tools/command.h"
#include "tools/format.h"
#include "tools/output.h"
#include "tools/report.h"

namespace mmapio::cli {
namespace {

std::optional<uint64_t> ResidentOf(const Region& region, ByteRange range) {
  absl::StatusOr<ResidencySummary> summary = SummarizeResidency(region, range);
  if (!summary.ok()) return std::nullopt;
  return summary->resident_pages;
}

}  // namespace

const char kEvictHelp[] =
    R"(usage: mmapio evict [OPTIONS] PATH...

Drops the pages of each file from the page cache, writing dirty pages back
first so nothing is lost. Pages that another process maps or locks stay.
Prints, per file, its resident pages before and after and what that
evicted, then a total line. Counts the kernel hides (files you cannot
write) are "?" (null in JSON).

options:
  --range=START-END  only these bytes of each file (4k-50M, 1G-, -8M)
  --summary          print only the total, on one line
  --json             one JSON object per file, then {"total": {...}}; with
                     --summary, one object
  --bytes            exact byte counts
  and the path options of "mmapio stat --help"

JSON fields: path, resident_pages_before, resident_pages_after,
evicted_pages, evicted_bytes.

examples:
  mmapio evict /var/lib/db/data.bin
  mmapio evict --range=1G- --json /srv/index
)";

int RunEvict(const std::vector<std::string>& paths, const CliOptions& options) {
  enum { kPath, kBefore, kAfter, kEvicted, kEvictedSize };
  FileLoop loop("evict", options);
  Report report(
      {
          Column::Path(),
          Column::Number("BEFORE", "resident_pages_before"),
          Column::Number("AFTER", "resident_pages_after"),
          Column::Number("EVICTED", "evicted_pages"),
          Column::Number("EVICTED-SIZE", "evicted_bytes", Unit::kBytes),
      },
      options.report, Print);
  loop.RunOnRegions(
      paths, [&](Region& region, ByteRange range) -> absl::Status {
        const std::optional<uint64_t> before = ResidentOf(region, range);
        if (absl::Status status = region.Evict(range); !status.ok())
          return status;
        const std::optional<uint64_t> after = ResidentOf(region, range);
        std::vector<Value> record(kEvictedSize + 1);
        record[kPath] = region.path();
        record[kBefore] = Known(before);
        record[kAfter] = Known(after);
        // Unknown where the kernel hides the page cache of files the caller
        // cannot write.
        if (before.has_value() && after.has_value()) {
          const uint64_t evicted = *before > *after ? *before - *after : 0;
          record[kEvicted] = evicted;
          record[kEvictedSize] = evicted * region.page_size();
        }
        report.Add(std::move(record));
        return absl::OkStatus();
      });
  report.Finish();
  SuggestSummary("evict", report, options);
  return loop.exit_code();
}

}  // namespace mmapio::cli
