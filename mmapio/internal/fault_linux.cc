// The SIGBUS handler and the guarded accesses it serves (Linux).

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "mmapio/fault.h"
#include "mmapio/fault_signal.h"
#include "mmapio/internal/fast_load.h"
#include "mmapio/internal/fault_guard.h"
#include "mmapio/internal/fault_table.h"
#include "mmapio/internal/mutex.h"

namespace mmapio::internal {

namespace {

// A RunGuarded in progress: a SIGBUS at an address in [begin, end), the
// innermost such scope of its thread, jumps back into RunGuarded.
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

// Per-thread state the handler reads and writes. Initial-exec TLS: reaching
// it from a signal handler must not allocate, even in a dlopen'ed library.
struct ThreadState {
  FaultRecord last;
  VisitScope* visit;
  // The mapped buffer of the copy in progress.
  CopyRange copy;
};
__attribute__((tls_model(
    "initial-exec"))) thread_local constinit ThreadState thread_state = {};

enum InstallState : int { kNotInstalled, kInstalled, kEmbedded };

Mutex install_mutex;
// The handler ours replaced, for faults that are not ours. Written once,
// before ours is installed; read by the handler, which takes no lock.
struct sigaction previous_action;
absl::Status install_result ABSL_GUARDED_BY(install_mutex);

uintptr_t ProgramCounter(void* ucontext) {
#if defined(__x86_64__)
  return static_cast<uintptr_t>(
      static_cast<ucontext_t*>(ucontext)->uc_mcontext.gregs[REG_RIP]);
#else
  (void)ucontext;
  return 0;
#endif
}

void SetProgramCounter(void* ucontext, uintptr_t pc) {
#if defined(__x86_64__)
  static_cast<ucontext_t*>(ucontext)->uc_mcontext.gregs[REG_RIP] =
      static_cast<greg_t>(pc);
#else
  (void)ucontext;
  (void)pc;
#endif
}

bool ResumeAtFixup(siginfo_t* info, void* ucontext) {
  const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
  const uintptr_t fixup = FixupFor(FixupEntryAt(ProgramCounter(ucontext)),
                                   address, thread_state.copy);
  if (fixup == 0) return false;
  thread_state.last = {address, info->si_code};
  SetProgramCounter(ucontext, fixup);
  return true;
}

void JumpOutOfVisit(siginfo_t* info) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
  for (VisitScope* scope = thread_state.visit; scope != nullptr;
       scope = scope->outer) {
    if (address >= scope->begin && address < scope->end) {
      scope->fault = {address, info->si_code};
      thread_state.visit = scope->outer;
      // sigsetjmp(jump, 0) saved no mask and SA_NODEFER left SIGBUS
      // unblocked, so nothing needs restoring on the way out.
      siglongjmp(scope->jump, 1);
    }
  }
}

// Passes a fault that is not ours to the handler installed before ours, or
// lets the default action kill the process.
void Chain(int signal_number, siginfo_t* info, void* ucontext) {
  const struct sigaction& previous = previous_action;
  if ((previous.sa_flags & SA_SIGINFO) != 0 &&
      previous.sa_sigaction != nullptr) {
    previous.sa_sigaction(signal_number, info, ucontext);
    return;
  }
  if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN &&
      previous.sa_handler != nullptr) {
    previous.sa_handler(signal_number);
    return;
  }
  // The default action: restore it and return. A fault re-executes the
  // faulting instruction and is delivered again, now fatally, with a core
  // dump that points at it; a SIGBUS sent by kill(2) must be re-raised.
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  sigaction(SIGBUS, &default_action, nullptr);
  if (info->si_code <= 0) raise(SIGBUS);
}

void SigbusHandler(int signal_number, siginfo_t* info, void* ucontext) {
  const int saved_errno = errno;
  if (!HandleFault(signal_number, info, ucontext))
    Chain(signal_number, info, ucontext);
  errno = saved_errno;
}

