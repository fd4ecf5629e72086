// mmapio lock: keep files in memory until interrupted.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "mmapio/region.h"
#include "tools/command.h"
#include "tools/format.h"

namespace mmapio::cli {
namespace {

absl::Status WritePidfile(const std::string& path) {
  const std::string text = absl::StrCat(getpid(), "\n");
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, text.data(), text.size()) !=
                    static_cast<ssize_t>(text.size())) {
    const int err = errno;
    if (fd >= 0) close(fd);
    return absl::Status(
        absl::StatusCode::kUnavailable,
        absl::StrCat("pidfile \"", path, "\": ", strerror(err)));
  }
  close(fd);
  return absl::OkStatus();
}

// Detaches from the terminal. The parent exits with `status` once the child
// has written it to `pipe`: 0 when every file is locked.
void Daemonize(int pipe_fds[2]) {
  const pid_t child = fork();
  if (child < 0) {
    absl::FPrintF(stderr, "mmapio lock: fork: %s\n", strerror(errno));
    _exit(1);
  }
  if (child > 0) {
    close(pipe_fds[1]);
    char status = 1;
    if (read(pipe_fds[0], &status, 1) != 1) status = 1;
    _exit(status);
  }
  close(pipe_fds[0]);
  setsid();
}

}  // namespace

const char kLockHelp[] =
    R"(usage: mmapio lock [OPTIONS] PATH...

Reads each file into memory and locks it there (mlock), then stays in the
foreground until interrupted (Ctrl-C, SIGTERM, SIGHUP), which unlocks
everything. Locking needs RLIMIT_MEMLOCK room ("ulimit -l") or CAP_IPC_LOCK;
a file over the limit is reported with the limit's value.

options:
  --range=START-END  only these bytes of each file (4k-50M, 1G-, -8M)
  --daemon           detach once everything is locked; exits 0 if it all was
  --pidfile=FILE     write the locking process's id here; removed on exit
  --bytes            exact byte counts
  and the path options of "mmapio stat --help"

examples:
  mmapio lock /var/lib/db/hot.idx
  mmapio lock --daemon --pidfile=/run/mmapio-lock.pid /srv/index
)";

int RunLock(const std::vector<std::string>& paths, const CliOptions& options) {
  // Locks belong to the process that takes them, so a daemon forks first.
  int pipe_fds[2] = {-1, -1};
  if (options.daemon) {
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      absl::FPrintF(stderr, "mmapio lock: pipe: %s\n", strerror(errno));
      return 1;
    }
    Daemonize(pipe_fds);
  }
  // Block the stop signals before anything else so none is lost.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  FileLoop loop("lock", options);
  std::vector<Region> locked;
  uint64_t locked_bytes = 0;
  loop.RunOnRegions(
      paths, [&](Region& region, ByteRange range) -> absl::Status {
        if (absl::Status status = region.Lock(range, LockMode::kPopulate);
            !status.ok()) {
          return status;
        }
        locked_bytes += range.length;
        locked.push_back(std::move(region));
        return absl::OkStatus();
      });
  if (!options.pidfile.empty()) loop.Report(WritePidfile(options.pidfile));
  absl::PrintF("locked %d files, %s; interrupt to unlock\n", locked.size(),
               FormatBytes(locked_bytes, options.exact_bytes));
  fflush(stdout);
  if (options.daemon) {
    const char status = static_cast<char>(loop.exit_code());
    (void)!write(pipe_fds[1], &status, 1);
    close(pipe_fds[1]);
    const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) dup2(null, fd);
    if (null > STDERR_FILENO) close(null);
  }
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  if (!options.pidfile.empty()) unlink(options.pidfile.c_str());
  return loop.exit_code();
}

}  // namespace mmapio::cli
