// AsyncEngine: ensure a range is resident, then consume it, without ever
// letting the consuming thread wait for the disk.
//
// A task asks for a range of a Region; the engine reads it in on its own
// threads (through a PrefetchEngine); the task's callback or coroutine runs
// once every page of the range is resident and mapped, so touching the bytes
// costs no I/O. Three forms:
//
// Example, callbacks, run by whichever thread calls Poll():
//   engine->EnsureResident(region, {offset, 4096},
//       [](absl::StatusOr<mmapio::ResidentView> view) { /* ... */ });
//
// Example, coroutines, with any task type; resumed by the thread that polls:
//   absl::StatusOr<mmapio::ResidentView> view =
//       co_await engine->Resident(region, {offset, 4096});
//
// Example, threads: block, with a deadline:
//   absl::StatusOr<mmapio::ResidentView> view = engine->WaitResident(
//       region, {offset, 4096}, {.deadline = absl::Now() + absl::Seconds(1)});
//
// Integration with an event loop: fd() becomes readable when completions are
// ready or a deadline has passed; the loop then calls Poll(), which runs them
// on its thread and never blocks.
// Example, with epoll:
//   epoll_event event = {.events = EPOLLIN, .data = {.fd = engine->fd()}};
//   epoll_ctl(epfd, EPOLL_CTL_ADD, engine->fd(), &event);
//   // ... and whenever epoll_wait reports engine->fd() readable:
//   engine->Poll();
// libuv (uv_poll_t) and Asio (posix::stream_descriptor::async_wait) work the
// same way; mmapio::EventLoop (mmapio/event_loop.h) is a minimal loop.
//
// Fast path: a range of at most 2 MiB whose pages are all in the page cache
// completes at once, on the calling thread, after one mincore: the callback
// runs before EnsureResident returns, and `co_await` does not suspend. While
// requests keep missing, the mincore is asked for a sample of them only
// (PrefetchEngine::KnownResident); the others take the ordinary path.
//
// Completion: every request completes exactly once, with a ResidentView or
// a Status naming the operation, the path and the file range:
//   OutOfRange          the range is not inside the region, or the file was
//                       truncated below it
//   DataLoss            the device could not read a page (EIO)
//   Cancelled           RequestOptions::cancel was stopped first, or the
//                       engine was destroyed first
//   DeadlineExceeded    RequestOptions::deadline passed first
//   ResourceExhausted, Unavailable, ...  from the prefetch backend
// Errors from bad pages arrive as values; the engine never touches a page
// itself, so no request raises SIGBUS.
//
// Cancellation and deadlines complete the request at once; reading its pages
// may go on in the background, bounded like all prefetching, and its result
// is dropped.
//
// Ordering: Poll() runs completions in the order they became ready. A
// batch's per-range callbacks all run before its batch callback.
//
// Thread safety: EnsureResident, EnsureResidentBatch, Resident, WaitResident
// and stopping a cancel token may be called from any thread. Poll() should be
// called by one thread at a time (it is safe but pointless otherwise);
// callbacks and resumptions run on that thread, or inline on the requesting
// thread for the fast path and for requests refused at once. A Region must
// outlive its requests' completions.
//
// Shutdown: the destructor completes every request still pending with
// Cancelled and runs the remaining callbacks and resumptions on the
// destroying thread, which must not be polling concurrently; requests made
// from those callbacks complete with Cancelled too. No callback runs twice.
// It does not wait for reads blocked in the kernel (a hung NFS or FUSE
// server can block them for ever): those are abandoned to the engine's
// threads, which end once the kernel returns, touch nothing of the caller's
// but the range's addresses (harmless to the kernel once unmapped), and
// then free what they hold. Chunks of an abandoned read not yet started are
// not read.

#ifndef MMAPIO_ASYNC_ENGINE_H_
#define MMAPIO_ASYNC_ENGINE_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mmapio/byte_range.h"
#include "mmapio/export.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"
#include "mmapio/resident_view.h"

namespace mmapio {

namespace internal {
class AsyncRequest;
}  // namespace internal

MMAPIO_BEGIN_EXPORTS

struct RequestOptions {
  // The request completes with DeadlineExceeded if its range is not resident
  // by then.
  absl::Time deadline = absl::InfiniteFuture();
  // The request completes with Cancelled when this is stopped.
  std::stop_token cancel = {};
};

class AsyncEngine {
 public:
  using Callback = absl::AnyInvocable<void(absl::StatusOr<ResidentView>)>;
  using RangeCallback =
      absl::AnyInvocable<void(size_t index, absl::StatusOr<ResidentView>)>;
  using BatchCallback = absl::AnyInvocable<void(absl::Status)>;

