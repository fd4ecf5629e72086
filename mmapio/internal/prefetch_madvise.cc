// The madvise backend: MADV_WILLNEED per chunk. The kernel reports nothing
// about completion, so a request completes once it is submitted.

#include <memory>
#include <vector>

#include "mmapio/internal/errors.h"
#include "mmapio/internal/platform.h"
#include "mmapio/internal/prefetch_backend.h"

namespace mmapio::internal {
namespace {

class MadviseBackend : public PrefetchBackendImpl {
 public:
  void Submit(std::vector<PrefetchChunk> chunks, absl::string_view path,
              std::function<void(absl::Status)> done) override {
    absl::Status first_error;
    for (const PrefetchChunk& chunk : chunks) {
      absl::Status status = AdviseMemory(
          chunk.address, chunk.length, Advice::kWillNeed,
          OpContext{"Prefetch", path, chunk.file_offset, chunk.length});
      if (first_error.ok()) first_error = std::move(status);
    }
    done(std::move(first_error));
  }
};

}  // namespace

std::unique_ptr<PrefetchBackendImpl> MakeMadviseBackend() {
  return std::make_unique<MadviseBackend>();
}

}  // namespace mmapio::internal
