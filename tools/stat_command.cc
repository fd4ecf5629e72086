// mmapio stat: size and page-cache residency per file, and a total.

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"
#include "tools/command.h"
#include "tools/format.h"
#include "tools/output.h"
#include "tools/report.h"

namespace mmapio::cli {
namespace {

// A summary whose counts are all unknown, for a file the kernel would not
// describe.
absl::StatusOr<FileResidency> UnknownResidency(const std::string& path,
                                               const CliOptions& options) {
  absl::StatusOr<Region> region = Region::Open(path);
  if (!region.ok()) return region.status();
  absl::StatusOr<ByteRange> range = RangeIn(*region, options);
  if (!range.ok()) return range.status();
  FileResidency file;
  file.file_size = region->size();
  file.range = *range;
  file.page_size = region->page_size();
  file.summary.pages =
      PagesTouched(range->offset, range->length, region->page_size()).count;
  return file;
}

enum StatColumn {
  kPath,
  kSize,
  kPages,
  kResident,
  kResidentSize,
  kResidentShare,
  kDirty,
  kWriteback,
  kEvicted,
  kRecent,
  kSource,
};

std::vector<Column> StatColumns() {
  return {
      Column::Path(),
      Column::Number("SIZE", "size_bytes", Unit::kBytes),
      Column::Number("PAGES", "pages"),
      Column::Number("RESIDENT", "resident_pages"),
      Column::Number("RES-SIZE", "resident_bytes", Unit::kBytes),
      Column::Share("RES%", kResident, kPages),
      Column::Number("DIRTY", "dirty_pages").OmitUnknown(),
      Column::Number("WBACK", "writeback_pages").OmitUnknown(),
      Column::Number("EVICTED", "evicted_pages").OmitUnknown(),
      Column::Number("RECENT", "recently_evicted_pages").OmitUnknown(),
      Column::Text("source"),
  };
}

}  // namespace

const char kStatHelp[] =
    R"(usage: mmapio stat [OPTIONS] PATH...

Prints, for each file, its size, its pages, how many of them are in the page
cache now (count and share), and, where the kernel tells (cachestat, Linux
6.5+), its dirty, evicted and recently evicted pages; then a total line.
Directories are walked recursively; symbolic links inside them are not
followed; a file with several hard links is counted once.

A count shown as "?" (null in JSON) is one the kernel would not give: it
shows a file's page cache only to callers who could write the file (for
others, cachestat refuses and mincore claims every page is resident, the
number vmtouch and fincore print). Such a file is still listed, its error
goes to stderr, and the exit status is 1.

options:
  --summary          print only the total, on one line ("N files: ...")
  --bytes            exact byte counts instead of KiB/MiB/GiB
  --json             one JSON object per file, then {"total": {...}}; with
                     --summary, one object: {"files": N, ...}
  --range=START-END  only these bytes of each file (4k-50M, 1G-, -8M)
  --no-recurse       do not walk into directories
  --follow           follow symbolic links inside directories
  --include=GLOB,..  only files whose name or path matches a glob
  --exclude=GLOB,..  skip files and directories that match a glob
  --max-size=SIZE    skip files larger than SIZE
  --files-from=FILE  also take paths from FILE, one per line ("-": stdin)
  -0                 paths in --files-from are separated by NUL bytes

JSON fields: path, size_bytes, pages, resident_pages, resident_bytes,
dirty_pages, writeback_pages, evicted_pages, recently_evicted_pages (when
known), source ("cachestat" or "mincore"; null when unknown).

examples:
  mmapio stat --summary /usr/lib/x86_64-linux-gnu
  mmapio stat --json --bytes /var/lib/db/data.bin
  find /srv -name '*.idx' -print0 | mmapio stat --files-from=- -0
)";

int RunStat(const std::vector<std::string>& paths, const CliOptions& options) {
  FileLoop loop("stat", options);
  Report report(StatColumns(), options.report, Print);
  loop.Run(paths, [&](const std::string& path) -> absl::Status {
    // One open and one cachestat per file, no mapping: surveys of many
    // small files are dominated by system calls.
    absl::StatusOr<FileResidency> file =
        SummarizeFile(path, options.range.value_or(ByteRange::All()));
    absl::Status unknown = absl::OkStatus();
    if (!file.ok()) {
      if (file.status().code() != absl::StatusCode::kPermissionDenied) {
        return file.status();
      }
      // Unknown residency is still a line, with every count unknown.
      unknown = file.status();
      file = UnknownResidency(path, options);
      if (!file.ok()) return file.status();
    }
    const ResidencySummary& summary = file->summary;
    std::vector<Value> record(kSource + 1);
    record[kPath] = path;
    record[kSize] = file->range.length;
    record[kPages] = summary.pages;
    if (unknown.ok()) {
      record[kResident] = summary.resident_pages;
      record[kResidentSize] = summary.resident_pages * file->page_size;
      record[kSource] = std::string(ResidencySourceName(summary.source));
    }
    record[kDirty] = Known(summary.dirty_pages);
    record[kWriteback] = Known(summary.writeback_pages);
    record[kEvicted] = Known(summary.evicted_pages);
    record[kRecent] = Known(summary.recently_evicted_pages);
    report.Add(std::move(record));
    return unknown;
  });
  report.Finish();
  SuggestSummary("stat", report, options);
  return loop.exit_code();
}

}  // namespace mmapio::cli
