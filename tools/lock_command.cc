// mmapio lock: keep files in memory until interrupted.

#include <errno.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "mmapio/region.h"
#include "tools/command.h"
#include "tools/console.h"
#include "tools/file_system.h"
#include "tools/format.h"
#include "tools/locked_pages.h"
#include "tools/output.h"
#include "tools/progress.h"

namespace mmapio::cli {
namespace {

// The pidfile, created before anything is locked so that a path that cannot
// be written fails the command at once, and filled in once the locks hold.
class Pidfile {
 public:
  static absl::StatusOr<Pidfile> Create(const std::string& path) {
    FILE* file = OpenFile(path, "wb");
    if (file == nullptr) return Error(path, errno);
    return Pidfile(path, file);
  }

  Pidfile(Pidfile&& other) noexcept
      : path_(std::move(other.path_)),
        file_(std::exchange(other.file_, nullptr)) {}
  Pidfile& operator=(Pidfile&&) = delete;
  // Removes the file: the process it names is about to exit.
  ~Pidfile() {
    if (file_ == nullptr) return;
    fclose(file_);
    (void)RemoveFile(path_);
  }

  absl::Status WritePid() {
    errno = 0;
    if (absl::FPrintF(file_, "%d\n", ProcessId()) < 0 || fflush(file_) != 0) {
      return Error(path_, errno != 0 ? errno : EIO);
    }
    return absl::OkStatus();
  }

 private:
  Pidfile(std::string path, FILE* file) : path_(std::move(path)), file_(file) {}

  static absl::Status Error(const std::string& path, int err) {
    return absl::ErrnoToStatus(err, absl::StrCat("pidfile \"", path, "\""));
  }

  std::string path_;
  FILE* file_;
};

// What a progress line advances by while a file is read for its lock.
constexpr uint64_t kProgressPiece = 16 << 20;

// The bytes `path` takes to lock: its --range.
uint64_t BytesToLock(const std::string& path, const CliOptions& options) {
  absl::StatusOr<Region> region = Region::Open(path);
  if (!region.ok()) return 0;
  absl::StatusOr<ByteRange> range = RangeIn(*region, options);
  return range.ok() ? range->length : 0;
}

// Locks every file and says so; false when the command failed: the pidfile
// could not be written, nothing could be locked, a daemon could not lock
// everything, or the output was lost. `locked` keeps the locks.
bool LockAll(const std::vector<std::string>& paths, const CliOptions& options,
             FileLoop& loop, std::optional<Pidfile>& pidfile,
             std::vector<LockedPages>& locked) {
  if (!options.pidfile.empty()) {
    absl::StatusOr<Pidfile> created = Pidfile::Create(options.pidfile);
    if (!created.ok()) {
      loop.Report(created.status());
      return false;
    }
    pidfile.emplace(*std::move(created));
  }
  const bool show_progress = ShowProgress(options);
  const Plan plan =
      show_progress ? PlanFiles(paths, options, BytesToLock) : Plan{paths};
  Progress progress(show_progress, plan.bytes, plan.files.size());
  loop.set_before_error([&progress] { progress.Erase(); });
  uint64_t locked_bytes = 0;
  loop.RunOnRegions(
      plan.files, [&](Region& region, ByteRange range) -> absl::Status {
        progress.StartFile(region.path());
        // The lock reads the file in one call: with a progress line, the
        // file is read in pieces first, and the lock finds it resident.
        // (Where a piece cannot be read, the lock says why.)
        if (progress.enabled()) {
          for (uint64_t done = 0; done < range.length;) {
            const uint64_t piece =
                std::min(kProgressPiece, range.length - done);
            (void)region.Populate({range.offset + done, piece});
            done += piece;
            progress.SetFileDone(done);
          }
        }
        absl::StatusOr<LockedPages> pages = LockedPages::Lock(region, range);
        if (!pages.ok()) return pages.status();
        locked_bytes += range.length;
        locked.push_back(*std::move(pages));
        return absl::OkStatus();
      });
  progress.Erase();
  if (locked.empty()) {
    loop.Report(absl::FailedPreconditionError("nothing could be locked"));
    return false;
  }
  // A daemon that holds only some of the files is not what was asked for,
  // and its parent's exit status could not say so while it runs on.
  if (options.daemon && loop.exit_code() != 0) return false;
  if (pidfile.has_value()) {
    if (absl::Status status = pidfile->WritePid(); !status.ok()) {
      loop.Report(status);
      return false;
    }
  }
  PrintF("locked %s, %s; interrupt to unlock\n", CountOf(locked.size(), "file"),
         FormatBytes(locked_bytes, options.report.exact_bytes));
  // Lost output is reported by the caller's caller, once.
  return FlushOutput().ok();
}

}  // namespace

const char kLockHelp[] =
    R"(usage: mmapio lock [OPTIONS] PATH...

Reads each file into memory and locks it there (mlock; VirtualLock on
Windows), then stays in the foreground until interrupted (Ctrl-C, SIGTERM,
SIGHUP; on Windows Ctrl-C, Ctrl-Break), which unlocks everything. Locking needs RLIMIT_MEMLOCK room ("ulimit -l") or CAP_IPC_LOCK;
a file over the limit is reported with the limit's value. When no file can
be locked, or the pidfile cannot be written, it exits 1 at once.

options:
  --range=START-END  only these bytes of each file (4k-50M, 1G-, -8M)
  --daemon           detach once every file is locked and exit 0; when some
                     file cannot be locked, exit 1 and leave nothing running
                     (not on Windows, which cannot fork)
  --pidfile=FILE     write the locking process's id here; removed on exit
  --progress         show progress (bytes read of those to lock, rate, time
                     left, file) even when stderr is not a terminal
  --no-progress      never show progress
  --bytes            exact byte counts
  and the path options of "mmapio stat --help"

examples:
  mmapio lock /var/lib/db/hot.idx
  mmapio lock --daemon --pidfile=/run/mmapio-lock.pid /srv/index
)";

int RunLock(const std::vector<std::string>& paths, const CliOptions& options) {
  // Locks belong to the process that takes them, so a daemon detaches first
  // and tells its parent whether it holds everything.
  if (options.daemon) {
    if (absl::Status detached = Detach(); !detached.ok()) {
      absl::FPrintF(stderr, "mmapio lock: --daemon: %s\n", detached.message());
      return 1;
    }
  }
  // Blocked before anything else so that none is lost.
  BlockStopSignals();
  FileLoop loop("lock", options);
  std::optional<Pidfile> pidfile;
  std::vector<LockedPages> locked;
  if (!LockAll(paths, options, loop, pidfile, locked)) return 1;
  EndDetachedStart(loop.exit_code());
  WaitForStopSignal(absl::InfiniteDuration());
  return loop.exit_code();
}

}  // namespace mmapio::cli
