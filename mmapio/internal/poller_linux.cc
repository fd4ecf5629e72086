// Poller on Linux: an epoll set holding an eventfd (the wake-up) and a
// timerfd (the deadline).

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/poller.h"
#include "mmapio/internal/unique_fd.h"

namespace mmapio::internal {

struct Poller::State {
  UniqueFd poll;
  UniqueFd wake;
  UniqueFd timer;
};

namespace {

// epoll_event.data of the wake-up and of the timer: no watched descriptor
// is negative.
constexpr int kWakeData = Poller::kWoken;
constexpr int kTimerData = -2;

bool Add(int poll_fd, int fd, int data) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = data;
  return epoll_ctl(poll_fd, EPOLL_CTL_ADD, fd, &event) == 0;
}

}  // namespace

absl::StatusOr<Poller> Poller::Create(absl::string_view owner) {
  UniqueFd poll(epoll_create1(EPOLL_CLOEXEC));
  UniqueFd wake(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  UniqueFd timer(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC));
  if (poll.get() < 0 || wake.get() < 0 || timer.get() < 0 ||
      !Add(poll.get(), wake.get(), kWakeData) ||
      !Add(poll.get(), timer.get(), kTimerData)) {
    return absl::UnavailableError(absl::StrCat(
        owner,
        ": cannot make its pollable descriptor (epoll, eventfd, timerfd): ",
        strerror(errno)));
  }
  return Poller(std::make_unique<State>(
      State{std::move(poll), std::move(wake), std::move(timer)}));
}

Poller::Poller(std::unique_ptr<State> state) : state_(std::move(state)) {}
Poller::Poller(Poller&&) noexcept = default;
Poller& Poller::operator=(Poller&&) noexcept = default;
Poller::~Poller() = default;

int Poller::fd() const { return state_->poll.get(); }

void Poller::Wake() { (void)eventfd_write(state_->wake.get(), 1); }

void Poller::ClearWake() {
  uint64_t count;
  (void)eventfd_read(state_->wake.get(), &count);
}

void Poller::ArmTimer(absl::Time when) {
  itimerspec spec{};
  if (when != absl::InfiniteFuture()) {
    spec.it_value = absl::ToTimespec(when);
    // Zero would disarm the timer.
    if (spec.it_value.tv_sec <= 0 && spec.it_value.tv_nsec == 0) {
      spec.it_value.tv_nsec = 1;
    }
  }
  (void)timerfd_settime(state_->timer.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

absl::Status Poller::Watch(int fd) {
  if (fd < 0 || !Add(state_->poll.get(), fd, fd)) {
    return absl::InvalidArgumentError(fd < 0 ? strerror(EBADF)
                                             : strerror(errno));
  }
  return absl::OkStatus();
}

void Poller::Unwatch(int fd) {
  (void)epoll_ctl(state_->poll.get(), EPOLL_CTL_DEL, fd, nullptr);
}

absl::StatusOr<size_t> Poller::Wait(absl::Span<int> ready,
                                    const absl::Duration* timeout) {
  epoll_event events[64];
  const int most =
      static_cast<int>(std::min<size_t>(ready.size(), std::size(events)));
  timespec storage;
  const timespec* limit = nullptr;
  if (timeout != nullptr) {
    storage = absl::ToTimespec(std::max(*timeout, absl::ZeroDuration()));
    limit = &storage;
  }
  const int count =
      epoll_pwait2(state_->poll.get(), events, most, limit, nullptr);
  if (count < 0) {
    if (errno == EINTR) return 0;
    return absl::InternalError(absl::StrCat("epoll_pwait2: ", strerror(errno)));
  }
  size_t reported = 0;
  for (int i = 0; i < count; ++i) {
    // The timer only makes fd() readable for whoever polls it.
    if (events[i].data.fd != kTimerData) ready[reported++] = events[i].data.fd;
  }
  return reported;
}

FineTimerSlack::FineTimerSlack() : previous_(prctl(PR_GET_TIMERSLACK)) {
  prctl(PR_SET_TIMERSLACK, 1UL);
}

FineTimerSlack::~FineTimerSlack() {
  if (previous_ > 0) {
    prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(previous_));
  }
}

}  // namespace mmapio::internal
