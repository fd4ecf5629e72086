#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "absl/time/clock.h"
#include "tools/console.h"

namespace mmapio::cli {
namespace {

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  return signals;
}

// The pipe on which a process that Detach started tells its parent how it
// started; -1 elsewhere.
int detached_status_fd = -1;

}  // namespace

std::vector<std::string> StartConsole(int argc, char** argv) {
  return std::vector<std::string>(argv, argv + argc);
}

bool IsTerminal(StandardStream stream) {
  return isatty(stream == StandardStream::kOut ? STDOUT_FILENO
                                               : STDERR_FILENO) != 0;
}

TerminalSize GetTerminalSize(StandardStream stream) {
  const int fd = stream == StandardStream::kOut ? STDOUT_FILENO : STDERR_FILENO;
  winsize size{};
  if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return {size.ws_col, size.ws_row};
  }
  return {};
}

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

int ProcessId() { return static_cast<int>(getpid()); }

absl::Status Detach() {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::ErrnoToStatus(errno, "detach: pipe");
  }
  const pid_t child = fork();
  if (child < 0) {
    const int err = errno;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return absl::ErrnoToStatus(err, "detach: fork");
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
  detached_status_fd = pipe_fds[1];
  return absl::OkStatus();
}

void EndDetachedStart(int exit_code) {
  if (detached_status_fd < 0) return;
  const char status = static_cast<char>(exit_code);
  (void)!write(detached_status_fd, &status, 1);
  close(detached_status_fd);
  detached_status_fd = -1;
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) dup2(null, fd);
  if (null > STDERR_FILENO) close(null);
}

}  // namespace mmapio::cli
