#include "mmapio/prefetch_stats.h"

#include "absl/strings/str_format.h"

namespace mmapio {
namespace {

std::string Bytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrFormat("%d B", bytes);
  if (bytes < (uint64_t{1} << 20))
    return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  if (bytes < (uint64_t{1} << 30)) {
    return absl::StrFormat("%.1f MiB", bytes / (1024.0 * 1024.0));
  }
  return absl::StrFormat("%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
}

}  // namespace

std::string PrefetchStats::ToString() const {
  return absl::StrFormat(
      "requests=%d requested=%s completed=%s hits=%s major_faults=%d wasted=%s "
      "errors=%d window=%s",
      requests, Bytes(bytes_requested), Bytes(bytes_completed),
      Bytes(hit_bytes), major_faults, Bytes(wasted_bytes), errors,
      Bytes(window_bytes));
}

PrefetchStats PrefetchStatsCounter::Snapshot() const {
  PrefetchStats stats;
  stats.requests = requests_.load(std::memory_order_relaxed);
  stats.bytes_requested = bytes_requested_.load(std::memory_order_relaxed);
  stats.bytes_completed = bytes_completed_.load(std::memory_order_relaxed);
  stats.hit_bytes = hit_bytes_.load(std::memory_order_relaxed);
  stats.major_faults = major_faults_.load(std::memory_order_relaxed);
  stats.wasted_bytes = wasted_bytes_.load(std::memory_order_relaxed);
  stats.errors = errors_.load(std::memory_order_relaxed);
  stats.window_bytes = window_bytes_.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace mmapio
