// A directory of the running test's own, made with the C++ library only so
// that tests which use it run on Linux and Windows alike: under Bazel inside
// TEST_TMPDIR (which tools/wine_run.sh translates for Windows), else in the
// system's temporary directory; named after the test.

#ifndef MMAPIO_TESTS_TEST_DIRECTORY_H_
#define MMAPIO_TESTS_TEST_DIRECTORY_H_

#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"

namespace mmapio::testing {

inline std::filesystem::path TestDirectory() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::filesystem::path dir =
      (tmp != nullptr ? std::filesystem::path(tmp)
                      : std::filesystem::temp_directory_path()) /
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace mmapio::testing

#endif  // MMAPIO_TESTS_TEST_DIRECTORY_H_
