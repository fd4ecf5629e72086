// FuzzInput: a fuzz target's input read as the choices that build its test
// case. Reading past the end yields zeros, so every input is a valid case.

#ifndef MMAPIO_TESTS_FUZZ_FUZZ_INPUT_H_
#define MMAPIO_TESTS_FUZZ_FUZZ_INPUT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mmapio::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return size_ == 0; }

  // The next `bytes` bytes (at most 8) as a little-endian integer.
  uint64_t Take(size_t bytes) {
    uint64_t value = 0;
    const size_t n = std::min({bytes, size_, sizeof(value)});
    std::memcpy(&value, data_, n);
    data_ += n;
    size_ -= n;
    return value;
  }

  uint8_t Byte() { return static_cast<uint8_t>(Take(1)); }

 private:
  const uint8_t* data_;
  size_t size_;
};

}  // namespace mmapio::fuzz

#endif  // MMAPIO_TESTS_FUZZ_FUZZ_INPUT_H_
