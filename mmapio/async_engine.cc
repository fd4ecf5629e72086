#include "mmapio/async_engine.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/mutex.h"
#include "mmapio/internal/poller.h"
#include "mmapio/internal/region_context.h"

namespace mmapio {
namespace internal {
namespace {

constexpr absl::string_view kShuttingDown =
    "the AsyncEngine is being destroyed";

absl::Status CancelledError(const OpContext& context, absl::string_view why) {
  return MakeError(absl::StatusCode::kCancelled, context, why);
}

absl::Status DeadlineError(const OpContext& context) {
  return MakeError(absl::StatusCode::kDeadlineExceeded, context,
                   "the deadline passed before the range was resident");
}

}  // namespace

// One request between its start and the run of its callback. Its state is
// guarded by the engine's mutex; the callback is touched only by the thread
// that delivers it.
class AsyncRequest {
 public:
  // A request without `done` is a blocking wait. `engine_mutex` is the
  // engine's, which guards the request's state.
  AsyncRequest(internal::Mutex& engine_mutex, const Region& region,
               ByteRange range, AsyncEngine::Callback done,
               const RequestOptions& options)
      : mutex(engine_mutex),
        blocking(done == nullptr),
        region_(region),
        range_(*ResolveWithin(range, region.size())),
        deadline_(options.deadline),
        cancel_(options.cancel),
        done_(std::move(done)) {}

  const Region& region() const { return region_; }
  ByteRange range() const { return range_; }
  absl::Time deadline() const { return deadline_; }

  OpContext Context() const {
    return RegionContext(region_, "EnsureResident", range_.offset,
                         range_.length);
  }
  absl::Status Cancelled(absl::string_view why) const {
    return CancelledError(Context(), why);
  }
  absl::Status DeadlineExceeded() const { return DeadlineError(Context()); }

  // Stopping the token from now on completes the request.
  void ListenForCancel(AsyncEngine::Shared& shared);

  // Runs the callback with the outcome, on the delivering thread.
  void Deliver() ABSL_LOCKS_EXCLUDED(mutex) {
    AsyncEngine::Callback done = std::move(done_);
    done(TakeOutcome());
  }

  // For a blocking wait: returns once the request has finished, or
  // finishes it with DeadlineExceeded at `deadline`.
  void WaitFinished(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mutex) {
    MutexLock lock(&mutex);
    while (!finished) {
      if (deadline == absl::InfiniteFuture()) {
        finished_cv.Wait(&mutex);
      } else if (finished_cv.WaitUntil(&mutex, deadline) && !finished) {
        finished = true;
        status = DeadlineExceeded();
        // As Shared::Finish does: a read not yet dispatched is dropped.
        abandon.request_stop();
      }
    }
  }

  // The outcome, once finished.
  absl::StatusOr<ResidentView> TakeOutcome() ABSL_LOCKS_EXCLUDED(mutex) {
    // Waits for a cancel that is running on another thread right now.
    on_cancel_.reset();
    absl::Status final_status;
    {
      MutexLock lock(&mutex);
      final_status = std::move(status);
    }
    if (!final_status.ok()) return final_status;
    return ResidentView(region_, range_);
  }

  Mutex& mutex;
  // A thread waits on `finished_cv` instead of a callback.
  const bool blocking;
  CondVar finished_cv;
  bool finished ABSL_GUARDED_BY(mutex) = false;
  absl::Status status ABSL_GUARDED_BY(mutex);
  // Whether the engine has taken it into its pending set.
  bool registered ABSL_GUARDED_BY(mutex) = false;
  // Stopped when the request finishes: a read not yet dispatched is then
  // dropped.
  std::stop_source abandon;

 private:
  struct Canceller {
    AsyncEngine::Shared* shared;
    AsyncRequest* request;
    void operator()() const noexcept;
  };

  const Region& region_;
  const ByteRange range_;
  const absl::Time deadline_;
  const std::stop_token cancel_;
  AsyncEngine::Callback done_;
  std::optional<std::stop_callback<Canceller>> on_cancel_;
};

}  // namespace internal

using internal::AsyncRequest;

struct AsyncEngine::Shared {
  explicit Shared(internal::Poller poller) : poller(std::move(poller)) {}

  // Completes `request` with `status` unless it has completed already.
  void Finish(AsyncRequest* request, absl::Status status)
      ABSL_LOCKS_EXCLUDED(mutex);
  // Makes fd() readable at `when`.
  void ArmTimer(absl::Time when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex);
  void Signal() { poller->Wake(); }

