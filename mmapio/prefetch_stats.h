// Counters of prefetching, per engine and per stream: plain values to read
// and print.

#ifndef MMAPIO_PREFETCH_STATS_H_
#define MMAPIO_PREFETCH_STATS_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "mmapio/export.h"

namespace mmapio {

MMAPIO_BEGIN_EXPORTS

// A snapshot. Bytes are whole pages.
struct PrefetchStats {
  uint64_t requests = 0;         // Prefetch requests made.
  uint64_t bytes_requested = 0;  // Their bytes.
  uint64_t bytes_completed = 0;  // Resident (or, for madvise, requested).
  uint64_t hit_bytes = 0;        // Read by the consumer while resident.
  uint64_t major_faults = 0;     // Taken by the consumer anyway: misses.
  uint64_t wasted_bytes = 0;     // Prefetched, then evicted or never read.
  uint64_t errors = 0;           // Requests that failed.
  uint64_t window_bytes = 0;     // The current prefetch window (streams).

  // "requests=3 requested=6.0 MiB completed=6.0 MiB hits=4.0 MiB ...".
  std::string ToString() const;
};

// The live counters behind a PrefetchStats; thread-safe.
class PrefetchStatsCounter {
 public:
  void AddRequest(uint64_t bytes) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    bytes_requested_.fetch_add(bytes, std::memory_order_relaxed);
  }
  void AddCompleted(uint64_t bytes) {
    bytes_completed_.fetch_add(bytes, std::memory_order_relaxed);
  }
  void AddHit(uint64_t bytes) {
    hit_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  }
  void AddMajorFaults(uint64_t n) {
    major_faults_.fetch_add(n, std::memory_order_relaxed);
  }
  void AddWasted(uint64_t bytes) {
    wasted_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  }
  void AddError() { errors_.fetch_add(1, std::memory_order_relaxed); }
  void SetWindow(uint64_t bytes) {
    window_bytes_.store(bytes, std::memory_order_relaxed);
  }

  PrefetchStats Snapshot() const;

 private:
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bytes_requested_{0};
  std::atomic<uint64_t> bytes_completed_{0};
  std::atomic<uint64_t> hit_bytes_{0};
  std::atomic<uint64_t> major_faults_{0};
  std::atomic<uint64_t> wasted_bytes_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> window_bytes_{0};
};

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_PREFETCH_STATS_H_
