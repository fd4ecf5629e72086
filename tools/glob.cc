#include "tools/glob.h"

#include <cctype>
#include <cstddef>
#include <optional>

#include "absl/strings/string_view.h"

namespace mmapio::cli {
namespace {

// The bracket expression starting at pattern[at] == '[': whether it
// matches `c`, and where the pattern goes on after it; nullopt when it has
// no closing ']', so that the '[' is an ordinary character. `invalid` when
// it names a character class that does not exist: the whole pattern then
// matches nothing, as with fnmatch.
struct Bracket {
  bool matches;
  size_t next;
  bool invalid = false;
};

// Whether `c` is in the POSIX character class `name` (in the C locale);
// nullopt for a name that is no class.
std::optional<bool> InClass(absl::string_view name, unsigned char c) {
  static constexpr struct {
    absl::string_view name;
    int (*test)(int);
  } kClasses[] = {
      {"alnum", isalnum}, {"alpha", isalpha}, {"blank", isblank},
      {"cntrl", iscntrl}, {"digit", isdigit}, {"graph", isgraph},
      {"lower", islower}, {"print", isprint}, {"punct", ispunct},
      {"space", isspace}, {"upper", isupper}, {"xdigit", isxdigit},
  };
  for (const auto& candidate : kClasses) {
    if (candidate.name == name) return candidate.test(c) != 0;
  }
  return std::nullopt;
}

std::optional<Bracket> MatchBracket(absl::string_view pattern, size_t at,
                                    unsigned char c) {
  size_t i = at + 1;
  bool negated = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negated = true;
    ++i;
  }
  bool matches = false;
  bool invalid = false;
  bool first = true;
  while (i < pattern.size()) {
    if (pattern[i] == ']' && !first) {
      return Bracket{matches != negated, i + 1, invalid};
    }
    first = false;
    // [:class:]
    if (pattern[i] == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
      const size_t close = pattern.find(":]", i + 2);
      if (close != absl::string_view::npos) {
        const std::optional<bool> in =
            InClass(pattern.substr(i + 2, close - i - 2), c);
        if (!in.has_value()) invalid = true;
        if (in.value_or(false)) matches = true;
        i = close + 2;
        continue;
      }
    }
    if (pattern[i] == '\\' && i + 1 < pattern.size()) ++i;
    const auto low = static_cast<unsigned char>(pattern[i]);
    unsigned char high = low;
    ++i;
    if (i + 1 < pattern.size() && pattern[i] == '-' && pattern[i + 1] != ']') {
      size_t end = i + 1;
      if (pattern[end] == '\\' && end + 1 < pattern.size()) ++end;
      high = static_cast<unsigned char>(pattern[end]);
      i = end + 1;
    }
    if (low <= c && c <= high) matches = true;
  }
  return std::nullopt;
}

}  // namespace

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Backtracking to the last '*' only: each '*' takes the shortest run that
  // lets the rest match, which suffices for globs (linear in practice).
  size_t p = 0;
  size_t t = 0;
  std::optional<size_t> star_p;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      const char pc = pattern[p];
      if (pc == '*') {
        star_p = ++p;
        star_t = t;
        continue;
      }
      if (pc == '[') {
        if (const std::optional<Bracket> bracket =
                MatchBracket(pattern, p, static_cast<unsigned char>(text[t]))) {
          if (bracket->matches) {
            p = bracket->next;
            ++t;
            continue;
          }
        } else if (text[t] == '[') {
          ++p;
          ++t;
          continue;
        }
      } else if (pc == '?') {
        ++p;
        ++t;
        continue;
      } else {
        size_t literal = p;
        if (pc == '\\') {
          // A '\' that quotes nothing makes the pattern invalid.
          if (p + 1 == pattern.size()) return false;
          ++literal;
        }
        if (pattern[literal] == text[t]) {
          p = literal + 1;
          ++t;
          continue;
        }
      }
    }
    if (!star_p.has_value()) return false;
    // Let the last '*' take one more character, and try again after it.
    p = *star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace mmapio::cli
