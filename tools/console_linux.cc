#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "absl/time/clock.h"
#include "tools/console.h"

namespace mmapio::cli {

bool IsTerminal(StandardStream stream) {
  return isatty(stream == StandardStream::kOut ? STDOUT_FILENO
                                               : STDERR_FILENO) != 0;
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
