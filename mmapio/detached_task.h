// DetachedTask: the smallest coroutine type there is, for code that starts
// coroutines and lets them run to completion on their own (examples, tests,
// benchmarks). The coroutine starts at once, runs until its first
// suspension, and frees its frame when it returns; nobody awaits it.
//
// Example:
//   mmapio::DetachedTask Lookup(mmapio::AsyncEngine& engine,
//                               const mmapio::Region& region,
//                               mmapio::ByteRange range) {
//     absl::StatusOr<mmapio::ResidentView> view =
//         co_await engine.Resident(region, range);
//     if (!view.ok()) co_return;
//     // ... read view->bytes() ...
//   }
//
// An exception escaping the coroutine terminates the program. Any other task
// type works with mmapio's awaitables as well.

#ifndef MMAPIO_DETACHED_TASK_H_
#define MMAPIO_DETACHED_TASK_H_

#include <coroutine>
#include <exception>

#include "mmapio/export.h"

namespace mmapio {

MMAPIO_BEGIN_EXPORTS

struct DetachedTask {
  struct promise_type {
    DetachedTask get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

MMAPIO_END_EXPORTS

}  // namespace mmapio

#endif  // MMAPIO_DETACHED_TASK_H_
