// mmapio map: where in a file the resident pages are.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"
#include "tools/command.h"
#include "tools/console.h"
#include "tools/format.h"
#include "tools/output.h"

namespace mmapio::cli {
namespace {

constexpr int kDefaultWidth = 80;

// The character for a bucket with `resident` of `pages` pages resident.
char BucketChar(uint64_t resident, uint64_t pages) {
  if (resident == 0) return ' ';
  if (resident >= pages) return '#';
  return 2 * resident >= pages ? 'o' : '.';
}

// Splits `range` of `region` into `count` runs of whole pages.
std::vector<ByteRange> Buckets(const Region& region, ByteRange range,
                               uint64_t count) {
  const uint64_t page = region.page_size();
  const PageInterval touched =
      PagesTouched(region.offset() + range.offset, range.length, page);
  const uint64_t first = touched.first;
  const uint64_t pages = touched.count;
  count = std::max<uint64_t>(1, std::min(count, pages));
  std::vector<ByteRange> buckets;
  for (uint64_t i = 0; i < count; ++i) {
    // File offsets of the bucket's pages, clipped to the range.
    const uint64_t start = std::max((first + i * pages / count) * page,
                                    region.offset() + range.offset);
    const uint64_t stop =
        std::min((first + (i + 1) * pages / count) * page,
                 region.offset() + range.offset + range.length);
    buckets.push_back(ByteRange{start - region.offset(), stop - start});
  }
  return buckets;
}

absl::Status PrintRuns(const Region& region, ByteRange range,
                       const CliOptions& options) {
  uint64_t listed_runs = 0;
  uint64_t listed_pages = 0;
  const uint64_t page = region.page_size();
  const bool want_resident = options.resident_runs;
  absl::Status status = ForEachRun(region, range, [&](const PageRun& run) {
    if (run.resident != want_resident) return;
    const PageInterval pages =
        PagesTouched(region.offset() + run.offset, run.length, page);
    ++listed_runs;
    listed_pages += pages.count;
    if (options.report.json) {
      PrintF("%s\n", JsonLine()
                         .AddPath("path", region.path())
                         .Add("offset", run.offset)
                         .Add("length", run.length)
                         .Add("pages", pages.count)
                         .Add("resident", run.resident)
                         .Build());
    } else {
      PrintF("  %s  [%d, %d)  pages %d-%d  %s\n",
             run.resident ? "resident" : "missing ", run.offset,
             run.offset + run.length, pages.first,
             pages.first + pages.count - 1,
             FormatBytes(run.length, options.report.exact_bytes));
    }
  });
  if (!status.ok()) return status;
  if (!options.report.json) {
    PrintF("%s: %d %s runs, %d pages\n", region.path(), listed_runs,
           want_resident ? "resident" : "missing", listed_pages);
  }
  return absl::OkStatus();
}

absl::Status PrintBar(const Region& region, ByteRange range,
                      const CliOptions& options) {
  const int columns = GetTerminalSize().columns;
  const int width = options.width > 0 ? options.width
                    : columns > 0     ? columns
                                      : kDefaultWidth;
  const std::vector<ByteRange> buckets =
      Buckets(region, range, static_cast<uint64_t>(std::max(1, width - 2)));
  std::string bar;
  std::vector<std::string> fractions;
  uint64_t pages = 0;
  uint64_t resident = 0;
  ResidencySource source = ResidencySource::kCachestat;
  for (const ByteRange& bucket : buckets) {
    absl::StatusOr<ResidencySummary> summary =
        SummarizeResidency(region, bucket);
    if (!summary.ok()) return summary.status();
    pages += summary->pages;
    resident += summary->resident_pages;
    source = summary->source;
    bar += BucketChar(summary->resident_pages, summary->pages);
    fractions.push_back(absl::StrFormat(
        "%.3g", summary->pages == 0
                    ? 0.0
                    : static_cast<double>(summary->resident_pages) /
                          static_cast<double>(summary->pages)));
  }
  if (options.report.json) {
    PrintF("%s\n",
           JsonLine()
               .AddPath("path", region.path())
               .Add("offset", range.offset)
               .Add("length", range.length)
               .Add("pages", pages)
               .Add("resident_pages", resident)
               .AddRaw("buckets", "[" + absl::StrJoin(fractions, ",") + "]")
               .Add("source", ResidencySourceName(source))
               .Build());
    return absl::OkStatus();
  }
  PrintF("%s  %s  %d/%d pages resident (%s)\n[%s]\n", region.path(),
         FormatRange(range.offset, range.length), resident, pages,
         Percent(resident, pages), bar);
  return absl::OkStatus();
}

}  // namespace

const char kMapHelp[] =
    R"(usage: mmapio map [OPTIONS] PATH...

Draws where each file's resident pages are: a bar as wide as the terminal,
one bucket per column, "#" all resident, "o" at least half, "." some, " "
none. Buckets are counted with cachestat where the kernel has it (one call a
bucket), with mincore otherwise. With --runs, lists the runs of missing
pages instead (or of resident pages with --resident).

options:
  --range=START-END  only these bytes of each file (4k-50M, 1G-, -8M)
  --runs             list runs of missing pages, with offsets and page numbers
  --resident         with --runs, list resident runs instead
  --width=N          bar width in columns (default: the terminal's, or 80)
  --json             one JSON object per file (or per run with --runs)
  --bytes            exact byte counts
  and the path options of "mmapio stat --help"

examples:
  mmapio map /var/lib/db/data.bin
  mmapio map --range=0-64M --runs /var/lib/db/data.bin
)";

int RunMap(const std::vector<std::string>& paths, const CliOptions& options) {
  FileLoop loop("map", options);
  loop.RunOnRegions(paths,
                    [&](Region& region, ByteRange range) -> absl::Status {
                      return options.runs ? PrintRuns(region, range, options)
                                          : PrintBar(region, range, options);
                    });
  return loop.exit_code();
}

}  // namespace mmapio::cli
