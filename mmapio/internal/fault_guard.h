// The machinery under the guarded operations of mmapio/guarded.h: accesses
// that return instead of dying when a page faults with SIGBUS, and the
// thread's record of the last such fault.
//
// Not part of the public API. One implementation per OS
// (fault_linux.cc with guarded_x86_64.S).

#ifndef MMAPIO_INTERNAL_FAULT_GUARD_H_
#define MMAPIO_INTERNAL_FAULT_GUARD_H_

#include <setjmp.h>

#include <cstddef>
#include <cstdint>

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

// A guarded stretch of arbitrary code: a SIGBUS at an address in
// [begin, end) while it is the innermost scope of this thread jumps back to
// where Enter() returned, which then returns true. Use as
//
//   VisitScope scope(begin, end);
//   if (sigsetjmp(scope.jump, 0) != 0) { /* faulted: scope.fault */ }
//   scope.Enter(); ... scope.Leave();
struct VisitScope {
  VisitScope(uintptr_t begin, uintptr_t end) : begin(begin), end(end) {}

  void Enter();
  void Leave();

  sigjmp_buf jump;
  uintptr_t begin;
  uintptr_t end;
  FaultRecord fault;
  VisitScope* outer = nullptr;
};

// Call where a VisitScope's sigsetjmp returned from a fault. The jump left a
// signal handler: ours runs with SA_NODEFER, but a runtime in between
// (ThreadSanitizer, an embedder's handler) may have blocked SIGBUS for it,
// and a SIGBUS that arrives blocked kills the process.
void AfterVisitFault();

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_FAULT_GUARD_H_
