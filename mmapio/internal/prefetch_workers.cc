// The workers backend: MADV_WILLNEED for every chunk of a request at once
// (on the requesting thread for one chunk, on an advisor thread for more),
// so the device sees the whole request, then threads wait for each chunk
// with MADV_POPULATE_READ (or, on kernels before 5.14, a guarded touch of
// each page). For kernels and sandboxes without io_uring.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/fault_guard.h"
#include "mmapio/internal/platform.h"
#include "mmapio/internal/prefetch_backend.h"
#include "mmapio/internal/prefetch_request.h"

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
  explicit WorkersBackend(int threads) {
    advisor_ = std::thread([this] { Advise(); });
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }

  ~WorkersBackend() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    to_advise_ready_.notify_all();
    ready_.notify_all();
    advisor_.join();
    for (std::thread& thread : threads_) thread.join();
  }

  void Submit(std::vector<PrefetchChunk> chunks, absl::string_view path,
              std::function<void(absl::Status)> done) override {
    auto* request =
        new PrefetchRequest(std::move(chunks), path, std::move(done));
    if (request->chunks().size() > 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      to_advise_.push_back(request);
      to_advise_ready_.notify_one();
      return;
    }
    // One chunk: advising it here costs less than waking the advisor.
    AdviseAll(*request);
    std::lock_guard<std::mutex> lock(mutex_);
    Enqueue(request);
  }

 private:
  struct Task {
    PrefetchRequest* request;
    size_t chunk;
  };

  // Starts readahead for whole requests of many chunks, in the order they
  // came, then hands their chunks to the workers: the device gets every
  // request at its queue depth, not one chunk per worker, and the requesting
  // thread (an executor, often) does not spend its time allocating page
  // cache for megabytes.
  void Advise() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      to_advise_ready_.wait(
          lock, [this] { return stopping_ || !to_advise_.empty(); });
      if (to_advise_.empty()) return;
      std::vector<PrefetchRequest*> requests;
      requests.swap(to_advise_);
      lock.unlock();
      for (PrefetchRequest* request : requests) AdviseAll(*request);
      lock.lock();
      for (PrefetchRequest* request : requests) Enqueue(request);
    }
  }

  static void AdviseAll(const PrefetchRequest& request) {
    for (size_t i = 0; i < request.chunks().size(); ++i) {
      const PrefetchChunk& chunk = request.chunks()[i];
      (void)AdviseMemory(chunk.address, chunk.length, Advice::kWillNeed,
                         request.ContextOf(i));
    }
  }

  // Under mutex_.
  void Enqueue(PrefetchRequest* request) {
    for (size_t i = 0; i < request->chunks().size(); ++i) {
      queue_.push_back({request, i});
      // One thread per chunk: waking them all for a one-page request costs a
      // context switch per idle thread.
      ready_.notify_one();
    }
  }

  void Work() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
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
      if (task.request->ChunkDone(std::move(status))) {
        task.request->Finish();
        delete task.request;
      }
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable to_advise_ready_;
  std::vector<PrefetchRequest*> to_advise_;
  std::thread advisor_;
  std::condition_variable ready_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeWorkersBackend(
    const PrefetchOptions& options) {
  return std::make_unique<WorkersBackend>(options.threads);
}

}  // namespace mmapio::internal