  // fd() and what makes it readable. Closed by the engine's destructor,
  // once every request has finished: none signals after that.
  std::optional<internal::Poller> poller;

  internal::Mutex mutex;
  // Finished requests waiting for Poll().
  std::deque<std::shared_ptr<AsyncRequest>> ready ABSL_GUARDED_BY(mutex);
  // Whether event_fd has been written since Poll() last drained it, which
  // it does only once `ready` is empty.
  bool signalled ABSL_GUARDED_BY(mutex) = false;
  // Set under `mutex`; read without it on the fast path, where Start()
  // checks again under the lock.
  std::atomic<bool> shutting_down{false};
  // Started and not finished, except blocking waits.
  std::unordered_map<AsyncRequest*, std::shared_ptr<AsyncRequest>> pending
      ABSL_GUARDED_BY(mutex);
  std::multimap<absl::Time, AsyncRequest*> deadlines ABSL_GUARDED_BY(mutex);
  absl::Time timer_at ABSL_GUARDED_BY(mutex) = absl::InfiniteFuture();
};

namespace internal {

void AsyncRequest::ListenForCancel(AsyncEngine::Shared& shared) {
  if (cancel_.stop_possible())
    on_cancel_.emplace(cancel_, Canceller{&shared, this});
}

void AsyncRequest::Canceller::operator()() const noexcept {
  shared->Finish(request, request->Cancelled("cancelled"));
}

}  // namespace internal

void AsyncEngine::Shared::Finish(AsyncRequest* request, absl::Status status) {
  bool wake = false;
  {
    internal::MutexLock lock(&mutex);
    request->mutex.AssertHeld();
    if (request->finished) return;
    request->finished = true;
    request->status = std::move(status);
    request->abandon.request_stop();
    if (request->blocking) {
      // Under the lock: the waiter may return and free the request as soon
      // as it sees `finished`.
      request->finished_cv.SignalAll();
      return;
    }
    // Not registered yet: Start() will see `finished` and queue it.
    if (!request->registered) return;
    auto node = pending.extract(request);
    if (request->deadline() != absl::InfiniteFuture()) {
      auto [first, last] = deadlines.equal_range(request->deadline());
      for (auto it = first; it != last; ++it) {
        if (it->second == request) {
          deadlines.erase(it);
          break;
        }
      }
    }
    ready.push_back(std::move(node.mapped()));
    wake = !std::exchange(signalled, true);
  }
  if (wake) Signal();
}

void AsyncEngine::Shared::ArmTimer(absl::Time when) {
  timer_at = when;
  poller->ArmTimer(when);
}

absl::StatusOr<std::unique_ptr<AsyncEngine>> AsyncEngine::Create(
    PrefetchOptions options) {
  absl::StatusOr<std::unique_ptr<PrefetchEngine>> prefetch =
      PrefetchEngine::Create(options);
  if (!prefetch.ok()) return prefetch.status();
  if ((*prefetch)->backend() == PrefetchBackend::kMadvise) {
    return absl::InvalidArgumentError(
        "AsyncEngine: the madvise prefetch backend cannot tell when a range "
        "is resident");
  }
  absl::StatusOr<internal::Poller> poller =
      internal::Poller::Create("AsyncEngine");
  if (!poller.ok()) return poller.status();
  return std::unique_ptr<AsyncEngine>(new AsyncEngine(
      *std::move(prefetch), std::make_shared<Shared>(*std::move(poller))));
}

AsyncEngine::AsyncEngine(std::unique_ptr<PrefetchEngine> prefetch,
                         std::shared_ptr<Shared> shared)
    : prefetch_(std::move(prefetch)),
      poll_fd_(shared->poller->fd()),
      shared_(std::move(shared)) {}

AsyncEngine::~AsyncEngine() {
  std::vector<std::shared_ptr<AsyncRequest>> pending;
  {
    internal::MutexLock lock(&shared_->mutex);
    shared_->shutting_down = true;
    for (const auto& [request, owned] : shared_->pending) {
      pending.push_back(owned);
    }
  }
  for (const std::shared_ptr<AsyncRequest>& request : pending) {
    shared_->Finish(request.get(), request->Cancelled(internal::kShuttingDown));
  }
  // Reads not yet dispatched were abandoned above and read nothing. Those
  // in flight may be blocked in the kernel for ever (a stopped FUSE or NFS
  // server), so a thread of their own waits for them, and their
  // completions find their requests finished.
  std::thread([prefetch = std::move(prefetch_)]() mutable {
    prefetch.reset();
  }).detach();
  // Callbacks may make requests, which complete with Cancelled at once.
  while (Poll() > 0) {
  }
  shared_->poller.reset();
}

size_t AsyncEngine::Poll(size_t max_completions) {
  std::vector<std::shared_ptr<AsyncRequest>> expired;
  std::vector<std::shared_ptr<AsyncRequest>> ready;
  {
    internal::MutexLock lock(&shared_->mutex);
    // The timer has fired when its time has passed, whether or not the
    // request it was set for is still pending (a request that completes
    // keeps its deadline's timer): expire what is due, and setting the
    // timer again, to the next deadline or none, makes fd() unreadable.
    // Without a timer set, a turn reads no clock.
    const absl::Time now = shared_->timer_at == absl::InfiniteFuture()
                               ? absl::InfinitePast()
                               : absl::Now();
    if (shared_->timer_at <= now) {
      auto it = shared_->deadlines.begin();
      for (; it != shared_->deadlines.end() && it->first <= now; ++it) {
        expired.push_back(shared_->pending.at(it->second));
      }
      shared_->ArmTimer(it == shared_->deadlines.end() ? absl::InfiniteFuture()
                                                       : it->first);
    }
  }
  for (const std::shared_ptr<AsyncRequest>& request : expired) {
    shared_->Finish(request.get(), request->DeadlineExceeded());
  }
  // The descriptor stays readable (the wake-up stays raised) while
  // completions are left, and is drained only once none are: a turn that
  // leaves some costs no system call.
  bool drain = false;
  {
    internal::MutexLock lock(&shared_->mutex);
    const size_t taken = std::min(max_completions, shared_->ready.size());
    ready.assign(std::make_move_iterator(shared_->ready.begin()),
                 std::make_move_iterator(shared_->ready.begin() + taken));
    shared_->ready.erase(shared_->ready.begin(),
                         shared_->ready.begin() + taken);
    if (shared_->ready.empty())
      drain = std::exchange(shared_->signalled, false);
  }
  if (drain) {
    shared_->poller->ClearWake();
    // A completion that came after the lock was released signalled before
    // the read and lost its signal to it.
    bool again;
    {
      internal::MutexLock lock(&shared_->mutex);
      again = !shared_->ready.empty();
      if (again) shared_->signalled = true;
    }
    if (again) shared_->Signal();
  }
  // Callbacks and coroutines ask for their next ranges here: one wake-up
  // of the prefetch engine for the whole turn. (The destructor polls after
  // the prefetch engine is gone; requests then end at once.)
  std::optional<PrefetchEngine::Batch> batch;
  if (prefetch_ != nullptr) batch.emplace(*prefetch_);
  for (const std::shared_ptr<AsyncRequest>& request : ready) {
    request->Deliver();
  }
  return ready.size();
}

std::optional<absl::StatusOr<ResidentView>> AsyncEngine::TryNow(
    const Region& region, ByteRange range, const RequestOptions& options) {
  absl::StatusOr<ByteRange> resolved =
      internal::ResolveInRegion(region, "EnsureResident", range);
  if (!resolved.ok()) return resolved.status();
  const internal::OpContext context = internal::RegionContext(
      region, "EnsureResident", resolved->offset, resolved->length);
  if (options.cancel.stop_requested()) {
    return internal::CancelledError(context, "cancelled");
  }
  if (shared_->shutting_down.load(std::memory_order_acquire)) {
    return internal::CancelledError(context, internal::kShuttingDown);
  }
  if (prefetch_->KnownResident(region, *resolved)) {
    return ResidentView(region, *resolved);
  }
  if (options.deadline <= absl::Now()) return internal::DeadlineError(context);
  return std::nullopt;
}

void AsyncEngine::Start(std::shared_ptr<AsyncRequest> request) {
  request->ListenForCancel(*shared_);
  {
    internal::MutexLock lock(&shared_->mutex);
    request->mutex.AssertHeld();
    if (shared_->shutting_down && !request->finished) {
      request->finished = true;
      request->status = request->Cancelled(internal::kShuttingDown);
    }
    if (request->finished) {
      // Cancelled while it was being started.
      shared_->ready.push_back(std::move(request));
      if (!std::exchange(shared_->signalled, true)) shared_->Signal();
      return;
    }
    request->registered = true;
    shared_->pending.emplace(request.get(), request);
    if (request->deadline() != absl::InfiniteFuture()) {
      shared_->deadlines.emplace(request->deadline(), request.get());
      if (request->deadline() < shared_->timer_at) {
        shared_->ArmTimer(request->deadline());
      }
    }
  }
  Read(std::move(request));
}

void AsyncEngine::Read(std::shared_ptr<AsyncRequest> request) {
  const Region& region = request->region();
  const ByteRange range = request->range();
  std::stop_token abandoned = request->abandon.get_token();
  prefetch_->PrefetchMissing(
      region, range,
      [shared = shared_, request = std::move(request)](absl::Status status) {
        shared->Finish(request.get(), std::move(status));
      },
      std::move(abandoned), "EnsureResident");
}

void AsyncEngine::EnsureResident(const Region& region, ByteRange range,
                                 Callback done, RequestOptions options) {
  if (std::optional<absl::StatusOr<ResidentView>> now =
          TryNow(region, range, options)) {
    done(*std::move(now));
    return;
  }
  Start(std::make_shared<AsyncRequest>(shared_->mutex, region, range,
                                       std::move(done), options));
}

namespace {

// Counts a batch's ranges down and keeps its first error by index.
class Batch {
 public:
  Batch(size_t ranges, AsyncEngine::RangeCallback each,
        AsyncEngine::BatchCallback done)
      : each_(std::move(each)), done_(std::move(done)), remaining_(ranges) {}

