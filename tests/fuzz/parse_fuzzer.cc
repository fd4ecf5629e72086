// Fuzzes the CLI's size and range parsers (tools/format.h) with arbitrary
// text. Besides not crashing, whatever they accept must mean what it says:
// a size prints back to itself, a range's end is its START-END text's end.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "mmapio/byte_range.h"
#include "tests/fuzz/fuzz_check.h"
#include "tools/format.h"

namespace mmapio::cli {
namespace {

void CheckSize(absl::string_view text) {
  const absl::StatusOr<uint64_t> size = ParseSize(text);
  if (!size.ok()) return;
  // Accepted text holds a number: a digit somewhere.
  bool has_digit = false;
  for (const char c : text) has_digit = has_digit || absl::ascii_isdigit(c);
  FUZZ_CHECK(has_digit, "\"", text, "\" parsed as ", *size);
  const absl::StatusOr<uint64_t> again = ParseSize(absl::StrCat(*size));
  FUZZ_CHECK(again.ok() && *again == *size, "\"", text, "\" parsed as ", *size,
             ", which does not parse back");
}

void CheckRange(absl::string_view text) {
  const absl::StatusOr<ByteRange> range = ParseRange(text);
  if (!range.ok()) return;
  FUZZ_CHECK(text.find('-') != absl::string_view::npos, "\"", text,
             "\" has no '-'");
  if (range->length == ByteRange::kToEnd) return;
  // A bounded range ends where its text says, without wrapping around.
  FUZZ_CHECK(range->length <= UINT64_MAX - range->offset, "\"", text,
             "\" wraps around");
  const uint64_t end = range->offset + range->length;
  const absl::StatusOr<ByteRange> again =
      ParseRange(absl::StrCat(range->offset, "-", end));
  FUZZ_CHECK(again.ok() && *again == *range, "\"", text, "\" is [",
             range->offset, ", ", end, "), which does not parse back");
}

}  // namespace
}  // namespace mmapio::cli

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  mmapio::cli::CheckSize(text);
  mmapio::cli::CheckRange(text);
  return 0;
}
