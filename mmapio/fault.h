// Faults as values: the SIGBUS handler behind mmapio's guarded operations,
// and what a fault Status carries.
//
// A read or write of a mapped file raises SIGBUS when the page cannot be
// provided: the file was truncated below it, the device failed (EIO), a
// write found no space (a full tmpfs, a sparse file on a full disk), or the
// memory is poisoned. Inside mmapio's guarded operations (mmapio/guarded.h)
// such a fault becomes a Status; anywhere else it goes, unchanged, to the
// handler that was installed before mmapio's (SA_SIGINFO or plain), or to the
// default action, which dumps core. SIGSEGV is never touched.
//
// On Windows the same holds for in-page errors (EXCEPTION_IN_PAGE_ERROR)
// and access violations on pages of mapped files, met by a vectored
// exception handler; any other exception continues its search.
//
// Installation is automatic on the first guarded operation; call
// InstallFaultHandler() earlier to learn of a failure at start-up. A program
// that owns SIGBUS itself (a JVM, a runtime with its own handler) uses
// mmapio/fault_signal.h instead.
//
// Thread safety: every function may be called from any thread.

#ifndef MMAPIO_FAULT_H_
#define MMAPIO_FAULT_H_

#include "absl/status/status.h"
#include "mmapio/export.h"
#include "mmapio/fault_info.h"

namespace mmapio {

MMAPIO_BEGIN_EXPORTS

// Installs mmapio's SIGBUS handler, once per process; later calls return the
// first one's result. FailedPrecondition when the handler could not be put
// in place, for example under AddressSanitizer with handle_sigbus=2, which
// silently keeps its own: run with ASAN_OPTIONS=handle_sigbus=0 or 1.
absl::Status InstallFaultHandler();

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_FAULT_H_
