// The inline fast path of GuardedLoad (mmapio/guarded.h): a guarded load
// that the caller's compiler can see down to one call, so that a load that
// does not fault costs about as much as a function call.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_FAST_LOAD_H_
#define MMAPIO_INTERNAL_FAST_LOAD_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mmapio/export.h"

// Nonzero once a SIGBUS reaches mmapio's handler (installed, or an
// embedder's that forwards to HandleFault); defined in fault_*.cc. The inline
// fast path reads it in the caller's code, so a shared library exports it:
// C linkage keeps its name out of mmapio::internal.
extern "C" MMAPIO_EXPORT std::atomic<int> mmapio_fault_handler_state;

namespace mmapio::internal {

inline bool FaultHandlerReady() {
  return mmapio_fault_handler_state.load(std::memory_order_acquire) != 0;
}

struct LoadResult {
  uint64_t value;
  uint64_t faulted;  // Nonzero when the page faulted; value is then 0.
};

}  // namespace mmapio::internal

#if defined(__x86_64__)
extern "C" {
// In guarded_x86_64.S; the pair comes back in rax:rdx.
mmapio::internal::LoadResult mmapio_guarded_load8(const void* source);
mmapio::internal::LoadResult mmapio_guarded_load16(const void* source);
mmapio::internal::LoadResult mmapio_guarded_load32(const void* source);
mmapio::internal::LoadResult mmapio_guarded_load64(const void* source);
}
#endif

namespace mmapio::internal {

// Whether FastLoad<size> exists on this architecture.
template <size_t size>
inline constexpr bool kHasFastLoad =
#if defined(__x86_64__)
    size == 1 || size == 2 || size == 4 || size == 8;
#else
    false;
#endif

template <size_t size>
inline LoadResult FastLoad(const void* source) {
#if defined(__x86_64__)
  if constexpr (size == 1) return mmapio_guarded_load8(source);
  if constexpr (size == 2) return mmapio_guarded_load16(source);
  if constexpr (size == 4) return mmapio_guarded_load32(source);
  if constexpr (size == 8) return mmapio_guarded_load64(source);
#endif
  (void)source;
  return {0, 1};
}

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_FAST_LOAD_H_
