// The prefetch backends of Linux: all but windows; workers by default, the
// fastest here for random pages and sequential chunks alike
// (bench/RESULTS.md), and one that works wherever threads do.

#include "absl/status/status.h"
#include "mmapio/internal/prefetch_backend.h"

namespace mmapio::internal {

absl::StatusOr<std::unique_ptr<PrefetchBackendImpl>> MakeWindowsBackend(
    const PrefetchOptions&, RequestFinisher) {
  return absl::UnavailableError(
      "the windows prefetch backend (PrefetchVirtualMemory) runs on Windows "
      "only");
}

PrefetchBackend DefaultPrefetchBackend() { return PrefetchBackend::kWorkers; }

}  // namespace mmapio::internal
