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

namespace mmapio::cli {
namespace {

// Counters summed over files; an optional one stays known only while every
// file knew it.
struct Totals {
  uint64_t files = 0;
  uint64_t size_bytes = 0;
  uint64_t pages = 0;
  std::optional<uint64_t> resident_pages = 0;
  std::optional<uint64_t> resident_bytes = 0;
  std::optional<uint64_t> dirty_pages = 0;
  std::optional<uint64_t> writeback_pages = 0;
  std::optional<uint64_t> evicted_pages = 0;
  std::optional<uint64_t> recently_evicted_pages = 0;
};

void AddKnown(std::optional<uint64_t>& sum,
              const std::optional<uint64_t>& value) {
  sum = sum.has_value() && value.has_value() ? std::optional(*sum + *value)
                                             : std::nullopt;
}

std::optional<uint64_t> Times(std::optional<uint64_t> pages,
                              uint64_t page_size) {
  if (!pages.has_value()) return std::nullopt;
  return *pages * page_size;
}

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

std::string Cell(const std::optional<uint64_t>& value) {
  return value.has_value() ? absl::StrCat(*value) : "?";
}

void AddCounters(JsonLine& line, uint64_t size_bytes, uint64_t pages,
                 const std::optional<uint64_t>& resident,
                 const std::optional<uint64_t>& resident_bytes) {
  line.Add("size_bytes", size_bytes)
      .Add("pages", pages)
      .Add("resident_pages", resident)
      .Add("resident_bytes", resident_bytes);
}

void AddOptional(JsonLine& line, absl::string_view key,
                 const std::optional<uint64_t>& value) {
  if (value.has_value()) line.Add(key, *value);
}

struct Row {
  std::string size, pages, resident, resident_size, percent, dirty, writeback,
      evicted, recent, name;
};

void PrintRow(const Row& row) {
  PrintF("%10s %10s %10s %10s %6s %8s %8s %9s %9s  %s\n", row.size, row.pages,
         row.resident, row.resident_size, row.percent, row.dirty, row.writeback,
         row.evicted, row.recent, row.name);
}

Row CountersRow(uint64_t size_bytes, uint64_t pages,
                const std::optional<uint64_t>& resident,
                const std::optional<uint64_t>& resident_bytes,
                const std::optional<uint64_t>& dirty,
                const std::optional<uint64_t>& writeback,
                const std::optional<uint64_t>& evicted,
                const std::optional<uint64_t>& recent, bool exact,
                std::string name) {
  return Row{
      FormatBytes(size_bytes, exact),
      absl::StrCat(pages),
      Cell(resident),
      resident_bytes.has_value() ? FormatBytes(*resident_bytes, exact) : "?",
      resident.has_value() ? Percent(*resident, pages) : "?",
      Cell(dirty),
      Cell(writeback),
      Cell(evicted),
      Cell(recent),
      std::move(name)};
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
  --bytes            exact byte counts instead of KiB/MiB/GiB
  --json             one JSON object per file, then {"total": {...}}
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
  mmapio stat /usr/lib/x86_64-linux-gnu
  mmapio stat --json --bytes /var/lib/db/data.bin
  find /srv -name '*.idx' -print0 | mmapio stat --files-from=- -0
)";

int RunStat(const std::vector<std::string>& paths, const CliOptions& options) {
  Totals totals;
  FileLoop loop("stat", options);
  if (!options.json) {
    PrintRow(Row{"SIZE", "PAGES", "RESIDENT", "RES-SIZE", "RES%", "DIRTY",
                 "WBACK", "EVICTED", "RECENT", "PATH"});
  }
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
    const ResidencySummary* summary = &file->summary;
    const ByteRange range = file->range;
    const std::optional<uint64_t> resident =
        unknown.ok() ? std::optional(summary->resident_pages) : std::nullopt;
    const std::optional<uint64_t> resident_bytes =
        Times(resident, file->page_size);
    ++totals.files;
    totals.size_bytes += range.length;
    totals.pages += summary->pages;
    AddKnown(totals.resident_pages, resident);
    AddKnown(totals.resident_bytes, resident_bytes);
    AddKnown(totals.dirty_pages, summary->dirty_pages);
    AddKnown(totals.writeback_pages, summary->writeback_pages);
    AddKnown(totals.evicted_pages, summary->evicted_pages);
    AddKnown(totals.recently_evicted_pages, summary->recently_evicted_pages);
    if (options.json) {
      JsonLine line;
      line.AddPath("path", path);
      AddCounters(line, range.length, summary->pages, resident, resident_bytes);
      AddOptional(line, "dirty_pages", summary->dirty_pages);
      AddOptional(line, "writeback_pages", summary->writeback_pages);
      AddOptional(line, "evicted_pages", summary->evicted_pages);
      AddOptional(line, "recently_evicted_pages",
                  summary->recently_evicted_pages);
      if (unknown.ok()) {
        line.Add("source", ResidencySourceName(summary->source));
      } else {
        line.AddRaw("source", "null");
      }
      PrintF("%s\n", line.Build());
    } else {
      PrintRow(CountersRow(range.length, summary->pages, resident,
                           resident_bytes, summary->dirty_pages,
                           summary->writeback_pages, summary->evicted_pages,
                           summary->recently_evicted_pages, options.exact_bytes,
                           path));
    }
    return unknown;
  });
  if (options.json) {
    JsonLine total;
    total.Add("files", totals.files);
    AddCounters(total, totals.size_bytes, totals.pages, totals.resident_pages,
                totals.resident_bytes);
    AddOptional(total, "dirty_pages", totals.dirty_pages);
    AddOptional(total, "writeback_pages", totals.writeback_pages);
    AddOptional(total, "evicted_pages", totals.evicted_pages);
    AddOptional(total, "recently_evicted_pages", totals.recently_evicted_pages);
    PrintF("%s\n", JsonLine().AddRaw("total", total.Build()).Build());
  } else {
    PrintRow(CountersRow(totals.size_bytes, totals.pages, totals.resident_pages,
                         totals.resident_bytes, totals.dirty_pages,
                         totals.writeback_pages, totals.evicted_pages,
                         totals.recently_evicted_pages, options.exact_bytes,
                         absl::StrFormat("total (%d files)", totals.files)));
  }
  return loop.exit_code();
}

}  // namespace mmapio::cli
