// FUZZ_CHECK(condition, message...): the invariant check of the fuzz
// targets. A broken invariant aborts, which libFuzzer reports as a crash
// with the input that caused it, and which fails the corpus replay test.

#ifndef MMAPIO_TESTS_FUZZ_FUZZ_CHECK_H_
#define MMAPIO_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

#define FUZZ_CHECK(condition, ...)                                         \
  do {                                                                     \
    if (!(condition)) {                                                    \
      const std::string fuzz_check_message = absl::StrCat(__VA_ARGS__);    \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, \
                   __LINE__, #condition, fuzz_check_message.c_str());      \
      std::abort();                                                        \
    }                                                                      \
  } while (false)

#endif  // MMAPIO_TESTS_FUZZ_FUZZ_CHECK_H_
