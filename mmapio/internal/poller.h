// Waiting for readiness, the part of the OS under AsyncEngine and EventLoop;
// one implementation per OS (poller_linux.cc: epoll, eventfd, timerfd;
// poller_windows.cc: an event, a thread-pool timer, WaitForMultipleObjects).
//
// A Poller is a set of descriptors to wait on, with two sources of its own
// already in it: a wake-up that any thread can raise, and a timer that
// raises readiness at a deadline. Its fd() is readable whenever any of them
// is ready, so it can itself be handed to another event loop (it is
// AsyncEngine::fd()).
//
// Thread safety: Wake() may be called from any thread; the other methods
// from one thread at a time.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_POLLER_H_
#define MMAPIO_INTERNAL_POLLER_H_

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace mmapio::internal {

class Poller {
 public:
  // Unavailable, naming `owner` ("AsyncEngine") and what failed, when the
  // OS will not make one.
  static absl::StatusOr<Poller> Create(absl::string_view owner);

  Poller(Poller&&) noexcept;
  Poller& operator=(Poller&&) noexcept;
  ~Poller();

  // Readable when a watched descriptor is, after Wake() until ClearWake(),
  // and from the timer's deadline until it is armed again. (On Windows a
  // handle, as an int: it becomes signaled.)
  int fd() const;

  // Raises the wake-up; cheap to repeat before it is cleared.
  void Wake();
  void ClearWake();

  // Makes fd() readable at `when` (InfiniteFuture: never), replacing the
  // deadline before; arming also clears a deadline that has passed.
  void ArmTimer(absl::Time when);

  // Watches `fd` for readability (on Windows: a waitable handle, as an int)
  // until Unwatch. InvalidArgument, with the OS's reason, when it cannot be
  // watched.
  absl::Status Watch(int fd);
  void Unwatch(int fd);

  // In Wait's results: the wake-up was raised. (The timer is reported only
  // through fd().)
  static constexpr int kWoken = -1;

  // Waits until something is ready or `timeout` has passed (nullptr: no
  // limit), and writes the ready watched descriptors, or kWoken, to
  // `ready`; returns how many. A signal ends the wait with none. Internal
  // when the OS fails the wait.
  absl::StatusOr<size_t> Wait(absl::Span<int> ready,
                              const absl::Duration* timeout);

  // What the OS gives a Poller, per OS (poller_linux.cc, poller_windows.cc).
  struct State;

 private:
  explicit Poller(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

// Timers are promised to the nanosecond: while one of these lives, the
// waits of the thread that made it end on time rather than up to 50 us
// late (Linux's default timer slack).
class FineTimerSlack {
 public:
  FineTimerSlack();
  ~FineTimerSlack();
  FineTimerSlack(const FineTimerSlack&) = delete;
  FineTimerSlack& operator=(const FineTimerSlack&) = delete;

 private:
  long previous_;
};

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_POLLER_H_
