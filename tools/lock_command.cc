// mmapio lock: keep files in memory until interrupted.

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

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
#include "tools/format.h"
#include "tools/output.h"

namespace mmapio::cli {
namespace {

// The pages of a file range, mapped and locked with no descriptor behind
// them: a Region keeps its file open while it lives, so keeping Regions
// would bound the files locked at once by RLIMIT_NOFILE.
class LockedPages {
 public:
  // Locks `range` of `region` through the Region first, so that a failure
  // (over RLIMIT_MEMLOCK, a page that cannot be read) is named as mmapio
  // names it, then moves the lock to a mapping of its own; `region` may be
  // closed afterwards.
  static absl::StatusOr<LockedPages> Lock(Region& region, ByteRange range);

  LockedPages(LockedPages&& other) noexcept
      : base_(std::exchange(other.base_, nullptr)),
        length_(std::exchange(other.length_, 0)) {}
  LockedPages& operator=(LockedPages&&) = delete;
  ~LockedPages() {
    if (base_ != nullptr) munmap(base_, length_);
  }

 private:
  LockedPages(void* base, size_t length) : base_(base), length_(length) {}

  void* base_;
  size_t length_;
};

absl::StatusOr<LockedPages> LockedPages::Lock(Region& region, ByteRange range) {
  if (absl::Status status = region.Lock(range, LockMode::kPopulate);
      !status.ok()) {
    return status;
  }
  if (range.length == 0) return LockedPages(nullptr, 0);
  const uint64_t page = region.page_size();
  const uint64_t first = (region.offset() + range.offset) / page * page;
  const uint64_t end =
      (region.offset() + range.offset + range.length + page - 1) / page * page;
  const size_t length = end - first;
  void* base = mmap(nullptr, length, PROT_READ, MAP_SHARED, region.fd(),
                    static_cast<off_t>(first));
  int err = errno;
  // The Region's lock goes before the new mapping takes its own, so that the
  // pages are counted once against RLIMIT_MEMLOCK.
  (void)region.Unlock(range);
  // The raw system call: sanitizer runtimes make mlock(3) a no-op.
  if (base != MAP_FAILED && syscall(SYS_mlock, base, length) != 0) {
    err = errno;
    munmap(base, length);
    base = MAP_FAILED;
  }
  if (base == MAP_FAILED) {
    return absl::ErrnoToStatus(
        err, absl::StrCat("Lock \"", region.path(), "\" ",
                          FormatRange(range.offset, range.length),
                          ": mapping the locked pages again"));
  }
  return LockedPages(base, length);
}

// The pidfile, created before anything is locked so that a path that cannot
// be written fails the command at once, and filled in once the locks hold.
class Pidfile {
 public:
  static absl::StatusOr<Pidfile> Create(const std::string& path) {
    const int fd =
        open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Error(path, errno);
    return Pidfile(path, fd);
  }

  Pidfile(Pidfile&& other) noexcept
      : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
  Pidfile& operator=(Pidfile&&) = delete;
  // Removes the file: the process it names is about to exit.
  ~Pidfile() {
    if (fd_ < 0) return;
    close(fd_);
    unlink(path_.c_str());
  }

  absl::Status WritePid() {
    const std::string text = absl::StrCat(getpid(), "\n");
    if (write(fd_, text.data(), text.size()) !=
        static_cast<ssize_t>(text.size())) {
      return Error(path_, errno);
    }
    return absl::OkStatus();
  }

 private:
  Pidfile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  static absl::Status Error(const std::string& path, int err) {
    return absl::ErrnoToStatus(err, absl::StrCat("pidfile \"", path, "\""));
  }

  std::string path_;
  int fd_;
};

// Detaches from the terminal: the parent exits with the status byte the
// child writes to `pipe_fds[1]`, or 1 when the child exits without writing
// one. Returns in the child.
void Daemonize(int pipe_fds[2]) {
  const pid_t child = fork();
  if (child < 0) {
    absl::FPrintF(stderr, "mmapio lock: fork: %s\n", strerror(errno));
    _exit(1);
  }
  if (child > 0) {
    close(pipe_fds[1]);
    char status = 1;
    ssize_t got;
    do {
      got = read(pipe_fds[0], &status, 1);
    } while (got < 0 && errno == EINTR);
    _exit(got == 1 ? status : 1);
  }
  close(pipe_fds[0]);
  setsid();
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
  uint64_t locked_bytes = 0;
  loop.RunOnRegions(
      paths, [&](Region& region, ByteRange range) -> absl::Status {
        absl::StatusOr<LockedPages> pages = LockedPages::Lock(region, range);
        if (!pages.ok()) return pages.status();
        locked_bytes += range.length;
        locked.push_back(*std::move(pages));
        return absl::OkStatus();
      });
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
  PrintF("locked %d files, %s; interrupt to unlock\n", locked.size(),
         FormatBytes(locked_bytes, options.exact_bytes));
  // Lost output is reported by the caller's caller, once.
  return FlushOutput().ok();
}

}  // namespace

const char kLockHelp[] =
    R"(usage: mmapio lock [OPTIONS] PATH...

Reads each file into memory and locks it there (mlock), then stays in the
foreground until interrupted (Ctrl-C, SIGTERM, SIGHUP), which unlocks
everything. Locking needs RLIMIT_MEMLOCK room ("ulimit -l") or CAP_IPC_LOCK;
a file over the limit is reported with the limit's value. When no file can
be locked, or the pidfile cannot be written, it exits 1 at once.

options:
  --range=START-END  only these bytes of each file (4k-50M, 1G-, -8M)
  --daemon           detach once every file is locked and exit 0; when some
                     file cannot be locked, exit 1 and leave nothing running
  --pidfile=FILE     write the locking process's id here; removed on exit
  --bytes            exact byte counts
  and the path options of "mmapio stat --help"

examples:
  mmapio lock /var/lib/db/hot.idx
  mmapio lock --daemon --pidfile=/run/mmapio-lock.pid /srv/index
)";

int RunLock(const std::vector<std::string>& paths, const CliOptions& options) {
  // Locks belong to the process that takes them, so a daemon forks first and
  // tells its parent through a pipe whether it holds everything.
  int pipe_fds[2] = {-1, -1};
  if (options.daemon) {
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      absl::FPrintF(stderr, "mmapio lock: pipe: %s\n", strerror(errno));
      return 1;
    }
    Daemonize(pipe_fds);
  }
  // Blocked before anything else so that none is lost.
  BlockStopSignals();
  FileLoop loop("lock", options);
  std::optional<Pidfile> pidfile;
  std::vector<LockedPages> locked;
  if (!LockAll(paths, options, loop, pidfile, locked)) return 1;
  if (options.daemon) {
    const char status = static_cast<char>(loop.exit_code());
    (void)!write(pipe_fds[1], &status, 1);
    close(pipe_fds[1]);
    const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) dup2(null, fd);
    if (null > STDERR_FILENO) close(null);
  }
  WaitForStopSignal(absl::InfiniteDuration());
  return loop.exit_code();
}

}  // namespace mmapio::cli
