// The workers backend (and on Windows the "windows" backend): MADV_WILLNEED
// for every chunk of a request that asks for it (small ones, see
// PrefetchEngine::Start), on the engine's dispatch thread, so the device
// sees the whole request at once (on Windows: one PrefetchVirtualMemory for
// all of them); then waiting threads take the chunks in order and fault each
// in with MADV_POPULATE_READ (or, on kernels before 5.14 and on Windows, a
// guarded touch of each page), whose return means "resident and mapped".
//
// This is the kernel's own fastest mechanism (WILLNEED, then touch) with the
// touch moved off the caller. Waiters take chunks in the order they were
// advised, which is about the order the device completes them, so a waiter
// that finds its chunk ready goes on to the next without sleeping: under
// load, one wake-up serves many completions.

#include <deque>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/fault_guard.h"
#include "mmapio/internal/mutex.h"
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
      return PageFailureStatus(
          FaultedPage(static_cast<int>(request.stream()), chunk.address,
                      chunk.file_offset, fault.address, fault.si_code,
                      context.path, /*write=*/false),
          PageFaultName(), context);
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
      MutexLock lock(&mutex_);
      stopping_ = true;
    }
    ready_.SignalAll();
    for (std::thread& thread : threads_) thread.join();
  }

  void Submit(PrefetchRequest* request) override {
    const size_t chunks = request->chunks().size();
    if (!request->advise()) {
      // Read by its faults with the kernel's readahead: one waiter takes
      // the chunks in order, always the same waiter for a file. Two threads
      // faulting alternate chunks of one file break its readahead into
      // single pages, at ~8 times the CPU time per GiB (measured).
      MutexLock lock(&mutex_);
      streams_[request->stream() % streams_.size()].push_back(
          {request, 0, chunks});
      ready_.SignalAll();
      return;
    }
    // The whole request at once; a hint: a failure shows when a chunk is
    // populated.
    absl::InlinedVector<MemoryRange, 1> ranges;
    for (const PrefetchChunk& chunk : request->chunks()) {
      ranges.push_back({chunk.address, chunk.length});
    }
    WillNeed(ranges.data(), ranges.size());
    MutexLock lock(&mutex_);
    for (size_t i = 0; i < chunks; ++i) {
      shared_.push_back({request, i, i + 1});
      // Only an idle waiter needs waking; a busy one comes back for more.
      if (idle_ > shared_.size() - 1) ready_.Signal();
    }
  }

 private:
  // Chunks [first, end) of a request, populated in order.
  struct Task {
    PrefetchRequest* request = nullptr;
    size_t first = 0;
    size_t end = 0;
  };

  // Waiter `index`: the shared queue's chunks first (single pages, whose
  // readers are waiting), then its own streams'.
  void Work(size_t index) {
    while (true) {
      Task task;
      {
        MutexLock lock(&mutex_);
        std::deque<Task>& mine = streams_[index];
        ++idle_;
        while (!stopping_ && shared_.empty() && mine.empty()) {
          ready_.Wait(&mutex_);
        }
        --idle_;
        std::deque<Task>& from = !shared_.empty() ? shared_ : mine;
        if (from.empty()) return;
        task = from.front();
        from.pop_front();
      }
      for (size_t i = task.first; i < task.end; ++i) {
        // The last ChunkDone frees the request.
        ChunkDone(task.request, i, Populate(*task.request, i), finish_);
      }
    }
  }

  static absl::Status Populate(const PrefetchRequest& request, size_t i) {
    absl::Status status = PopulateChunk(request, i);
    if (status.code() == absl::StatusCode::kUnimplemented) {
      status = TouchChunk(request, i, request.ContextOf(i));
    }
    return status;
  }

  const RequestFinisher finish_;
  Mutex mutex_;
  CondVar ready_;
  // Chunks of advised requests, for any waiter, in the order advised.
  std::deque<Task> shared_ ABSL_GUARDED_BY(mutex_);
  // Requests read by their faults, one queue per waiter.
  std::vector<std::deque<Task>> streams_ ABSL_GUARDED_BY(mutex_);
  // Waiters waiting for a task.
  size_t idle_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeWorkersBackend(
    const PrefetchOptions& options, RequestFinisher finish) {
  return std::make_unique<WorkersBackend>(options.threads, std::move(finish));
}

}  // namespace mmapio::internal
