// The backends behind PrefetchEngine: one interface, one file each
// (prefetch_io_uring.cc, prefetch_workers.cc, prefetch_madvise.cc), and per
// OS which of them run there (prefetch_backends_linux.cc,
// prefetch_backends_windows.cc).
//
// The engine hands each request to its backend from the engine's own
// dispatch thread, never from the thread that asked: Submit may sleep
// (MADV_WILLNEED waits when the device's request queue is full) without
// stalling a caller.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_PREFETCH_BACKEND_H_
#define MMAPIO_INTERNAL_PREFETCH_BACKEND_H_

#include <cstddef>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/page_failure.h"
#include "mmapio/internal/prefetch_request.h"
#include "mmapio/prefetch.h"

namespace mmapio::internal {

// Called exactly once per request, when it has completed: with the request
// and its outcome. Takes ownership of the request.
using RequestFinisher = std::function<void(PrefetchRequest*, absl::Status)>;

class PrefetchBackendImpl {
 public:
  // Returns once every submitted request has been finished.
  virtual ~PrefetchBackendImpl() = default;

  // Starts reading `request` in; the backend calls its finisher once every
  // chunk has completed, with the first error or OK. Called by one thread
  // at a time.
  virtual void Submit(PrefetchRequest* request) = 0;

  // Faults chunk `chunk` of `request` in (MADV_POPULATE_READ) and says why
  // a page could not be read (PopulateFileMemory). Cancelled, reading
  // nothing, once the request's caller has gone (a cancelled AsyncEngine
  // request), whose mapping may be gone too.
  static absl::Status PopulateChunk(const PrefetchRequest& request,
                                    size_t chunk) {
    const OpContext context = request.ContextOf(chunk);
    if (request.abandoned()) {
      return MakeError(absl::StatusCode::kCancelled, context, "abandoned");
    }
    const PrefetchChunk& pages = request.chunks()[chunk];
    return PopulateFileMemory(static_cast<int>(request.stream()), pages.address,
                              pages.length, pages.file_offset, context);
  }

  // Records that chunk `chunk` of `request` completed with `status`;
  // finishes the request after its last chunk.
  static void ChunkDone(PrefetchRequest* request, size_t chunk,
                        absl::Status status, const RequestFinisher& finish) {
    if (request->ChunkDone(chunk, std::move(status))) {
      finish(request, request->TakeStatus());
    }
  }
};

// Each fails with Unavailable, saying why, where the backend cannot run.
absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeIoUringBackend(
    const PrefetchOptions& options, RequestFinisher finish);
absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeWorkersBackend(
    const PrefetchOptions& options, RequestFinisher finish);
std::unique_ptr<PrefetchBackendImpl> MakeMadviseBackend(RequestFinisher finish);
absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeWindowsBackend(
    const PrefetchOptions& options, RequestFinisher finish);

// The backend kAuto means on this OS (prefetch_backends_linux.cc,
// prefetch_backends_windows.cc).
PrefetchBackend DefaultPrefetchBackend();

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_PREFETCH_BACKEND_H_
