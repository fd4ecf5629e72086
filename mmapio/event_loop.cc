#include "mmapio/event_loop.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/poller.h"

namespace mmapio {

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  absl::StatusOr<internal::Poller> poller =
      internal::Poller::Create("EventLoop");
  if (!poller.ok()) return poller.status();
  return std::unique_ptr<EventLoop>(
      new EventLoop(std::make_unique<internal::Poller>(*std::move(poller))));
}

EventLoop::EventLoop(std::unique_ptr<internal::Poller> poller)
    : poller_(std::move(poller)) {}

EventLoop::~EventLoop() = default;

void EventLoop::Wake() {
  // Once per batch of posts: the loop clears the wake-up before it takes
  // them.
  poller_->Wake();
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
  absl::Status status =
      watched_.contains(fd)
          ? absl::InvalidArgumentError("it is watched already")
          : poller_->Watch(fd);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("EventLoop::Watch: descriptor ", fd,
                     " cannot be watched: ", status.message()));
  }
  watched_.emplace(fd, std::make_unique<Task>(std::move(on_readable)));
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
  poller_->Unwatch(fd);
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

std::optional<absl::Duration> EventLoop::Timeout() const {
  {
    internal::MutexLock lock(&mutex_);
    if (!posted_.empty() || stop_requested_) return absl::ZeroDuration();
  }
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first - absl::Now();
}

absl::Status EventLoop::Run() {
  const internal::FineTimerSlack on_time;
  return Loop();
}

absl::Status EventLoop::Loop() {
  int ready[64];
  while (true) {
    {
      internal::MutexLock lock(&mutex_);
      if (std::exchange(stop_requested_, false)) return absl::OkStatus();
    }
    RunReady();
    const std::optional<absl::Duration> timeout = Timeout();
    absl::StatusOr<size_t> count =
        poller_->Wait(ready, timeout.has_value() ? &*timeout : nullptr);
    if (!count.ok()) {
      return absl::InternalError(
          absl::StrCat("EventLoop::Run: ", count.status().message()));
    }
    for (size_t i = 0; i < *count; ++i) {
      const int fd = ready[i];
      if (fd == internal::Poller::kWoken) {
        poller_->ClearWake();
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
