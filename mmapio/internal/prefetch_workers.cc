// The workers backend: MADV_WILLNEED for every chunk of a request that asks
// for it (small ones, see PrefetchEngine::Start), on the engine's dispatch
// thread, so the device sees the whole request at once; then waiting threads
// take the chunks in order and fault each in with MADV_POPULATE_READ (or, on
// kernels before 5.14, a guarded touch of each page), whose return means
// "resident and mapped".
//
// This is the kernel's own fastest mechanism (WILLNEED, then touch) with the
// touch moved off the caller. Waiters take chunks in the order they were
// advised, which is about the order the device completes them, so a waiter
// that finds its chunk ready goes on to the next without sleeping: under
// load, one wake-up serves many completions.

#include <signal.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/fault_guard.h"
#include "mmapio/internal/page_failure.h"
#include "mmapio/internal/platform.h"
#include "mmapio/internal/prefetch_backend.h"

namespace mmapio::internal {
namespace {

// Reads a chunk in page by page through the fault guard: slower than
// MADV_POPULATE_READ, but a bad page is still an error, not a SIGBUS.
absl::Status TouchChunk(const PrefetchRequest& request, size_t i,
                        const OpContext& context) {
  if (absl::Status status = EnsureFaultHandler(); !status.ok()) return status;
  const PrefetchChunk& chunk = request.chunks()[i];
  const size_t page = PageSize();
  for (size_t at = 0; at < chunk.length; at += page) {
    if (LoadGuarded(chunk.address + at, 1).faulted != 0) {
      const FaultRecord fault = LastFault();
      FailedPage failed;
      failed.fd = static_cast<int>(request.stream());
      failed.page = chunk.address + at;
      failed.page_file_offset = chunk.file_offset + at;
      failed.fault = FaultInfo{chunk.file_offset + at, fault.address,
                               fault.si_code, std::string(context.path)};
      failed.poisoned = fault.si_code == BUS_MCEERR_AR;
      return PageFailureStatus(failed, "SIGBUS", context);
    }
  }
  return absl::OkStatus();
}

class WorkersBackend : public PrefetchBackendImpl {
 public:
  WorkersBackend(int threads, RequestFinisher finish)
      : finish_(std::move(finish)), streams_(threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i] { Work(i); });
    }
  }

  ~WorkersBackend() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (std::thread& thread : threads_) thread.join();
  }

  void Submit(PrefetchRequest* request) override {
    const size_t chunks = request->chunks().size();
    if (!request->advise()) {
      // Read by its faults with the kernel's readahead: one waiter takes
      // the chunks in order, always the same waiter for a file. Two threads
      // faulting alternate chunks of one file break its readahead into
      // single pages, at ~8 times the CPU time per GiB (measured).
      std::lock_guard<std::mutex> lock(mutex_);
      streams_[request->stream() % streams_.size()].push_back(
          {request, 0, chunks});
      ready_.notify_all();
      return;
    }
    for (size_t i = 0; i < chunks; ++i) {
      const PrefetchChunk& chunk = request->chunks()[i];
      // A hint: a failure shows when the chunk is populated.
      (void)AdviseMemory(chunk.address, chunk.length, Advice::kWillNeed,
                         request->ContextOf(i));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < chunks; ++i) {
      shared_.push_back({request, i, i + 1});
      // Only an idle waiter needs waking; a busy one comes back for more.
      if (idle_ > shared_.size() - 1) ready_.notify_one();
    }
  }

 private:
  // Chunks [first, end) of a request, populated in order.
  struct Task {
    PrefetchRequest* request;
    size_t first;
    size_t end;
  };

  // Waiter `index`: the shared queue's chunks first (single pages, whose
  // readers are waiting), then its own streams'.
  void Work(size_t index) {
    std::deque<Task>& mine = streams_[index];
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      ++idle_;
      ready_.wait(
          lock, [&] { return stopping_ || !shared_.empty() || !mine.empty(); });
      --idle_;
      std::deque<Task>& from = !shared_.empty() ? shared_ : mine;
      if (from.empty()) return;
      const Task task = from.front();
      from.pop_front();
      lock.unlock();
      for (size_t i = task.first; i < task.end; ++i) {
        // The last ChunkDone frees the request.
        ChunkDone(task.request, Populate(*task.request, i), finish_);
      }
      lock.lock();
    }
  }

  static absl::Status Populate(const PrefetchRequest& request, size_t i) {
    const OpContext context = request.ContextOf(i);
    // Its caller has gone (a cancelled AsyncEngine request): the mapping
    // may be gone too.
    if (request.abandoned()) {
      return MakeError(absl::StatusCode::kCancelled, context, "abandoned");
    }
    const PrefetchChunk& chunk = request.chunks()[i];
    absl::Status status = PopulateFileMemory(
        static_cast<int>(request.stream()), chunk.address, chunk.length,
        chunk.file_offset, context);
    if (status.code() == absl::StatusCode::kUnimplemented) {
      status = TouchChunk(request, i, context);
    }
    return status;
  }

  const RequestFinisher finish_;
  std::mutex mutex_;
  std::condition_variable ready_;
  // Chunks of advised requests, for any waiter, in the order advised.
  std::deque<Task> shared_;
  // Requests read by their faults, one queue per waiter.
  std::vector<std::deque<Task>> streams_;
  // Waiters waiting for a task.
  size_t idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeWorkersBackend(
    const PrefetchOptions& options, RequestFinisher finish) {
  return std::make_unique<WorkersBackend>(options.threads, std::move(finish));
}

}  // namespace mmapio::internal
