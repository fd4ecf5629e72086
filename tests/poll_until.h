// Polls an AsyncEngine from a test's thread until a condition holds.

#ifndef MMAPIO_TESTS_POLL_UNTIL_H_
#define MMAPIO_TESTS_POLL_UNTIL_H_

#include <poll.h>

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "mmapio/async_engine.h"

namespace mmapio::testing {

// Polls `engine` on this thread, waiting on its descriptor, until `done`.
// The bound only turns a hang into a failure; no result depends on time.
inline void PollUntil(AsyncEngine& engine, const std::function<bool()>& done) {
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (!done()) {
    ASSERT_LT(absl::Now(), give_up) << "no completion";
    pollfd descriptor{.fd = engine.fd(), .events = POLLIN, .revents = 0};
    poll(&descriptor, 1, 100);
    engine.Poll();
  }
}

}  // namespace mmapio::testing

#endif  // MMAPIO_TESTS_POLL_UNTIL_H_
