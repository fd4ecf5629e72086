// The fix-up table of the guarded x86-64 accesses (guarded_x86_64.S on
// Linux, guarded_x86_64_windows.S on Windows), and the decision both fault
// handlers make with it: whether a fault is a guarded access's, and where
// that access resumes.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_FAULT_TABLE_H_
#define MMAPIO_INTERNAL_FAULT_TABLE_H_

#include <cstddef>
#include <cstdint>

namespace mmapio::internal {

struct FixupEntry {
  uintptr_t begin;
  uintptr_t end;
  uintptr_t fixup;
  // Whether the instruction is a copy's, which touches two buffers.
  uint64_t copies;
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

// Where to resume after a fault at `address` by the instruction at `pc`,
// or 0 when the fault is not a guarded access's: `pc` is no guarded
// instruction, or it is a copy's and `address` lies outside the copy's
// mapped buffer [copy_begin, copy_end). Async-signal-safe.
inline uintptr_t FixupFor(uintptr_t pc, uintptr_t address, uintptr_t copy_begin,
                          uintptr_t copy_end) {
#if defined(__x86_64__)
  for (uint64_t i = 0; i < mmapio_fault_table_entries; ++i) {
    const FixupEntry& entry = mmapio_fault_table[i];
    if (pc >= entry.begin && pc < entry.end) {
      if (entry.copies != 0 && (address < copy_begin || address >= copy_end)) {
        return 0;  // The other buffer: not the mapping guarded.
      }
      return entry.fixup;
    }
  }
#else
  (void)pc;
  (void)address;
  (void)copy_begin;
  (void)copy_end;
#endif
  return 0;
}

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_FAULT_TABLE_H_
