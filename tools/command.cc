#include "tools/command.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace mmapio::cli {

void FileLoop::Run(
    const std::vector<std::string>& paths,
    const std::function<absl::Status(const std::string&)>& on_file) {
  WalkPaths(
      paths, options_.walk,
      [&](const std::string& path) { Report(on_file(path)); },
      [&](const absl::Status& status) { Report(status); });
}

void FileLoop::RunOnRegions(
    const std::vector<std::string>& paths,
    const std::function<absl::Status(Region&, ByteRange)>& on_region) {
  Run(paths, [&](const std::string& path) -> absl::Status {
    absl::StatusOr<Region> region = Region::Open(path);
    if (!region.ok()) return region.status();
    absl::StatusOr<ByteRange> range = RangeIn(*region, options_);
    if (!range.ok()) return range.status();
    return on_region(*region, *range);
  });
}

void FileLoop::Report(const absl::Status& status) {
  if (status.ok()) return;
  absl::FPrintF(stderr, "mmapio %s: %s\n", command_, status.message());
  failed_ = true;
}

absl::StatusOr<ByteRange> RangeIn(const Region& region,
                                  const CliOptions& options) {
  if (!options.range.has_value()) return ByteRange{0, region.size()};
  const ByteRange range = *options.range;
  if (range.offset > region.size()) {
    return absl::OutOfRangeError(absl::StrCat(
        "range \"", region.path(), "\" ",
        FormatRange(range.offset, range.length),
        ": starts past the end of the file (", region.size(), " bytes)"));
  }
  const uint64_t left = region.size() - range.offset;
  return ByteRange{range.offset, std::min(range.length, left)};
}

}  // namespace mmapio::cli
