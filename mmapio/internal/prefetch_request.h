// A prefetch request between PrefetchEngine and a backend.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_PREFETCH_REQUEST_H_
#define MMAPIO_INTERNAL_PREFETCH_REQUEST_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/mutex.h"

namespace mmapio::internal {

// A page-aligned piece of a request, inside a mapping.
struct PrefetchChunk {
  std::byte* address;
  size_t length;
  uint64_t file_offset;  // For error messages.
};

// Most requests are one chunk (a random page, a small record): no second
// allocation for them.
using PrefetchChunks = absl::InlinedVector<PrefetchChunk, 1>;

// The whole pages of one request, its caller's callback, and the state that
// completes it once every chunk has: chunks may finish on different threads.
class PrefetchRequest {
 public:
  // `operation` names the request in error messages: a static string.
  PrefetchRequest(PrefetchChunks chunks, absl::string_view operation,
                  absl::string_view path, uint64_t bytes, bool advise,
                  uint64_t stream, std::function<void(absl::Status)> done,
                  std::stop_token cancel)
      : chunks_(std::move(chunks)),
        operation_(operation),
        path_(path),
        bytes_(bytes),
        advise_(advise),
        stream_(stream),
        cancel_(std::move(cancel)),
        done_(std::move(done)),
        remaining_(chunks_.size()) {}

  const PrefetchChunks& chunks() const { return chunks_; }
  uint64_t bytes() const { return bytes_; }
  // Whether the backend should start the reads with MADV_WILLNEED before it
  // waits for them; otherwise the wait's own fault reads, with the kernel's
  // readahead (see PrefetchEngine::Start).
  bool advise() const { return advise_; }
  // The descriptor of the file the chunks map. Requests with the same
  // stream read the same file: a backend keeps those read by their faults
  // in order on one thread.
  uint64_t stream() const { return stream_; }
  // Whether the caller no longer wants the pages read.
  bool abandoned() const { return cancel_.stop_requested(); }

  OpContext ContextOf(size_t chunk) const {
    return OpContext{operation_, path_, chunks_[chunk].file_offset,
                     chunks_[chunk].length};
  }
  OpContext Context() const {
    return OpContext{operation_, path_, chunks_.front().file_offset, bytes_};
  }

  // Records that chunk `chunk` finished with `status`. Returns true for the
  // last one, whose caller then owns the request's completion.
  bool ChunkDone(size_t chunk, absl::Status status) {
    if (!status.ok()) {
      MutexLock lock(&mutex_);
      if (chunk < first_error_chunk_) {
        first_error_chunk_ = chunk;
        first_error_ = std::move(status);
      }
    }
    return remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }

  // The error of the first chunk in the file that failed (whichever failed
  // first in time), or OK; once every chunk is done.
  absl::Status TakeStatus() {
    MutexLock lock(&mutex_);
    return std::move(first_error_);
  }

  // Runs the caller's callback; once.
  void RunCallback(absl::Status status) {
    std::exchange(done_, nullptr)(std::move(status));
  }

 private:
  const PrefetchChunks chunks_;
  const absl::string_view operation_;
  // A copy: a cancelled read may outlive its Region.
  const std::string path_;
  const uint64_t bytes_;
  const bool advise_;
  const uint64_t stream_;
  const std::stop_token cancel_;
  std::function<void(absl::Status)> done_;
  std::atomic<size_t> remaining_;
  Mutex mutex_;
  size_t first_error_chunk_ ABSL_GUARDED_BY(mutex_) = SIZE_MAX;
  absl::Status first_error_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_PREFETCH_REQUEST_H_
