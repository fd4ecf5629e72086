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

options:
  --range=START-END  only these bytes of each file (4k-50M, 1G-, -8M)
  --json             one JSON object per file
  --bytes            exact byte counts
  and the path options of "mmapio stat --help"

examples:
  mmapio evict /var/lib/db/data.bin
  mmapio evict --range=1G- --json /srv/index
)";

int RunEvict(const std::vector<std::string>& paths, const CliOptions& options) {
  FileLoop loop("evict", options);
  loop.RunOnRegions(
      paths, [&](Region& region, ByteRange range) -> absl::Status {
        const std::optional<uint64_t> before = ResidentOf(region, range);
        if (absl::Status status = region.Evict(range); !status.ok())
          return status;
        const std::optional<uint64_t> after = ResidentOf(region, range);
        std::optional<uint64_t> evicted;
        if (before.has_value() && after.has_value()) {
          evicted = *before > *after ? *before - *after : 0;
        }
        if (options.json) {
          PrintF("%s\n", JsonLine()
                             .AddPath("path", region.path())
                             .Add("resident_pages_before", before)
                             .Add("resident_pages_after", after)
                             .Add("evicted_pages", evicted)
                             .Build());
        } else if (evicted.has_value()) {
          PrintF(
              "%s: evicted %d pages (%s); %d pages still resident\n",
              region.path(), *evicted,
              FormatBytes(*evicted * region.page_size(), options.exact_bytes),
              *after);
        } else {
          PrintF(
              "%s: evicted (counts unknown: the kernel hides the page "
              "cache of files you cannot write)\n",
              region.path());
        }
        return absl::OkStatus();
      });
  return loop.exit_code();
}

}  // namespace mmapio::cli
