// Table tests of the CLI's parsers and JSON strings.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/byte_range.h"
#include "tests/status_matchers.h"
#include "tools/format.h"

namespace mmapio::cli {
namespace {

using ::mmapio::testing::IsOk;

TEST(ParseSizeTest, TakesNumbersWithBinaryUnits) {
  const struct {
    const char* text;
    uint64_t value;
  } kCases[] = {
      {"0", 0},
      {"4096", 4096},
      {"12B", 12},
      {"4k", 4096},
      {"4K", 4096},
      {"4kB", 4096},
      {"4KiB", 4096},
      {"50M", 50ull << 20},
      {"2g", 2ull << 30},
      {"1T", 1ull << 40},
      {"3P", 3ull << 50},
      {"16383P", 16383ull << 50},
      {"18446744073709551615", UINT64_MAX},
  };
  for (const auto& [text, value] : kCases) {
    absl::StatusOr<uint64_t> parsed = ParseSize(text);
    ASSERT_THAT(parsed, IsOk()) << text;
    EXPECT_EQ(*parsed, value) << text;
  }
}

TEST(ParseSizeTest, RefusesEverythingElse) {
  const struct {
    const char* text;
    absl::StatusCode code;
  } kCases[] = {
      {"", absl::StatusCode::kInvalidArgument},
      {"k", absl::StatusCode::kInvalidArgument},
      {"B", absl::StatusCode::kInvalidArgument},
      {"-1", absl::StatusCode::kInvalidArgument},
      {"+1", absl::StatusCode::kInvalidArgument},
      {" 4k", absl::StatusCode::kInvalidArgument},
      {"4k ", absl::StatusCode::kInvalidArgument},
      {"4 k", absl::StatusCode::kInvalidArgument},
      {"1.5k", absl::StatusCode::kInvalidArgument},
      {"4kk", absl::StatusCode::kInvalidArgument},
      {"4iB", absl::StatusCode::kInvalidArgument},
      {"4kiBB", absl::StatusCode::kInvalidArgument},
      {"4x", absl::StatusCode::kInvalidArgument},
      {"4E", absl::StatusCode::kInvalidArgument},
      {"0x10", absl::StatusCode::kInvalidArgument},
      {"18446744073709551616", absl::StatusCode::kOutOfRange},
      {"16384P", absl::StatusCode::kOutOfRange},
      {"99999999999999999999k", absl::StatusCode::kOutOfRange},
  };
  for (const auto& [text, code] : kCases) {
    EXPECT_EQ(ParseSize(text).status().code(), code) << '"' << text << '"';
  }
}

TEST(ParseRangeTest, TakesStartEndWithOneSideOptional) {
  const struct {
    const char* text;
    ByteRange range;
  } kCases[] = {
      {"4k-8k", {4096, 4096}},
      {"0-1", {0, 1}},
      {"1G-", {1ull << 30, ByteRange::kToEnd}},
      {"-8M", {0, 8ull << 20}},
  };
  for (const auto& [text, range] : kCases) {
    absl::StatusOr<ByteRange> parsed = ParseRange(text);
    ASSERT_THAT(parsed, IsOk()) << text;
    EXPECT_EQ(parsed->offset, range.offset) << text;
    EXPECT_EQ(parsed->length, range.length) << text;
  }
}

TEST(ParseRangeTest, RefusesEmptyBackwardsAndMalformedRanges) {
  for (const char* text :
       {"", "-", "4k", "4k-4k", "8k-4k", "4k--8k", "-4k-", "x-", "-x", "1-2-3",
        " 1-2", "1-2 ", "1-99999999999999999999"}) {
    EXPECT_FALSE(ParseRange(text).ok()) << '"' << text << '"';
  }
}

TEST(JsonStringTest, EscapesWhatJsonNeedsAndBytesThatAreNotUtf8) {
  const struct {
    std::string text;
    const char* json;
    bool utf8;
  } kCases[] = {
      {"plain", R"("plain")", true},
      {"a\"b\\c", R"("a\"b\\c")", true},
      {"tab\tline\n", R"("tab\tline\n")", true},
      {std::string("nul\0x", 5), R"("nul\u0000x")", true},
      {"\x1f\x7f", "\"\\u001f\x7f\"", true},
      {"caf\xc3\xa9", "\"caf\xc3\xa9\"", true},
      {"\xe2\x82\xac \xf0\x9f\x98\x80", "\"\xe2\x82\xac \xf0\x9f\x98\x80\"",
       true},
      {"\xef\xbf\xbd", "\"\xef\xbf\xbd\"", true},
      {"\xff\xfe", R"("\u00ff\u00fe")", false},
      {"a\x80z", R"("a\u0080z")", false},
      // Overlong forms, a UTF-16 surrogate, past U+10FFFF.
      {"\xc0\xaf", R"("\u00c0\u00af")", false},
      {"\xe0\x80\xaf", R"("\u00e0\u0080\u00af")", false},
      {"\xed\xa0\x80", R"("\u00ed\u00a0\u0080")", false},
      {"\xf4\x90\x80\x80", R"("\u00f4\u0090\u0080\u0080")", false},
      // Cut short: at the end, and before another character.
      {"x\xc3", R"("x\u00c3")", false},
      {"\xe2\x82z", R"("\u00e2\u0082z")", false},
  };
  for (const auto& [text, json, utf8] : kCases) {
    EXPECT_EQ(JsonString(text), json) << text;
    EXPECT_EQ(IsValidUtf8(text), utf8) << text;
  }
}

TEST(JsonLineTest, PathBytesOnlyForNamesThatAreNotUtf8) {
  EXPECT_EQ(JsonLine().AddPath("path", "/d/caf\xc3\xa9").Build(),
            "{\"path\":\"/d/caf\xc3\xa9\"}");
  EXPECT_EQ(JsonLine().AddPath("path", "/d/\xff\xfe").Build(),
            R"({"path":"/d/\u00ff\u00fe","path_bytes":"2f642ffffe"})");
}

}  // namespace
}  // namespace mmapio::cli
