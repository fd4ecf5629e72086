#include "mmapio/byte_range.h"

#include <cstdint>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace mmapio {
namespace {

constexpr uint64_t kMax = UINT64_MAX;
constexpr uint64_t kToEnd = ByteRange::kToEnd;

TEST(ResolveWithinTest, KeepsRangesInsideAndRefusesTheRest) {
  const struct {
    ByteRange range;
    uint64_t size;
    std::optional<ByteRange> expected;
  } kCases[] = {
      {{0, 10}, 10, ByteRange{0, 10}},
      {{3, 7}, 10, ByteRange{3, 7}},
      {{10, 0}, 10, ByteRange{10, 0}},
      {{0, kToEnd}, 10, ByteRange{0, 10}},
      {{4, kToEnd}, 10, ByteRange{4, 6}},
      {{10, kToEnd}, 10, ByteRange{10, 0}},
      {{0, kToEnd}, 0, ByteRange{0, 0}},
      {{3, 8}, 10, std::nullopt},
      {{11, 0}, 10, std::nullopt},
      {{11, kToEnd}, 10, std::nullopt},
      // offset + length wraps around: refused, not taken as a short range.
      {{5, kMax - 1}, 10, std::nullopt},
      {{kMax, 1}, kMax, std::nullopt},
      {{kMax, 0}, kMax, ByteRange{kMax, 0}},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(ResolveWithin(c.range, c.size), c.expected)
        << FormatRange(c.range.offset, c.range.length) << " in " << c.size;
  }
}

TEST(PagesTouchedTest, CountsEveryPageAByteOfTheRangeIsOn) {
  const struct {
    uint64_t offset;
    uint64_t length;
    uint64_t page_size;
    uint64_t first;
    uint64_t count;
  } kCases[] = {
      {0, 0, 4096, 0, 0},
      {5000, 0, 4096, 1, 0},
      {0, 1, 4096, 0, 1},
      {0, 4096, 4096, 0, 1},
      {0, 4097, 4096, 0, 2},
      {4095, 2, 4096, 0, 2},
      {4096, 4096, 4096, 1, 1},
      {100, 10000, 4096, 0, 3},
      {1, 1, 1, 1, 1},
      // Ranges that end near 2^64, where rounding the end up would wrap.
      {kMax - 4095, 4095, 4096, kMax / 4096, 1},
      {kMax - 10, 5, 4096, kMax / 4096, 1},
      {0, kMax, 4096, 0, kMax / 4096 + 1},
      {0, kMax, uint64_t{1} << 63, 0, 2},
  };
  for (const auto& c : kCases) {
    const PageInterval pages = PagesTouched(c.offset, c.length, c.page_size);
    EXPECT_EQ(pages.first, c.first)
        << FormatRange(c.offset, c.length) << " in pages of " << c.page_size;
    EXPECT_EQ(pages.count, c.count)
        << FormatRange(c.offset, c.length) << " in pages of " << c.page_size;
  }
}

TEST(FormatRangeTest, NamesTheEndOrSaysWhyItCannot) {
  const struct {
    uint64_t offset;
    uint64_t length;
    std::string expected;
  } kCases[] = {
      {0, 0, "[0, 0)"},
      {4096, 8192, "[4096, 12288)"},
      {7, kToEnd, "[7, end)"},
      {kMax, 0, "[18446744073709551615, 18446744073709551615)"},
      {kMax, 1, "[18446744073709551615, +1)"},
      {2, kMax - 1, "[2, +18446744073709551614)"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(FormatRange(c.offset, c.length), c.expected);
  }
}

}  // namespace
}  // namespace mmapio
