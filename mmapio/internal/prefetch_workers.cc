// The workers backend: MADV_WILLNEED for every chunk of a request, on the
// engine's dispatch thread, so the device sees the whole request at once;
// then waiting threads take the chunks in order and fault each in with
// MADV_POPULATE_READ (or, on kernels before 5.14, a guarded touch of each
// page), whose return means "resident and mapped".
//
// This is the kernel's own fastest mechanism (WILLNEED, then touch) with the
// touch moved off the caller. Waiters take chunks in the order they were
// advised, which is about the order the device completes them, so a waiter
// that finds its chunk ready goes on to the next without sleeping: under
// load, one wake-up serves many completions.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/fault_guard.h"
#include "mmapio/internal/platform.h"
#include "mmapio/internal/prefetch_backend.h"

namespace mmapio::internal {
namespace {

// Reads a chunk in page by page through the fault guard: slower than
// MADV_POPULATE_READ, but a bad page is still an error, not a SIGBUS.
absl::Status TouchChunk(const PrefetchChunk& chunk, const OpContext& context) {
  if (absl::Status status = EnsureFaultHandler(); !status.ok()) return status;
  const size_t page = PageSize();
  for (size_t at = 0; at < chunk.length; at += page) {
    if (LoadGuarded(chunk.address + at, 1).faulted != 0) {
      return MakeError(
          absl::StatusCode::kDataLoss, context,
          absl::StrCat("a page at file offset ", chunk.file_offset + at,
                       " could not be read"));
    }
  }
  return absl::OkStatus();
}

class WorkersBackend : public PrefetchBackendImpl {
 public:
  WorkersBackend(int threads, RequestFinisher finish)
      : finish_(std::move(finish)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
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
    for (size_t i = 0; i < request->chunks().size(); ++i) {
      const PrefetchChunk& chunk = request->chunks()[i];
      // A hint: a failure shows when the chunk is populated.
      (void)AdviseMemory(chunk.address, chunk.length, Advice::kWillNeed,
                         request->ContextOf(i));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < request->chunks().size(); ++i) {
      queue_.push_back({request, i});
      // Only an idle waiter needs waking; a busy one comes back for more.
      if (idle_ > queue_.size() - 1) ready_.notify_one();
    }
  }

 private:
  struct Task {
    PrefetchRequest* request;
    size_t chunk;
  };

  void Work() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      ++idle_;
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      --idle_;
      if (queue_.empty()) return;
      const Task task = queue_.front();
      queue_.pop_front();
      lock.unlock();
      const PrefetchChunk& chunk = task.request->chunks()[task.chunk];
      const OpContext context = task.request->ContextOf(task.chunk);
      absl::Status status =
          PopulateMemory(chunk.address, chunk.length, context);
      if (status.code() == absl::StatusCode::kUnimplemented) {
        status = TouchChunk(chunk, context);
      }
      ChunkDone(task.request, std::move(status), finish_);
      lock.lock();
    }
  }

  const RequestFinisher finish_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Task> queue_;
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
