// The backends behind PrefetchEngine: one interface, one file each
// (prefetch_io_uring.cc, prefetch_workers.cc, prefetch_madvise.cc).
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_PREFETCH_BACKEND_H_
#define MMAPIO_INTERNAL_PREFETCH_BACKEND_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mmapio/prefetch.h"

namespace mmapio::internal {

// A page-aligned piece of a request, inside a mapping.
struct PrefetchChunk {
  std::byte* address;
  size_t length;
  uint64_t file_offset;  // For error messages.
};

class PrefetchBackendImpl {
 public:
  // Returns once every submitted request has completed.
  virtual ~PrefetchBackendImpl() = default;

  // Reads `chunks` of the file at `path` in; calls `done` exactly once, with
  // the first error or OK. `path` outlives the request.
  virtual void Submit(std::vector<PrefetchChunk> chunks, absl::string_view path,
                      std::function<void(absl::Status)> done) = 0;
};

// Each fails with Unavailable, saying why, where the backend cannot run.
absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeIoUringBackend(
    const PrefetchOptions& options);
absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeWorkersBackend(
    const PrefetchOptions& options);
std::unique_ptr<PrefetchBackendImpl> MakeMadviseBackend();

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_PREFETCH_BACKEND_H_