  class Awaitable;

  // An engine reading through a PrefetchEngine made with `options`, whose
  // backend must report completion (io_uring, workers or windows):
  // InvalidArgument for the madvise backend, whose requests complete before
  // their pages are read. Unavailable when no descriptor for fd() can be
  // made. kAuto picks the same backend as PrefetchEngine::Create.
  static absl::StatusOr<std::unique_ptr<AsyncEngine>> Create(
      PrefetchOptions options = {});

  ~AsyncEngine();
  AsyncEngine(const AsyncEngine&) = delete;
  AsyncEngine& operator=(const AsyncEngine&) = delete;

  // Readable (EPOLLIN) when Poll() has work; on Windows an event handle, as
  // an int, signaled when Poll() has work. Owned by the engine.
  int fd() const { return poll_fd_; }

  // Runs the completions that are ready, oldest first, at most
  // `max_completions` of them, and expires passed deadlines; never waits.
  // fd() stays readable while completions are left. Returns how many
  // callbacks and resumptions ran. A budget lets an event loop run its
  // timers and other descriptors between turns.
  size_t Poll(size_t max_completions = SIZE_MAX);

  // `done` runs once, with a view of `range` once it is resident or with an
  // error.
  void EnsureResident(const Region& region, ByteRange range, Callback done,
                      RequestOptions options = {});

  // Many ranges in one call: `each` runs once per range, with its index in
  // `ranges`, as each range becomes resident (or fails); then `done` runs
  // once, with OK if every range succeeded, else the first error by index.
  // The deadline and the cancel token apply to the whole batch.
  void EnsureResidentBatch(const Region& region,
                           absl::Span<const ByteRange> ranges,
                           RangeCallback each, BatchCallback done,
                           RequestOptions options = {});

  // `co_await engine.Resident(region, range)` gives the view or an error.
  // Await it once. The coroutine resumes on the polling thread, or goes on
  // without suspending on the fast path; reading starts when it suspends.
  Awaitable Resident(const Region& region, ByteRange range,
                     RequestOptions options = {});

  // Blocks the calling thread until `range` is resident, the deadline has
  // passed or the token is stopped. Needs no Poll().
  absl::StatusOr<ResidentView> WaitResident(const Region& region,
                                            ByteRange range,
                                            RequestOptions options = {});

  // The engine that reads, for its statistics.
  PrefetchEngine& prefetch_engine() { return *prefetch_; }

 private:
  friend class internal::AsyncRequest;
  struct MMAPIO_HIDDEN Shared;

  AsyncEngine(std::unique_ptr<PrefetchEngine> prefetch,
              std::shared_ptr<Shared> shared);

  // The view, if `range` is valid and already resident, or the error that
  // refuses it at once; nullopt when it must be read.
  std::optional<absl::StatusOr<ResidentView>> TryNow(
      const Region& region, ByteRange range, const RequestOptions& options);
  // Registers a request that did not complete at once, then reads it.
  MMAPIO_HIDDEN void Start(std::shared_ptr<internal::AsyncRequest> request);
  // Hands the request's range to the prefetch engine, which never blocks.
  MMAPIO_HIDDEN void Read(std::shared_ptr<internal::AsyncRequest> request);

  std::unique_ptr<PrefetchEngine> prefetch_;
  // shared_'s poller's, for the inline fd().
  const int poll_fd_;
  // Shared with the reads in flight, which may outlive the engine (see
  // Shutdown above).
  std::shared_ptr<Shared> shared_;
};

// What `co_await engine.Resident(...)` waits on. Works with any coroutine
// type: it suspends through std::coroutine_handle<>.
class AsyncEngine::Awaitable {
 public:
  Awaitable(Awaitable&&) = default;

  bool await_ready() {
    result_ = engine_->TryNow(*region_, range_, options_);
    return result_.has_value();
  }
  void await_suspend(std::coroutine_handle<> coroutine);
  absl::StatusOr<ResidentView> await_resume() { return *std::move(result_); }

 private:
  friend class AsyncEngine;
  Awaitable(AsyncEngine& engine, const Region& region, ByteRange range,
            RequestOptions options)
      : engine_(&engine),
        region_(&region),
        range_(range),
        options_(std::move(options)) {}

  AsyncEngine* engine_;
  const Region* region_;
  ByteRange range_;
  RequestOptions options_;
  std::optional<absl::StatusOr<ResidentView>> result_;
};

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_ASYNC_ENGINE_H_
