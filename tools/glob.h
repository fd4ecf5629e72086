// Shell glob matching for the CLI's --include and --exclude, the same on
// every OS: fnmatch(3) without flags, where '*' and '?' also match '/', a
// leading '.' needs no explicit match, and '\' quotes the next character.
//
//   *        any run of characters, empty included
//   ?        any one character
//   [abc]    one of the listed characters; [a-z] a range; [!a] or [^a] any
//            but; ']' first in the set is itself; '\' quotes inside too;
//            [:digit:] and the other POSIX classes, in the C locale
//
// A '[' with no closing ']' matches itself; a pattern that ends in a lone
// '\' matches nothing. Characters are bytes.

#ifndef MMAPIO_TOOLS_GLOB_H_
#define MMAPIO_TOOLS_GLOB_H_

#include "absl/strings/string_view.h"

namespace mmapio::cli {

bool GlobMatch(absl::string_view pattern, absl::string_view text);

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_GLOB_H_
