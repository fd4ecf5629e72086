#include "mmapio/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/platform.h"

namespace mmapio {

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  internal::UniqueFd epoll_fd(epoll_create1(EPOLL_CLOEXEC));
  internal::UniqueFd wake_fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = wake_fd.get();
  if (epoll_fd.get() < 0 || wake_fd.get() < 0 ||
      epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, wake_fd.get(), &event) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "EventLoop: cannot make its epoll and eventfd: ", strerror(errno)));
  }
  return std::unique_ptr<EventLoop>(
      new EventLoop(epoll_fd.Release(), wake_fd.Release()));
}

EventLoop::EventLoop(int epoll_fd, int wake_fd)
    : epoll_fd_(epoll_fd), wake_fd_(wake_fd) {}

EventLoop::~EventLoop() {
  close(epoll_fd_);
  close(wake_fd_);
}

void EventLoop::Wake() {
  // Once per batch of posts: the loop reads the eventfd before it takes
  // them.
  (void)eventfd_write(wake_fd_, 1);
}

void EventLoop::Post(Task task) {
  bool wake;
  {
    internal::MutexLock lock(&mutex_);
    posted_.push_back(std::move(task));
    wake = !std::exchange(woken_, true);
  }
  if (wake) Wake();
}

void EventLoop::Stop() {
  {
    internal::MutexLock lock(&mutex_);
    stop_requested_ = true;
  }
  Wake();
}

void EventLoop::RunAt(absl::Time when, Task task) {
  timers_.emplace(when, std::move(task));
}

absl::Status EventLoop::Watch(int fd, Task on_readable) {
  auto handler = std::make_unique<Task>(std::move(on_readable));
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = fd;
  if (fd == wake_fd_ || watched_.contains(fd) ||
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EventLoop::Watch: descriptor ", fd, " cannot be watched: ",
        fd == wake_fd_ || watched_.contains(fd) ? "it is watched already"
                                                : strerror(errno)));
  }
  watched_.emplace(fd, std::move(handler));
  return absl::OkStatus();
}

absl::Status EventLoop::Unwatch(int fd) {
  auto it = watched_.find(fd);
  if (it == watched_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("EventLoop::Unwatch: descriptor ", fd, " is not watched"));
  }
  // The handler may be the one running now.
  unwatched_.push_back(std::move(it->second));
  watched_.erase(it);
  (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  return absl::OkStatus();
}

absl::Status EventLoop::Attach(AsyncEngine& engine,
                               size_t completions_per_turn) {
  return Watch(engine.fd(), [&engine, completions_per_turn] {
    engine.Poll(completions_per_turn);
  });
}

EventLoop::SleepAwaitable EventLoop::SleepUntil(absl::Time when) {
  return SleepAwaitable(*this, when);
}

EventLoop::SleepAwaitable EventLoop::Sleep(absl::Duration duration) {
  return SleepAwaitable(*this, absl::Now() + duration);
}

EventLoop::YieldAwaitable EventLoop::Yield() { return YieldAwaitable(*this); }

void EventLoop::RunReady() {
  std::vector<Task> posted;
  {
    internal::MutexLock lock(&mutex_);
    posted.swap(posted_);
  }
  for (Task& task : posted) task();
  if (timers_.empty()) return;
  const absl::Time now = absl::Now();
  // Timers set by these tasks for `now` or earlier wait for the next round,
  // so that a task that sleeps in a loop cannot starve the others.
  std::vector<Task> due;
  while (!timers_.empty() && timers_.begin()->first <= now) {
    due.push_back(std::move(timers_.begin()->second));
    timers_.erase(timers_.begin());
  }
  for (Task& task : due) task();
}

const timespec* EventLoop::Timeout(timespec& storage) const {
  {
    internal::MutexLock lock(&mutex_);
    if (!posted_.empty() || stop_requested_) {
      storage = timespec{};
      return &storage;
    }
  }
  if (timers_.empty()) return nullptr;
  const absl::Duration left = timers_.begin()->first - absl::Now();
  storage = absl::ToTimespec(left < absl::ZeroDuration() ? absl::ZeroDuration()
                                                         : left);
  return &storage;
}

absl::Status EventLoop::Run() {
  // Timers are promised to the nanosecond: without this, every wait would
  // end up to 50 us late (the default timer slack).
  const int slack = prctl(PR_GET_TIMERSLACK);
  prctl(PR_SET_TIMERSLACK, 1UL);
  absl::Status status = Loop();
  if (slack > 0) prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(slack));
  return status;
}

absl::Status EventLoop::Loop() {
  epoll_event events[64];
  while (true) {
    {
      internal::MutexLock lock(&mutex_);
      if (std::exchange(stop_requested_, false)) return absl::OkStatus();
    }
    RunReady();
    timespec storage;
    const int ready =
        epoll_pwait2(epoll_fd_, events, 64, Timeout(storage), nullptr);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(
          absl::StrCat("EventLoop::Run: epoll_pwait2: ", strerror(errno)));
    }
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count;
        (void)eventfd_read(wake_fd_, &count);
        internal::MutexLock lock(&mutex_);
        woken_ = false;
        continue;
      }
      // A handler may have unwatched it, or another one, meanwhile.
      if (auto it = watched_.find(fd); it != watched_.end()) (*it->second)();
    }
    unwatched_.clear();
  }
}

}  // namespace mmapio
