// Parsing and printing of the mmapio CLI's numbers, ranges and JSON lines.

#ifndef MMAPIO_TOOLS_FORMAT_H_
#define MMAPIO_TOOLS_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mmapio/byte_range.h"

namespace mmapio::cli {

// "0 B", "512 B", "4.0 KiB", "1.5 GiB": binary units, one decimal.
std::string HumanBytes(uint64_t bytes);

// `bytes` as HumanBytes, or as a plain integer when `exact`.
std::string FormatBytes(uint64_t bytes, bool exact);

// "1 file", "2 files": `n` and `noun`, plural but for 1.
std::string CountOf(uint64_t n, absl::string_view noun);

// "37.5%", or "-" when `whole` is 0.
std::string Percent(uint64_t part, uint64_t whole);

// "4096", "4k", "4K", "4KiB", "50M", "2g", "1T": binary multiples. Nothing
// else is a size: no sign, space, fraction or other suffix.
absl::StatusOr<uint64_t> ParseSize(absl::string_view text);

// "START-END" as [START, END); one side may be empty ("4k-", "-50M"), not
// both, and the range may not be empty.
absl::StatusOr<ByteRange> ParseRange(absl::string_view text);

// One JSON object on one line, built field by field in order.
class JsonLine {
 public:
  JsonLine& Add(absl::string_view key, absl::string_view value);
  JsonLine& Add(absl::string_view key, const char* value) {
    return Add(key, absl::string_view(value));
  }
  // A file name, which may be any bytes: as a string, with each byte that
  // is not UTF-8 escaped as \u00XX, and then, only for such a name, the
  // exact bytes in hexadecimal under `key` + "_bytes".
  JsonLine& AddPath(absl::string_view key, absl::string_view path);
  JsonLine& Add(absl::string_view key, uint64_t value);
  JsonLine& Add(absl::string_view key, double value);
  JsonLine& Add(absl::string_view key, bool value);
  // null when `value` is empty.
  JsonLine& Add(absl::string_view key, std::optional<uint64_t> value);
  // `json` is inserted as it is: a nested object or array.
  JsonLine& AddRaw(absl::string_view key, absl::string_view json);

  // The object, without a newline.
  std::string Build() const { return "{" + body_ + "}"; }

 private:
  void Key(absl::string_view key);

  std::string body_;
};

// Whether `text` is well-formed UTF-8 (RFC 3629).
bool IsValidUtf8(absl::string_view text);

// `text` as a JSON string literal, quotes included. Bytes that are not
// UTF-8 are escaped as \u00XX, so the literal is always valid JSON.
std::string JsonString(absl::string_view text);

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_FORMAT_H_
