// The prefetch backends of Windows: windows by default, which is the
// workers backend over Windows' platform layer (one PrefetchVirtualMemory
// per request, then guarded touches that wait for the pages); madvise, a
// hint through the same PrefetchVirtualMemory; no io_uring.

#include "absl/status/status.h"
#include "mmapio/internal/prefetch_backend.h"

namespace mmapio::internal {

absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeIoUringBackend(
    const PrefetchOptions&, RequestFinisher) {
  return absl::UnavailableError("io_uring is Linux's: use windows");
}

absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeWindowsBackend(
    const PrefetchOptions& options, RequestFinisher finish) {
  return MakeWorkersBackend(options, std::move(finish));
}

PrefetchBackend DefaultPrefetchBackend() { return PrefetchBackend::kWindows; }

}  // namespace mmapio::internal
