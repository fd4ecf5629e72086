// The table GlobMatch is held to, on every OS (glob_test.cc), and which
// fnmatch(3) also follows where it exists (glob_fnmatch_test.cc).

#ifndef MMAPIO_TESTS_UNIT_GLOB_CASES_H_
#define MMAPIO_TESTS_UNIT_GLOB_CASES_H_

namespace mmapio::cli {

struct GlobCase {
  const char* pattern;
  const char* text;
  bool matches;
};

inline constexpr GlobCase kGlobCases[] = {
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
    {"[[:digit:]]*", "7x", true},
    {"[[:digit:]]*", "x7", false},
    {"[![:alpha:]]", "5", true},
    {"[![:alpha:]]", "q", false},
    {"[[:upper:][:digit:]]", "Q", true},
    {"[[:space:]]", " ", true},
    {"[[:xdigit:]x]", "x", true},
    {"[[:punct:]]", ".", true},
    {"[[:nosuch:]]", "a", false},
    {"[[:alpha:]", "[", false},
    {"*[0-9]", "file", false},
    {"/var/*/cache", "/var/lib/x/cache", true},
    {"\xc3\xa9*", "\xc3\xa9t\xc3\xa9", true},
};

}  // namespace mmapio::cli

#endif  // MMAPIO_TESTS_UNIT_GLOB_CASES_H_
