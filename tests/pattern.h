// The bytes of the files tests make, on every OS and in the FUSE test
// filesystem alike: byte i of each is PatternByte(i).

#ifndef MMAPIO_TESTS_PATTERN_H_
#define MMAPIO_TESTS_PATTERN_H_

#include <cstdint>

namespace mmapio::testing {

inline char PatternByte(uint64_t i) {
  // Differs between neighbouring bytes and between pages.
  return static_cast<char>((i * 131 + (i >> 12) * 7 + 1) & 0xff);
}

}  // namespace mmapio::testing

#endif  // MMAPIO_TESTS_PATTERN_H_
