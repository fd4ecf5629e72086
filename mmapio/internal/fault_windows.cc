// fault_guard.h on Windows: a vectored exception handler with the same
// fix-up table as the Linux SIGBUS handler (fault_table.h, with
// guarded_x86_64_windows.S), so that an access that does not fault costs the
// same as there.
//
// Inside a guarded access the handler accepts EXCEPTION_IN_PAGE_ERROR (a
// page the file could not provide; its third parameter is the NTSTATUS,
// kept as FaultInfo::si_code) and EXCEPTION_ACCESS_VIOLATION on a page of a
// mapped file (how Wine reports the same, and what a PAGE_NOACCESS page of
// a view raises): it moves Rip to the access's fix-up and continues there.
// Anything else, and any exception outside a guarded access, continues the
// search, so that the process dies as it would without mmapio.

#include <windows.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "mmapio/fault.h"
#include "mmapio/internal/fast_load.h"
#include "mmapio/internal/fault_guard.h"
#include "mmapio/internal/fault_table.h"
#include "mmapio/internal/mutex.h"

namespace mmapio::internal {

namespace {

// A RunGuarded in progress: a fault at an address in [begin, end), the
// innermost such scope of its thread, resumes in Land, which jumps back
// into RunGuarded.
struct VisitScope {
  VisitScope(uintptr_t begin, uintptr_t end) : begin(begin), end(end) {}

