// For programs that own SIGBUS themselves (a JVM, a runtime with its own
// handler), on Linux: they call UseEmbedderFaultHandler() before any guarded
// operation and forward every SIGBUS to HandleFault() first. See
// mmapio/fault.h for what mmapio does with a fault.
//
// Example:
//   mmapio::UseEmbedderFaultHandler();
//   // In the program's own SA_SIGINFO handler for SIGBUS:
//   //   if (mmapio::HandleFault(signal_number, info, ucontext)) return;
//
// Thread safety: every function may be called from any thread.

#ifndef MMAPIO_FAULT_SIGNAL_H_
#define MMAPIO_FAULT_SIGNAL_H_

#include <signal.h>

#include "mmapio/export.h"

namespace mmapio {

MMAPIO_BEGIN_EXPORTS

// Declares that the program's own SIGBUS handler calls HandleFault(); mmapio
// then installs nothing.
void UseEmbedderFaultHandler();

// For a program's own SIGBUS handler: returns true when the fault happened in
// a guarded operation and has been dealt with (the handler must then return
// at once, or not at all: a guarded visit does not return here). Returns
// false for any other fault, which remains the caller's to handle.
// Async-signal-safe.
bool HandleFault(int signal_number, siginfo_t* info, void* ucontext);

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_FAULT_SIGNAL_H_
