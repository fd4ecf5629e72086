#include "tools/stat_command.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"
#include "tools/format.h"

namespace mmapio::cli {
namespace {

struct Totals {
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t pages = 0;
  uint64_t resident_pages = 0;
  uint64_t page_size = 0;
};

void PrintRow(const std::string& size, const std::string& pages,
              const std::string& resident, const std::string& percent,
              const std::string& name) {
  absl::PrintF("%12s %12s %12s %7s  %s\n", size, pages, resident, percent, name);
}

}  // namespace

const char kStatHelp[] =
    R"(usage: mmapio stat [--bytes] [--no-recurse] PATH...

Prints, for each file, its size, its pages, how many of them are in the page
cache now, and the share resident; then a total line. Directories are walked
recursively without following symbolic links.

A resident count marked "?" could not be read for the whole page cache: the
kernel shows mincore(2) the cache of a file only to callers who could write
it, and reports just this process's own mapped pages otherwise.

  --bytes        exact byte counts instead of KiB/MiB/GiB
  --no-recurse   do not walk into directories

examples:
  mmapio stat /usr/lib/x86_64-linux-gnu
  mmapio stat --bytes /var/lib/db/data.bin
)";

int RunStat(const std::vector<std::string>& paths, const StatOptions& options) {
  Totals totals;
  bool failed = false;
  bool partial_view = false;
  auto report = [&failed](const absl::Status& status) {
    absl::FPrintF(stderr, "mmapio stat: %s\n", status.message());
    failed = true;
  };
  PrintRow("SIZE", "PAGES", "RESIDENT", "RES%", "PATH");
  WalkPaths(
      paths, options.walk,
      [&](const std::string& path) {
        absl::StatusOr<Region> region = Region::Open(path);
        if (!region.ok()) return report(region.status());
        absl::StatusOr<ResidentPageCount> count = CountResidentPages(*region);
        if (!count.ok()) return report(count.status());
        ++totals.files;
        totals.bytes += region->size();
        totals.pages += count->pages;
        totals.resident_pages += count->resident_pages;
        totals.page_size = region->page_size();
        partial_view |= count->process_local_only;
        const std::string resident =
            count->process_local_only ? "?" : absl::StrCat(count->resident_pages);
        PrintRow(FormatBytes(region->size(), options.exact_bytes),
                 absl::StrCat(count->pages), resident,
                 count->process_local_only
                     ? "?"
                     : Percent(count->resident_pages, count->pages),
                 path);
      },
      report);
  PrintRow(FormatBytes(totals.bytes, options.exact_bytes),
           absl::StrCat(totals.pages),
           absl::StrCat(totals.resident_pages, partial_view ? "+?" : ""),
           Percent(totals.resident_pages, totals.pages),
           absl::StrFormat("total (%d files, %s resident)", totals.files,
                           FormatBytes(totals.resident_pages * totals.page_size,
                                       options.exact_bytes)));
  return failed ? 1 : 0;
}

}  // namespace mmapio::cli