absl::Status Install() {
  MutexLock lock(&install_mutex);
  const int state = mmapio_fault_handler_state.load(std::memory_order_acquire);
  if (state != kNotInstalled) return install_result;
  struct sigaction current = {};
  if (sigaction(SIGBUS, nullptr, &current) != 0) {
    return absl::InternalError(
        absl::StrCat("sigaction(SIGBUS): ", strerror(errno)));
  }
  previous_action = current;
  struct sigaction ours = {};
  ours.sa_sigaction = &SigbusHandler;
  // SA_NODEFER and an empty mask: a guarded visit leaves the handler by
  // siglongjmp without restoring a mask, so SIGBUS must not be blocked in it
  // (a SIGBUS that arrives blocked kills the process).
  ours.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&ours.sa_mask);
  if (sigaction(SIGBUS, &ours, nullptr) != 0) {
    install_result = absl::FailedPreconditionError(absl::StrCat(
        "InstallFaultHandler: sigaction(SIGBUS): ", strerror(errno)));
  } else if (sigaction(SIGBUS, nullptr, &current) != 0 ||
             (current.sa_flags & SA_SIGINFO) == 0 ||
             current.sa_sigaction != &SigbusHandler) {
    install_result = absl::FailedPreconditionError(
        "InstallFaultHandler: the SIGBUS handler did not stay installed; "
        "another runtime keeps SIGBUS to itself (AddressSanitizer does with "
        "handle_sigbus=2: run with ASAN_OPTIONS=handle_sigbus=1)");
  } else {
    install_result = absl::OkStatus();
  }
  mmapio_fault_handler_state.store(
      install_result.ok() ? kInstalled : kNotInstalled,
      std::memory_order_release);
  return install_result;
}

}  // namespace

FaultRecord LastFault() { return thread_state.last; }

absl::Status EnsureFaultHandler() {
  if (mmapio_fault_handler_state.load(std::memory_order_acquire) !=
      kNotInstalled) {
    return absl::OkStatus();
  }
  return Install();
}

namespace {

// Call where a VisitScope's sigsetjmp returned from a fault. The jump left a
// signal handler: ours runs with SA_NODEFER, but a runtime in between
// (ThreadSanitizer, an embedder's handler) may have blocked SIGBUS for it,
// and a SIGBUS that arrives blocked kills the process.
void AfterVisitFault() {
  sigset_t bus;
  sigemptyset(&bus);
  sigaddset(&bus, SIGBUS);
  pthread_sigmask(SIG_UNBLOCK, &bus, nullptr);
}

void VisitScope::Enter() {
  outer = thread_state.visit;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  thread_state.visit = this;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

void VisitScope::Leave() {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  thread_state.visit = outer;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

}  // namespace

std::optional<FaultRecord> RunGuarded(const void* begin, size_t length,
                                      absl::FunctionRef<void()> body) {
  const auto first = reinterpret_cast<uintptr_t>(begin);
  VisitScope scope(first, first + length);
  if (sigsetjmp(scope.jump, 0) != 0) {
    AfterVisitFault();
    return scope.fault;
  }
  scope.Enter();
  body();
  scope.Leave();
  return std::nullopt;
}

#if defined(__x86_64__)

// Chosen once, when the library is loaded, before any copy can run.
[[maybe_unused]] const bool copy_dispatch_ready = [] {
  mmapio_copy_has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
  return true;
}();

size_t CopyGuarded(void* destination, const void* source, size_t n,
                   MappedSide mapped) {
  return CopyPublishingRange(
      thread_state.copy, destination, source, n,
      mapped == MappedSide::kSource ? source : destination);
}

LoadResult LoadGuarded(const void* source, size_t size) {
  return LoadOfSize(source, size);
}

#else

// Without a fixup table for this architecture, a visit scope per access:
// correct, at the price of a sigsetjmp.
size_t CopyGuarded(void* destination, const void* source, size_t n,
                   MappedSide mapped) {
  volatile size_t copied = 0;
  const std::optional<FaultRecord> fault =
      RunGuarded(mapped == MappedSide::kSource ? source : destination, n, [&] {
        for (; copied < n; copied = copied + 1) {
          static_cast<volatile char*>(destination)[copied] =
              static_cast<const volatile char*>(source)[copied];
        }
      });
  if (!fault.has_value()) return 0;
  thread_state.last = *fault;
  return n - copied;
}

LoadResult LoadGuarded(const void* source, size_t size) {
  uint64_t value = 0;
  if (CopyGuarded(&value, source, size, MappedSide::kSource) != 0) {
    return {0, 1};
  }
  return {value, 0};
}

#endif

}  // namespace mmapio::internal

namespace mmapio {

bool HandleFault(int signal_number, siginfo_t* info, void* ucontext) {
  if (signal_number != SIGBUS || info == nullptr || ucontext == nullptr) {
    return false;
  }
  if (internal::ResumeAtFixup(info, ucontext)) return true;
  internal::JumpOutOfVisit(info);
  return false;
}

absl::Status InstallFaultHandler() { return internal::EnsureFaultHandler(); }

void UseEmbedderFaultHandler() {
  internal::MutexLock lock(&internal::install_mutex);
  if (mmapio_fault_handler_state.load(std::memory_order_acquire) ==
      internal::kNotInstalled) {
    internal::install_result = absl::OkStatus();
    mmapio_fault_handler_state.store(internal::kEmbedded,
                                     std::memory_order_release);
  }
}

}  // namespace mmapio
