// A request in flight in a backend that completes it piece by piece.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_PREFETCH_REQUEST_H_
#define MMAPIO_INTERNAL_PREFETCH_REQUEST_H_

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/prefetch_backend.h"

namespace mmapio::internal {

// Completes once every chunk has; keeps the first error.
class PrefetchRequest {
 public:
  PrefetchRequest(std::vector<PrefetchChunk> chunks, absl::string_view path,
                  std::function<void(absl::Status)> done)
      : chunks_(std::move(chunks)),
        path_(path),
        done_(std::move(done)),
        remaining_(chunks_.size()) {}

  const std::vector<PrefetchChunk>& chunks() const { return chunks_; }

  OpContext ContextOf(size_t chunk) const {
    return OpContext{"Prefetch", path_, chunks_[chunk].file_offset,
                     chunks_[chunk].length};
  }

  // Records that one chunk finished with `status`. Returns true for the last
  // one, whose caller must then call Finish() and delete the request.
  bool ChunkDone(absl::Status status) {
    if (!status.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (first_error_.ok()) first_error_ = std::move(status);
    }
    return remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }

  void Finish() {
    absl::Status status;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      status = std::move(first_error_);
    }
    done_(std::move(status));
  }

 private:
  const std::vector<PrefetchChunk> chunks_;
  // A copy: a cancelled request may outlive its Region.
  const std::string path_;
  std::function<void(absl::Status)> done_;
  std::atomic<size_t> remaining_;
  std::mutex mutex_;
  absl::Status first_error_;
};

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_PREFETCH_REQUEST_H_
