// The madvise backend: MADV_WILLNEED per chunk. The kernel reports nothing
// about completion, so a request completes once it is submitted.

#include <memory>
#include <utility>

#include "mmapio/internal/platform.h"
#include "mmapio/internal/prefetch_backend.h"

namespace mmapio::internal {
namespace {

class MadviseBackend : public PrefetchBackendImpl {
 public:
  explicit MadviseBackend(RequestFinisher finish)
      : finish_(std::move(finish)) {}

  void Submit(PrefetchRequest* request) override {
    // The last ChunkDone finishes and frees the request.
    const size_t chunks = request->chunks().size();
    for (size_t i = 0; i < chunks; ++i) {
      const PrefetchChunk& chunk = request->chunks()[i];
      ChunkDone(request, i,
                AdviseMemory(chunk.address, chunk.length, Advice::kWillNeed,
                             request->ContextOf(i)),
                finish_);
    }
  }

 private:
  const RequestFinisher finish_;
};

}  // namespace

std::unique_ptr<PrefetchBackendImpl> MakeMadviseBackend(
    RequestFinisher finish) {
  return std::make_unique<MadviseBackend>(std::move(finish));
}

}  // namespace mmapio::internal
