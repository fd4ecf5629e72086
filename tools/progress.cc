#include "tools/progress.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tools/console.h"
#include "tools/format.h"

namespace mmapio::cli {
namespace {

constexpr absl::Duration kRedrawEvery = absl::Milliseconds(100);

// "0:07", "12:34", "1:02:03".
std::string Clock(absl::Duration duration) {
  const int64_t seconds = absl::ToInt64Seconds(duration);
  if (seconds >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60,
                           seconds % 60);
  }
  return absl::StrFormat("%d:%02d", seconds / 60, seconds % 60);
}

}  // namespace

std::string ProgressLine(uint64_t done, uint64_t total, absl::Duration elapsed,
                         uint64_t file, uint64_t files, absl::string_view path,
                         int columns) {
  // What was expected can be exceeded (a file grew): never over 100%.
  total = std::max(total, done);
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string line = absl::StrCat(HumanBytes(done), " / ", HumanBytes(total));
  if (total > 0) {
    absl::StrAppend(&line, "  ", done * 100 / total, "%");
  }
  // A rate needs some time behind it to mean anything.
  if (seconds >= 0.5 && done > 0) {
    absl::StrAppend(
        &line, "  ", HumanBytes(static_cast<uint64_t>(rate)), "/s  ETA ",
        Clock(absl::Seconds(static_cast<double>(total - done) / rate)));
  }
  absl::StrAppend(&line, "  [", file, "/", files, "] ");
  std::string shown(path);
  if (columns > 0) {
    const size_t room = static_cast<size_t>(columns) - 1;  // Cursor column.
    if (line.size() >= room) return line.substr(0, room);
    if (line.size() + shown.size() > room) {
      const size_t keep = room - line.size();
      shown = keep > 3
                  ? absl::StrCat("...", shown.substr(shown.size() - (keep - 3)))
                  : "";
    }
  }
  return line + shown;
}

Progress::Progress(bool enabled, uint64_t total_bytes, uint64_t files)
    : enabled_(enabled),
      total_bytes_(total_bytes),
      files_(files),
      start_(absl::Now()) {}

void Progress::StartFile(absl::string_view path) {
  ++file_;
  path_ = std::string(path);
  done_before_file_ += file_done_;
  SetFileDone(0);
}

void Progress::SetFileDone(uint64_t bytes) {
  file_done_ = bytes;
  if (!enabled_) return;
  const absl::Time now = absl::Now();
  if (now - last_draw_ >= kRedrawEvery) Draw(now);
}

void Progress::Erase() {
  if (!drawn_) return;
  absl::FPrintF(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

void Progress::Draw(absl::Time now) {
  last_draw_ = now;
  drawn_ = true;
  absl::FPrintF(stderr, "\r%s\033[K",
                ProgressLine(done_before_file_ + file_done_, total_bytes_,
                             now - start_, file_, files_, path_,
                             GetTerminalSize(StandardStream::kErr).columns));
  std::fflush(stderr);
}

}  // namespace mmapio::cli
