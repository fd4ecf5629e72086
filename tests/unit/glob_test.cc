#include "tools/glob.h"

#include <fnmatch.h>

#include <random>
#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace mmapio::cli {
namespace {

struct Case {
  const char* pattern;
  const char* text;
  bool matches;
};

constexpr Case kCases[] = {
    {"", "", true},
    {"", "a", false},
    {"a", "", false},
    {"abc", "abc", true},
    {"abc", "abd", false},
    {"abc", "ab", false},
    {"*", "", true},
    {"*", "anything/at/all", true},
    {"*.log", "x.log", true},
    {"*.log", "dir/x.log", true},
    {"*.log", "x.log.1", false},
    {"*.log*", "x.log.1", true},
    {"a*b*c", "aXbYc", true},
    {"a*b*c", "abcabc", true},
    {"a*b*c", "acb", false},
    {"**a", "bba", true},
    {"*a*a*a", "aaXa", true},
    {"*a*a*a", "aXa", false},
    {"?", "a", true},
    {"?", "", false},
    {"?", "/", true},
    {"??", "a", false},
    {"a?c", "abc", true},
    {".*", ".hidden", true},
    {"*", ".hidden", true},
    {"[abc]", "b", true},
    {"[abc]", "d", false},
    {"[a-c]x", "bx", true},
    {"[a-c]x", "dx", false},
    {"[!a-c]", "d", true},
    {"[!a-c]", "b", false},
    {"[^a-c]", "d", true},
    {"[]]", "]", true},
    {"[]a]", "a", true},
    {"[!]]", "]", false},
    {"[!]]", "x", true},
    {"[a-]", "-", true},
    {"[-a]", "-", true},
    {"[\\]]", "]", true},
    {"[\\-]", "-", true},
    {"[", "[", true},
    {"[a", "[a", true},
    {"[a", "a", false},
    {"x[", "x[", true},
    {"\\*", "*", true},
    {"\\*", "a", false},
    {"\\?", "?", true},
    {"\\[a]", "[a]", true},
    {"a\\", "a\\", false},
    {"*\\", "a\\", false},
    {"*[0-9]", "file7", true},
    {"*[0-9]", "file", false},
    {"/var/*/cache", "/var/lib/x/cache", true},
    {"\xc3\xa9*", "\xc3\xa9t\xc3\xa9", true},
};

TEST(GlobMatchTest, FollowsTheTable) {
  for (const Case& c : kCases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.text), c.matches)
        << "pattern \"" << c.pattern << "\" text \"" << c.text << "\"";
  }
}

// The CLI documents fnmatch(3) without flags: on this OS, the table is
// also what fnmatch says.
TEST(GlobMatchTest, AgreesWithFnmatch) {
  for (const Case& c : kCases) {
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