  void RangeDone(size_t index, absl::StatusOr<ResidentView> view) {
    absl::Status status = view.status();
    each_(index, std::move(view));
    bool last;
    absl::Status first_error;
    {
      internal::MutexLock lock(&mutex_);
      if (!status.ok() && index < first_error_index_) {
        first_error_index_ = index;
        first_error_ = std::move(status);
      }
      last = --remaining_ == 0;
      if (last) first_error = std::move(first_error_);
    }
    if (last) done_(std::move(first_error));
  }

 private:
  AsyncEngine::RangeCallback each_;
  AsyncEngine::BatchCallback done_;
  internal::Mutex mutex_;
  size_t remaining_ ABSL_GUARDED_BY(mutex_);
  size_t first_error_index_ ABSL_GUARDED_BY(mutex_) = SIZE_MAX;
  absl::Status first_error_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace

void AsyncEngine::EnsureResidentBatch(const Region& region,
                                      absl::Span<const ByteRange> ranges,
                                      RangeCallback each, BatchCallback done,
                                      RequestOptions options) {
  if (ranges.empty()) {
    done(absl::OkStatus());
    return;
  }
  auto batch =
      std::make_shared<Batch>(ranges.size(), std::move(each), std::move(done));
  PrefetchEngine::Batch one_wake_up(*prefetch_);
  for (size_t i = 0; i < ranges.size(); ++i) {
    EnsureResident(
        region, ranges[i],
        [batch, i](absl::StatusOr<ResidentView> view) {
          batch->RangeDone(i, std::move(view));
        },
        options);
  }
}

AsyncEngine::Awaitable AsyncEngine::Resident(const Region& region,
                                             ByteRange range,
                                             RequestOptions options) {
  return Awaitable(*this, region, range, std::move(options));
}

void AsyncEngine::Awaitable::await_suspend(std::coroutine_handle<> coroutine) {
  engine_->Start(std::make_shared<AsyncRequest>(
      engine_->shared_->mutex, *region_, range_,
      [this, coroutine](absl::StatusOr<ResidentView> view) {
        result_ = std::move(view);
        coroutine.resume();
      },
      options_));
}

absl::StatusOr<ResidentView> AsyncEngine::WaitResident(const Region& region,
                                                       ByteRange range,
                                                       RequestOptions options) {
  if (std::optional<absl::StatusOr<ResidentView>> now =
          TryNow(region, range, options)) {
    return *std::move(now);
  }
  auto request = std::make_shared<AsyncRequest>(shared_->mutex, region, range,
                                                nullptr, options);
  request->ListenForCancel(*shared_);
  Read(request);
  // Called from a callback inside Poll, the read would wait for the turn's
  // end otherwise.
  PrefetchEngine::Batch::Flush();
  request->WaitFinished(options.deadline);
  return request->TakeOutcome();
}

}  // namespace mmapio
