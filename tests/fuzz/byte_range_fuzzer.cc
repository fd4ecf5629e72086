// Fuzzes ByteRange arithmetic (mmapio/byte_range.h) with arbitrary 64-bit
// offsets, lengths and sizes, and page sizes that are powers of two: a
// resolved range lies inside its container, the pages a range touches hold
// exactly its bytes, and no sum wraps around.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "mmapio/byte_range.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

namespace mmapio {
namespace {

void CheckResolve(ByteRange range, uint64_t size) {
  const std::optional<ByteRange> resolved = ResolveWithin(range, size);
  const bool fits =
      range.offset <= size && (range.length == ByteRange::kToEnd ||
                               range.length <= size - range.offset);
  FUZZ_CHECK(resolved.has_value() == fits,
             FormatRange(range.offset, range.length), " in ", size, " bytes");
  if (!resolved.has_value()) return;
  FUZZ_CHECK(resolved->offset == range.offset, "moved");
  FUZZ_CHECK(resolved->length <= size - resolved->offset, "past the end");
  if (range.length == ByteRange::kToEnd) {
    FUZZ_CHECK(resolved->offset + resolved->length == size,
               "kToEnd stops short");
  } else {
    FUZZ_CHECK(resolved->length == range.length, "length changed");
  }
}

void CheckPages(uint64_t offset, uint64_t length, uint64_t page_size) {
  // Only ranges that end inside the 64-bit space have pages.
  if (length > UINT64_MAX - offset) return;
  const PageInterval pages = PagesTouched(offset, length, page_size);
  const std::string what =
      absl::StrCat(FormatRange(offset, length), " in pages of ", page_size);
  FUZZ_CHECK(pages.first == offset / page_size, what, ": first ", pages.first);
  if (length == 0) {
    FUZZ_CHECK(pages.count == 0, what, ": count ", pages.count);
    return;
  }
  const uint64_t last_byte = offset + length - 1;
  FUZZ_CHECK(pages.count == last_byte / page_size - pages.first + 1, what,
             ": count ", pages.count);
}

// The text of FormatRange names the range: its two numbers read back.
void CheckFormat(uint64_t offset, uint64_t length) {
  const std::string text = FormatRange(offset, length);
  absl::string_view inner = text;
  FUZZ_CHECK(
      absl::ConsumePrefix(&inner, "[") && absl::ConsumeSuffix(&inner, ")"),
      text);
  const std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(inner, absl::MaxSplits(", ", 1));
  uint64_t first = 0;
  FUZZ_CHECK(absl::SimpleAtoi(parts.first, &first) && first == offset, text);
  absl::string_view second = parts.second;
  uint64_t number = 0;
  if (length == ByteRange::kToEnd) {
    FUZZ_CHECK(second == "end", text);
  } else if (absl::ConsumePrefix(&second, "+")) {
    FUZZ_CHECK(absl::SimpleAtoi(second, &number) && number == length &&
                   length > UINT64_MAX - offset,
               text);
  } else {
    FUZZ_CHECK(absl::SimpleAtoi(second, &number) &&
                   length <= UINT64_MAX - offset && number == offset + length,
               text);
  }
}

}  // namespace
}  // namespace mmapio

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mmapio::fuzz::FuzzInput input(data, size);
  const uint64_t offset = input.Take(8);
  const uint64_t length = input.Take(8);
  const uint64_t container = input.Take(8);
  const uint64_t page_size = uint64_t{1} << (input.Take(8) % 31);
  mmapio::CheckResolve({offset, length}, container);
  mmapio::CheckResolve({offset, mmapio::ByteRange::kToEnd}, container);
  mmapio::CheckPages(offset, length, page_size);
  // Small ranges too, where most pages are.
  if (container > 0) {
    mmapio::CheckPages(offset % container, length % container, page_size);
  }
  mmapio::CheckFormat(offset, length);
  return 0;
}
