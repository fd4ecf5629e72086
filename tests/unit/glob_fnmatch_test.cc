// GlobMatch against the fnmatch(3) it replaces, on Linux.

#include <fnmatch.h>

#include <random>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/unit/glob_cases.h"
#include "tools/glob.h"

namespace mmapio::cli {
namespace {

// The CLI documents fnmatch(3) without flags: on this OS, the table is
// also what fnmatch says.
TEST(GlobMatchTest, AgreesWithFnmatch) {
  for (const GlobCase& c : kGlobCases) {
    EXPECT_EQ(fnmatch(c.pattern, c.text, 0) == 0, c.matches)
        << "pattern \"" << c.pattern << "\" text \"" << c.text << "\"";
  }
}

// Short patterns and texts over the characters that mean something, from a
// fixed seed: every one must agree with fnmatch.
TEST(GlobMatchTest, AgreesWithFnmatchOnGeneratedPatterns) {
  constexpr absl::string_view kPatternChars = "ab*?[]!^-\\/";
  constexpr absl::string_view kTextChars = "ab[]!^-\\/";
  std::mt19937 random(20261202);
  const auto make = [&](absl::string_view alphabet, size_t most) {
    std::string s(random() % (most + 1), ' ');
    for (char& c : s) c = alphabet[random() % alphabet.size()];
    return s;
  };
  for (int i = 0; i < 50000; ++i) {
    const std::string pattern = make(kPatternChars, 6);
    const std::string text = make(kTextChars, 5);
    ASSERT_EQ(GlobMatch(pattern, text),
              fnmatch(pattern.c_str(), text.c_str(), 0) == 0)
        << "pattern \"" << pattern << "\" text \"" << text << "\"";
  }
}

}  // namespace
}  // namespace mmapio::cli
