#include "tools/command.h"

#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

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

int TerminalWidth() {
  winsize size{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 &&
      size.ws_col > 0) {
    return size.ws_col;
  }
  return 0;
}

namespace {

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  return signals;
}

}  // namespace

void BlockStopSignals() {
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

bool WaitForStopSignal(absl::Duration timeout) {
  const sigset_t signals = StopSignals();
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    const timespec wait = absl::ToTimespec(left);
    if (sigtimedwait(&signals, nullptr,
                     left == absl::InfiniteDuration() ? nullptr : &wait) > 0) {
      return true;
    }
    if (errno != EINTR) return false;
  }
}

}  // namespace mmapio::cli
