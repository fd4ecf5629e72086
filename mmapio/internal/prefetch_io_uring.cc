// The io_uring backend: one ring owned by the engine. Each request becomes
// MADV_WILLNEED for all its chunks (I/O in flight at the device's queue
// depth) followed by MADV_POPULATE_READ per chunk, whose completion means
// "resident and mapped" and whose failure is an error, not a SIGBUS. A
// bounded pool of io-wq workers runs them; one thread reaps completions.

#include <errno.h>
#include <liburing.h>
#include <string.h>
#include <sys/mman.h>  // MADV_* for IORING_OP_MADVISE

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/mutex.h"
#include "mmapio/internal/platform.h"
#include "mmapio/internal/prefetch_backend.h"
#include "mmapio/internal/prefetch_request.h"

namespace mmapio::internal {
namespace {

// user_data of the completion that stops the reaper.
constexpr uint64_t kStop = ~uint64_t{0};

// liburing maps and unmaps a ring's queues with raw system calls, which
// ThreadSanitizer does not see. A ring set up at the addresses of one torn
// down on another thread (an AsyncEngine's destructor leaves the teardown
// to a thread of its own) would look to it like a race on that memory.
// Setting rings up and tearing them down under one lock orders the two.
Mutex ring_lifetime_mutex;

class IoUringBackend : public PrefetchBackendImpl {
 public:
  IoUringBackend(const io_uring& ring, RequestFinisher finish)
      : ring_(ring), finish_(std::move(finish)) {
    reaper_ = std::thread([this] { Reap(); });
  }

  ~IoUringBackend() override {
    MutexLock lifetime(&ring_lifetime_mutex);
    {
      MutexLock lock(&submit_mutex_);
      io_uring_sqe* sqe = SqeLocked();
      io_uring_prep_nop(sqe);
      io_uring_sqe_set_data64(sqe, kStop);
      io_uring_submit(&ring_);
    }
    reaper_.join();
    io_uring_queue_exit(&ring_);
  }

  void Submit(PrefetchRequest* request) override {
    MutexLock lock(&submit_mutex_);
    for (size_t i = 0; request->advise() && i < request->chunks().size(); ++i) {
      const PrefetchChunk& chunk = request->chunks()[i];
      io_uring_sqe* sqe = SqeLocked();
      io_uring_prep_madvise(sqe, chunk.address,
                            static_cast<off_t>(chunk.length), MADV_WILLNEED);
      // Readahead is a hint: its success is not worth a completion.
      sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
      io_uring_sqe_set_data64(sqe, 0);
    }
    // user_data of a POPULATE_READ: a ChunkOp, freed by the reaper.
    for (size_t i = 0; i < request->chunks().size(); ++i) {
      const PrefetchChunk& chunk = request->chunks()[i];
      io_uring_sqe* sqe = SqeLocked();
      io_uring_prep_madvise(sqe, chunk.address,
                            static_cast<off_t>(chunk.length),
                            MADV_POPULATE_READ);
      io_uring_sqe_set_data(sqe, new ChunkOp{request, i});
    }
    // The reaper reads what this thread wrote above; the kernel carries the
    // pointer, so publish the writes where a race detector can see them.
    published_.fetch_add(1, std::memory_order_release);
    io_uring_submit(&ring_);
  }

 private:
  // A free submission queue entry; submits what is queued to make room.
  io_uring_sqe* SqeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(submit_mutex_) {
    while (true) {
      if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) return sqe;
      io_uring_submit(&ring_);
    }
  }

  void Reap() {
    while (true) {
      io_uring_cqe* cqe = nullptr;
      const int err = io_uring_wait_cqe(&ring_, &cqe);
      if (err == -EINTR) continue;
      if (err < 0) return;  // The ring is unusable; the destructor will see.
      const uint64_t data = io_uring_cqe_get_data64(cqe);
      const int result = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      if (data == kStop) return;
      if (data == 0) continue;  // A WILLNEED that failed: only a hint.
      published_.load(std::memory_order_acquire);
      const std::unique_ptr<ChunkOp> op(reinterpret_cast<ChunkOp*>(data));
      ChunkDone(op->request, op->chunk, Outcome(*op, result), finish_);
    }
  }

  // A POPULATE_READ in flight: which chunk of which request.
  struct ChunkOp {
    PrefetchRequest* request;
    size_t chunk;
  };

  // The status of a chunk whose POPULATE_READ returned `result`.
  static absl::Status Outcome(const ChunkOp& op, int result) {
    if (result >= 0) return absl::OkStatus();
    const int err = -result;
    if (err != EFAULT && err != EHWPOISON && !op.request->abandoned()) {
      return PopulateError(err, op.request->ContextOf(op.chunk));
    }
    // The kernel says only that some page failed: ask again, page by page,
    // which one and why.
    return PopulateChunk(*op.request, op.chunk);
  }

  // Its submission queue is filled under submit_mutex_; its completion
  // queue is the reaper's alone.
  io_uring ring_;
  const RequestFinisher finish_;
  Mutex submit_mutex_;
  std::atomic<uint64_t> published_{0};
  std::thread reaper_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeIoUringBackend(
    const PrefetchOptions& options, RequestFinisher finish) {
  if (!HasPopulateRead()) {
    return absl::UnavailableError(
        "this kernel has no MADV_POPULATE_READ (Linux 5.14+)");
  }
  MutexLock lifetime(&ring_lifetime_mutex);
  io_uring ring;
  const int err = io_uring_queue_init(options.ring_entries, &ring, 0);
  if (err < 0) {
    return absl::UnavailableError(absl::StrCat(
        "io_uring_setup(", options.ring_entries, " entries): ", strerror(-err),
        -err == EPERM ? " (io_uring is disabled: kernel.io_uring_disabled)"
                      : ""));
  }
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  const bool has_madvise =
      probe != nullptr && io_uring_opcode_supported(probe, IORING_OP_MADVISE);
  if (probe != nullptr) io_uring_free_probe(probe);
  if (!has_madvise) {
    io_uring_queue_exit(&ring);
    return absl::UnavailableError(
        "io_uring has no IORING_OP_MADVISE (Linux 5.6+)");
  }
  if ((ring.features & IORING_FEAT_NODROP) == 0) {
    io_uring_queue_exit(&ring);
    return absl::UnavailableError(
        "io_uring may drop completions (Linux < 5.5)");
  }
  // Bound the kernel threads that run the requests: [bounded, unbounded].
  unsigned workers[2] = {static_cast<unsigned>(options.io_workers),
                         static_cast<unsigned>(options.io_workers)};
  io_uring_register_iowq_max_workers(&ring, workers);
  return std::make_unique<IoUringBackend>(ring, std::move(finish));
}

}  // namespace mmapio::internal