  // __builtin_setjmp's buffer: five words, restored without unwinding, as
  // sigsetjmp's is on Linux.
  void* jump[5] = {};
  uintptr_t begin;
  uintptr_t end;
  FaultRecord fault;
  VisitScope* outer = nullptr;
};

// Per-thread state the handler reads and writes.
struct ThreadState {
  FaultRecord last;
  VisitScope* visit;
  // The mapped buffer of the copy in progress.
  CopyRange copy;
};
thread_local constinit ThreadState thread_state = {};

enum InstallState : int { kNotInstalled, kInstalled };

Mutex install_mutex;
absl::Status install_result ABSL_GUARDED_BY(install_mutex);

// Visits in progress on any thread: the handler looks at this thread's
// scopes (thread-local state, which mingw-w64 allocates on first use) only
// while some exist.
std::atomic<int> active_visits{0};

// Whether an access violation of `record` at `address` is one a guarded
// access may meet on a mapped file: a read, or a write to a view that may
// be written, of a page of a mapped file (a PAGE_NOACCESS page, or under
// Wine a page past the end of a truncated file). Not an execute fault, and
// not a write to a read-only view, which are the program's own bugs.
bool GuardedAccessViolation(const EXCEPTION_RECORD& record, uintptr_t address) {
  const ULONG_PTR access = record.ExceptionInformation[0];
  if (access != 0 && access != 1) return false;
  MEMORY_BASIC_INFORMATION info;
  if (VirtualQuery(reinterpret_cast<const void*>(address), &info,
                   sizeof(info)) != sizeof(info) ||
      info.Type != MEM_MAPPED) {
    return false;
  }
  constexpr DWORD kWritable = PAGE_READWRITE | PAGE_WRITECOPY |
                              PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY;
  return access == 0 || (info.AllocationProtect & kWritable) != 0;
}

// Where a RunGuarded whose scope faulted resumes: on the faulting thread's
// stack, below the faulting frame, from which it jumps back.
[[noreturn]] void Land(VisitScope* scope) { __builtin_longjmp(scope->jump, 1); }

LONG CALLBACK OnException(EXCEPTION_POINTERS* exception) {
  const EXCEPTION_RECORD& record = *exception->ExceptionRecord;
  const DWORD code = record.ExceptionCode;
  if ((code != EXCEPTION_IN_PAGE_ERROR && code != EXCEPTION_ACCESS_VIOLATION) ||
      record.NumberParameters < 2) {
    return EXCEPTION_CONTINUE_SEARCH;
  }
  CONTEXT& context = *exception->ContextRecord;
  // Cheap checks first: most exceptions of a process are not ours, and
  // this costs them no system call and no thread-local state.
  const FixupEntry* entry = FixupEntryAt(static_cast<uintptr_t>(context.Rip));
  if (entry == nullptr && active_visits.load(std::memory_order_acquire) == 0) {
    return EXCEPTION_CONTINUE_SEARCH;
  }
  const uintptr_t address = record.ExceptionInformation[1];
  // The NTSTATUS of an in-page error says why the page could not be read.
  const int fault_code =
      code == EXCEPTION_IN_PAGE_ERROR && record.NumberParameters >= 3
          ? static_cast<int>(record.ExceptionInformation[2])
          : static_cast<int>(code);
  const auto ours = [&] {
    return code == EXCEPTION_IN_PAGE_ERROR ||
           GuardedAccessViolation(record, address);
  };
  if (entry != nullptr) {
    const uintptr_t fixup = FixupFor(entry, address, thread_state.copy);
    if (fixup == 0 || !ours()) return EXCEPTION_CONTINUE_SEARCH;
    thread_state.last = {address, fault_code};
    context.Rip = fixup;
    return EXCEPTION_CONTINUE_EXECUTION;
  }
  for (VisitScope* scope = thread_state.visit; scope != nullptr;
       scope = scope->outer) {
    if (address >= scope->begin && address < scope->end) {
      if (!ours()) return EXCEPTION_CONTINUE_SEARCH;
      scope->fault = {address, fault_code};
      thread_state.visit = scope->outer;
      // Call Land(scope) as if from the faulting instruction, leaving the
      // callee's 32-byte home area and a return address slot below the
      // faulting frame, aligned as the convention wants at a call.
      context.Rsp = ((context.Rsp - 128) & ~DWORD64{15}) - 8;
      context.Rcx = reinterpret_cast<DWORD64>(scope);
      context.Rip = reinterpret_cast<DWORD64>(&Land);
      return EXCEPTION_CONTINUE_EXECUTION;
    }
  }
  return EXCEPTION_CONTINUE_SEARCH;
}

absl::Status Install() {
  MutexLock lock(&install_mutex);
  if (mmapio_fault_handler_state.load(std::memory_order_acquire) !=
      kNotInstalled) {
    return install_result;
  }
  // First in the chain: a fault in a guarded access is ours before any
  // other handler sees it; the others still see every other exception.
  if (AddVectoredExceptionHandler(1, &OnException) == nullptr) {
    install_result = absl::FailedPreconditionError(absl::StrCat(
        "InstallFaultHandler: AddVectoredExceptionHandler failed (Windows "
        "error ",
        GetLastError(), ")"));
    return install_result;
  }
  install_result = absl::OkStatus();
  mmapio_fault_handler_state.store(kInstalled, std::memory_order_release);
  return install_result;
}

void Enter(VisitScope& scope) {
  active_visits.fetch_add(1, std::memory_order_acq_rel);
  scope.outer = thread_state.visit;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  thread_state.visit = &scope;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

// After the scope ended normally, or after the handler left it for Land.
void Leave(const VisitScope& scope) {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  thread_state.visit = scope.outer;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  active_visits.fetch_sub(1, std::memory_order_acq_rel);
}

// Chosen once, when the program starts, before any copy can run.
[[maybe_unused]] const bool copy_dispatch_ready = [] {
  mmapio_copy_has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
  return true;
}();

}  // namespace

FaultRecord LastFault() { return thread_state.last; }

absl::Status EnsureFaultHandler() {
  if (mmapio_fault_handler_state.load(std::memory_order_acquire) !=
      kNotInstalled) {
    return absl::OkStatus();
  }
  return Install();
}

std::optional<FaultRecord> RunGuarded(const void* begin, size_t length,
                                      absl::FunctionRef<void()> body) {
  const auto first = reinterpret_cast<uintptr_t>(begin);
  VisitScope scope(first, first + length);
  if (__builtin_setjmp(scope.jump) != 0) {
    Leave(scope);
    return scope.fault;
  }
  Enter(scope);
  body();
  Leave(scope);
  return std::nullopt;
}

size_t CopyGuarded(void* destination, const void* source, size_t n,
                   MappedSide mapped) {
  return CopyPublishingRange(
      thread_state.copy, destination, source, n,
      mapped == MappedSide::kSource ? source : destination);
}

LoadResult LoadGuarded(const void* source, size_t size) {
  return LoadOfSize(source, size);
}

}  // namespace mmapio::internal

namespace mmapio {

absl::Status InstallFaultHandler() { return internal::EnsureFaultHandler(); }

}  // namespace mmapio
