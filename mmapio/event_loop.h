// EventLoop: a minimal single-threaded event loop, for programs that have
// none of their own: readiness of descriptors, timers, tasks posted
// from other threads, and coroutine helpers to sleep and yield.
//
// Example:
//   absl::StatusOr<std::unique_ptr<mmapio::EventLoop>> loop =
//       mmapio::EventLoop::Create();
//   // Polls the AsyncEngine whenever it has completions.
//   if (absl::Status s = (*loop)->Attach(*engine); !s.ok()) return s;
//   Serve(**loop, *engine);                // Starts coroutines.
//   absl::Status status = (*loop)->Run();  // Until Stop().
//
// Everything runs on the thread inside Run(): handlers, timers, posted tasks
// and the coroutines they resume. Timers have the resolution of
// epoll_pwait2 on Linux (nanoseconds; Run() sets the thread's timer slack to
// 1 ns while it runs) and of the system timer on Windows (milliseconds); a
// handler that blocks delays them all, which is what AsyncEngine exists to
// prevent.
//
// Thread safety: Post() and Stop() may be called from any thread. The other
// methods must be called on the loop's thread (inside a handler), or before
// Run() starts or after it returns.

#ifndef MMAPIO_EVENT_LOOP_H_
#define MMAPIO_EVENT_LOOP_H_

#include <coroutine>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mmapio/async_engine.h"
#include "mmapio/export.h"
#include "mmapio/internal/mutex.h"

namespace mmapio {

namespace internal {
class Poller;
}  // namespace internal

MMAPIO_BEGIN_EXPORTS

class EventLoop {
 public:
  using Task = absl::AnyInvocable<void()>;

  // Unavailable when the OS will not make what it waits on (epoll and
  // eventfd; on Windows an event and a timer).
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();

  // Tasks and timers that never ran are destroyed without running.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs handlers until Stop(). Internal when the wait itself fails.
  absl::Status Run();
  // Makes Run() return once the tasks and handlers that are due now have
  // run.
  void Stop();

  // Runs `task` on the loop's thread, soon, in the order posted.
  void Post(Task task);
  // Runs `task` at `when` or as soon after as the loop can.
  void RunAt(absl::Time when, Task task);

  // Calls `on_readable` whenever `fd` is readable (on Windows: a waitable
  // handle, as an int, is signaled; at most 63 of them), until
  // Unwatch(fd). The caller keeps owning `fd`. InvalidArgument if `fd` is
  // watched already or cannot be (see epoll_ctl).
  absl::Status Watch(int fd, Task on_readable);
  absl::Status Unwatch(int fd);
  // Watch(engine.fd()), running at most `completions_per_turn` of its
  // completions before the loop looks at its timers and descriptors again.
  absl::Status Attach(AsyncEngine& engine, size_t completions_per_turn = 8);

  // co_await loop.Sleep(d) or loop.SleepUntil(t): resumes the coroutine on
  // the loop's thread once the time has come.
  class SleepAwaitable;
  SleepAwaitable SleepUntil(absl::Time when);
  SleepAwaitable Sleep(absl::Duration duration);
  // co_await loop.Yield(): resumes after the tasks already posted.
  class YieldAwaitable;
  YieldAwaitable Yield();

 private:
  MMAPIO_HIDDEN explicit EventLoop(std::unique_ptr<internal::Poller> poller);
  void Wake();
  absl::Status Loop();
  // Runs the posted tasks and the timers that are due.
  void RunReady();
  // How long the loop may wait; nullopt means for ever.
  std::optional<absl::Duration> Timeout() const;

  const std::unique_ptr<internal::Poller> poller_;
  std::multimap<absl::Time, Task> timers_;
  std::unordered_map<int, std::unique_ptr<Task>> watched_;
  // Handlers unwatched in this round, destroyed after it.
  std::vector<std::unique_ptr<Task>> unwatched_;

  // What other threads touch; the members above are the loop thread's.
  mutable internal::Mutex mutex_;
  std::vector<Task> posted_ ABSL_GUARDED_BY(mutex_);
  bool stop_requested_ ABSL_GUARDED_BY(mutex_) = false;
  bool woken_ ABSL_GUARDED_BY(mutex_) = false;
};

class EventLoop::SleepAwaitable {
 public:
  bool await_ready() const { return when_ <= absl::Now(); }
  void await_suspend(std::coroutine_handle<> coroutine) {
    loop_->RunAt(when_, [coroutine] { coroutine.resume(); });
  }
  void await_resume() const {}

 private:
  friend class EventLoop;
  SleepAwaitable(EventLoop& loop, absl::Time when)
      : loop_(&loop), when_(when) {}
  EventLoop* loop_;
  absl::Time when_;
};

class EventLoop::YieldAwaitable {
 public:
  bool await_ready() const { return false; }
  void await_suspend(std::coroutine_handle<> coroutine) {
    loop_->Post([coroutine] { coroutine.resume(); });
  }
  void await_resume() const {}

 private:
  friend class EventLoop;
  explicit YieldAwaitable(EventLoop& loop) : loop_(&loop) {}
  EventLoop* loop_;
};

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_EVENT_LOOP_H_
