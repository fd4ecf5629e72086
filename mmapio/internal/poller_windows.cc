// Poller on Windows: fd() is a manual-reset event (the handle's value as an
// int: Windows handles fit in 32 bits), raised by Wake() and by a
// thread-pool timer at the deadline, so that one handle can be handed to
// another loop as on Linux; watched handles are waited on beside it with
// WaitForMultipleObjects, at most MAXIMUM_WAIT_OBJECTS - 1 of them.

#include <windows.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "mmapio/internal/poller.h"

namespace mmapio::internal {

// What the timer's callback needs, owned by the Poller (the timer is
// closed, waiting for its callbacks, before this is freed).
struct Poller::State {
  HANDLE event = nullptr;
  PTP_TIMER timer = nullptr;
  // Set by the timer, cleared by arming: the event stays raised while the
  // deadline has passed, whatever ClearWake() does.
  std::atomic<bool> timer_fired{false};
  std::vector<HANDLE> watched;

  ~State() {
    if (timer != nullptr) {
      SetThreadpoolTimer(timer, nullptr, 0, 0);
      WaitForThreadpoolTimerCallbacks(timer, TRUE);
      CloseThreadpoolTimer(timer);
    }
    if (event != nullptr) CloseHandle(event);
  }
};

namespace {

HANDLE AsHandle(int fd) {
  return reinterpret_cast<HANDLE>(static_cast<intptr_t>(fd));
}

VOID CALLBACK OnTimer(PTP_CALLBACK_INSTANCE, PVOID context, PTP_TIMER) {
  auto* state = static_cast<Poller::State*>(context);
  state->timer_fired.store(true, std::memory_order_release);
  SetEvent(state->event);
}

}  // namespace

absl::StatusOr<Poller> Poller::Create(absl::string_view owner) {
  auto state = std::make_unique<State>();
  state->event = CreateEventW(nullptr, /*bManualReset=*/TRUE,
                              /*bInitialState=*/FALSE, nullptr);
  if (state->event != nullptr) {
    state->timer = CreateThreadpoolTimer(&OnTimer, state.get(), nullptr);
  }
  if (state->event == nullptr || state->timer == nullptr) {
    return absl::UnavailableError(
        absl::StrCat(owner,
                     ": cannot make its waitable handle (CreateEventW, "
                     "CreateThreadpoolTimer): Windows error ",
                     GetLastError()));
  }
  return Poller(std::move(state));
}

Poller::Poller(std::unique_ptr<State> state) : state_(std::move(state)) {}

Poller::Poller(Poller&&) noexcept = default;
Poller& Poller::operator=(Poller&&) noexcept = default;
Poller::~Poller() = default;

int Poller::fd() const {
  return static_cast<int>(reinterpret_cast<intptr_t>(state_->event));
}

void Poller::Wake() { SetEvent(state_->event); }

void Poller::ClearWake() {
  ResetEvent(state_->event);
  // A deadline that has passed keeps the handle raised until re-armed.
  if (state_->timer_fired.load(std::memory_order_acquire)) {
    SetEvent(state_->event);
  }
}

void Poller::ArmTimer(absl::Time when) {
  // Stop the old deadline, and wait out a callback of it already queued or
  // running, so that none can raise the event after this: as on Linux,
  // arming clears a deadline that has passed.
  SetThreadpoolTimer(state_->timer, nullptr, 0, 0);
  WaitForThreadpoolTimerCallbacks(state_->timer, TRUE);
  state_->timer_fired.store(false, std::memory_order_release);
  if (when == absl::InfiniteFuture()) return;
  if (when <= absl::Now()) {
    OnTimer(nullptr, state_.get(), state_->timer);
    return;
  }
  // FILETIME: 100 ns intervals since 1601-01-01.
  constexpr int64_t kUnixEpochIn100ns = 116444736000000000;
  const int64_t due = kUnixEpochIn100ns + absl::ToUnixNanos(when) / 100;
  FILETIME at;
  at.dwLowDateTime = static_cast<DWORD>(due);
  at.dwHighDateTime = static_cast<DWORD>(due >> 32);
  SetThreadpoolTimer(state_->timer, &at, 0, 0);
}

absl::Status Poller::Watch(int fd) {
  const HANDLE handle = AsHandle(fd);
  DWORD flags;
  if (!GetHandleInformation(handle, &flags)) {
    return absl::InvalidArgumentError(
        "not a handle (on Windows, watch a waitable handle, not a C runtime "
        "descriptor)");
  }
  if (state_->watched.size() + 1 >= MAXIMUM_WAIT_OBJECTS) {
    return absl::InvalidArgumentError(
        absl::StrCat("Windows waits on at most ", MAXIMUM_WAIT_OBJECTS - 1,
                     " handles besides the loop's own"));
  }
  state_->watched.push_back(handle);
  return absl::OkStatus();
}

void Poller::Unwatch(int fd) {
  std::vector<HANDLE>& watched = state_->watched;
  watched.erase(std::remove(watched.begin(), watched.end(), AsHandle(fd)),
                watched.end());
}

absl::StatusOr<size_t> Poller::Wait(absl::Span<int> ready,
                                    const absl::Duration* timeout) {
  std::vector<HANDLE> handles = {state_->event};
  handles.insert(handles.end(), state_->watched.begin(), state_->watched.end());
  DWORD milliseconds = INFINITE;
  if (timeout != nullptr) {
    // Rounded up: a wait that ends early only comes round again.
    milliseconds = static_cast<DWORD>(std::min<int64_t>(
        absl::ToInt64Milliseconds(std::max(*timeout, absl::ZeroDuration()) +
                                  absl::Microseconds(999)),
        INFINITE - 1));
  }
  const DWORD result = WaitForMultipleObjects(
      static_cast<DWORD>(handles.size()), handles.data(), FALSE, milliseconds);
  if (result == WAIT_TIMEOUT) return 0;
  if (result == WAIT_FAILED) {
    return absl::InternalError(
        absl::StrCat("WaitForMultipleObjects: Windows error ", GetLastError()));
  }
  // It names the first ready handle, and has taken an auto-reset one's
  // signal: report it, then ask the others after it.
  const size_t first = result >= WAIT_ABANDONED_0 ? result - WAIT_ABANDONED_0
                                                  : result - WAIT_OBJECT_0;
  const auto report = [&handles](size_t i) {
    return i == 0 ? kWoken
                  : static_cast<int>(reinterpret_cast<intptr_t>(handles[i]));
  };
  size_t reported = 0;
  if (ready.empty()) return reported;
  ready[reported++] = report(first);
  for (size_t i = first + 1; i < handles.size() && reported < ready.size();
       ++i) {
    const DWORD state = WaitForSingleObject(handles[i], 0);
    if (state == WAIT_OBJECT_0 || state == WAIT_ABANDONED) {
      ready[reported++] = report(i);
    }
  }
  return reported;
}

// Windows has no timer slack: waits end at the system timer's resolution.
FineTimerSlack::FineTimerSlack() : previous_(0) {}
FineTimerSlack::~FineTimerSlack() = default;

}  // namespace mmapio::internal
