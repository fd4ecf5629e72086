#include "tools/command.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tools/console.h"
#include "tools/format.h"

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
  if (before_error_) before_error_();
  absl::FPrintF(stderr, "mmapio %s: %s\n", command_, UserMessage(status));
  failed_ = true;
}

bool ShowProgress(const CliOptions& options) {
  return options.progress == When::kAlways ||
         (options.progress == When::kAuto && IsTerminal(StandardStream::kErr));
}

Plan PlanFiles(
    const std::vector<std::string>& paths, const CliOptions& options,
    const std::function<uint64_t(const std::string& path,
                                 const CliOptions& options)>& bytes_of) {
  Plan plan;
  WalkPaths(
      paths, options.walk,
      [&](const std::string& path) {
        plan.files.push_back(path);
        plan.bytes += bytes_of(path, options);
      },
      [](const absl::Status&) {});
  return plan;
}

std::string UserMessage(const absl::Status& status) {
  const absl::string_view message = status.message();
  // OPERATION "PATH" [START, END): DETAIL
  const size_t path_start = message.find(" \"");
  if (path_start == absl::string_view::npos ||
      message.substr(0, path_start).find(' ') != absl::string_view::npos) {
    return std::string(message);
  }
  const size_t path_end = message.find("\" [", path_start + 2);
  if (path_end == absl::string_view::npos) return std::string(message);
  const size_t range_end = message.find("): ", path_end);
  if (range_end == absl::string_view::npos) return std::string(message);
  const absl::string_view path =
      message.substr(path_start + 2, path_end - path_start - 2);
  const absl::string_view range =
      message.substr(path_end + 2, range_end + 1 - (path_end + 2));
  absl::string_view detail = message.substr(range_end + 3);
  const std::string where = absl::StrCat(
      "\"", path, "\"", range == "[0, end)" ? "" : absl::StrCat(" ", range));
  // DETAIL may start with the system call that failed: "open: ...",
  // "madvise(MADV_POPULATE_READ): ...".
  const size_t colon = detail.find(": ");
  if (colon != absl::string_view::npos) {
    const absl::string_view call = detail.substr(0, colon);
    const bool is_call =
        !call.empty() && std::all_of(call.begin(), call.end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '_' || c == '(' || c == ')';
        });
    if (is_call && absl::ascii_islower(call[0])) {
      return absl::StrCat(call, " ", where, ": ", detail.substr(colon + 2));
    }
  }
  return absl::StrCat(where, ": ", detail);
}

void SuggestSummary(absl::string_view command, const Report& report,
                    const CliOptions& options) {
  if (options.report.json || options.report.summary) return;
  const int rows = GetTerminalSize().rows;
  if (rows <= 0 || report.lines_printed() <= static_cast<uint64_t>(rows)) {
    return;
  }
  absl::FPrintF(stderr,
                "mmapio %s: %s listed; --summary prints only the total\n",
                command, CountOf(report.records(), report.noun()));
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
