// The machinery under the guarded operations of mmapio/guarded.h: accesses
// that return instead of dying when a page faults with SIGBUS, and the
// thread's record of the last such fault.
//
// Not part of the public API. One implementation per OS
// (fault_linux.cc with guarded_x86_64.S).

#ifndef MMAPIO_INTERNAL_FAULT_GUARD_H_
#define MMAPIO_INTERNAL_FAULT_GUARD_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "mmapio/internal/fast_load.h"

namespace mmapio::internal {

// What the fault handler saw, for the thread that faulted.
struct FaultRecord {
  uintptr_t address = 0;
  int si_code = 0;
};

// The last fault the handler turned into a return on this thread.
FaultRecord LastFault();

// Installs the SIGBUS handler once per process, from any thread. OK when it
// is in place; FailedPrecondition when something (AddressSanitizer with
// handle_sigbus=2, a seccomp filter) kept it out.
absl::Status EnsureFaultHandler();

// Which buffer of a guarded copy is the mapping whose faults it guards.
enum class MappedSide { kSource, kDestination };

// Copies n bytes; returns how many were NOT copied because a page of the
// `mapped` side faulted (0 on success). The fault is then in LastFault(). A
// fault on the other buffer is not the copy's: it goes to the previous
// handler or the default action, as any foreign fault does.
size_t CopyGuarded(void* destination, const void* source, size_t n,
                   MappedSide mapped);

// Loads 1, 2, 4 or 8 bytes; `faulted` set when the page faulted.
LoadResult LoadGuarded(const void* source, size_t size);

// Runs `body` with [begin, begin + length) guarded: a fault there ends the
// body early, at the faulting access, and RunGuarded returns it; nullopt
// when the body ran to its end. Faults elsewhere are foreign, as always.
// The body must hold nothing that needs unwinding at the point where it may
// fault (no locks, no owning locals): it is abandoned there, not unwound.
// Costs a sigsetjmp (without the signal mask): for arbitrary code, where
// the fix-up table of the copy and load routines cannot apply.
std::optional<FaultRecord> RunGuarded(const void* begin, size_t length,
                                      absl::FunctionRef<void()> body);

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_FAULT_GUARD_H_
