// The fix-up table of the guarded x86-64 accesses (guarded_x86_64.S on
// Linux, guarded_x86_64_windows.S on Windows), and the decision both fault
// handlers make with it: whether a fault is a guarded access's, and where
// that access resumes.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_FAULT_TABLE_H_
#define MMAPIO_INTERNAL_FAULT_TABLE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mmapio/internal/fast_load.h"

namespace mmapio::internal {

struct FixupEntry {
  uintptr_t begin;
  uintptr_t end;
  uintptr_t fixup;
  // Whether the instruction is a copy's, which touches two buffers.
  uint64_t copies;
};

// The mapped buffer of the guarded copy in progress on a thread, which
// FixupFor needs: each OS keeps one per thread where its handler finds it.
struct CopyRange {
  uintptr_t begin = 0;
  uintptr_t end = 0;
};

}  // namespace mmapio::internal

#if defined(__x86_64__)
extern "C" {
size_t mmapio_guarded_copy(void* destination, const void* source, size_t n);
extern const mmapio::internal::FixupEntry mmapio_fault_table[];
extern unsigned char mmapio_copy_has_avx2;
extern const uint64_t mmapio_fault_table_entries;
}
#endif

namespace mmapio::internal {

// The entry of the guarded instruction at `pc`, or null. Async-signal-safe.
inline const FixupEntry* FixupEntryAt(uintptr_t pc) {
#if defined(__x86_64__)
  for (uint64_t i = 0; i < mmapio_fault_table_entries; ++i) {
    const FixupEntry& entry = mmapio_fault_table[i];
    if (pc >= entry.begin && pc < entry.end) return &entry;
  }
#else
  (void)pc;
#endif
  return nullptr;
}

// Where to resume after a fault at `address` by the instruction of `entry`
// (FixupEntryAt), or 0 when the fault is not a guarded access's: there is
// no entry, or it is a copy's and `address` lies outside the copy's mapped
// buffer `copy`. Async-signal-safe.
inline uintptr_t FixupFor(const FixupEntry* entry, uintptr_t address,
                          const CopyRange& copy) {
  if (entry == nullptr) return 0;
  if (entry->copies != 0 && (address < copy.begin || address >= copy.end)) {
    return 0;  // The other buffer: not the mapping guarded.
  }
  return entry->fixup;
}

#if defined(__x86_64__)

// mmapio_guarded_copy with `current` (the thread's CopyRange) set to the
// mapped side while it runs. A copy made by a handler interrupting this one
// keeps its own range and restores this one's.
inline size_t CopyPublishingRange(CopyRange& current, void* destination,
                                  const void* source, size_t n,
                                  const void* mapped) {
  const CopyRange outer = current;
  const auto begin = reinterpret_cast<uintptr_t>(mapped);
  current = {begin, begin + n};
  std::atomic_signal_fence(std::memory_order_seq_cst);
  const size_t left = mmapio_guarded_copy(destination, source, n);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  current = outer;
  return left;
}

// The guarded load of `size` (1, 2, 4 or 8) bytes.
inline LoadResult LoadOfSize(const void* source, size_t size) {
  switch (size) {
    case 1:
      return mmapio_guarded_load8(source);
    case 2:
      return mmapio_guarded_load16(source);
    case 4:
      return mmapio_guarded_load32(source);
    default:
      return mmapio_guarded_load64(source);
  }
}

#endif

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_FAULT_TABLE_H_
