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

// "37.5%", or "-" when `whole` is 0.
std::string Percent(uint64_t part, uint64_t whole);

// "4096", "4k", "4K", "4KiB", "50M", "2g", "1T": binary multiples.
absl::StatusOr<uint64_t> ParseSize(absl::string_view text);

// "START-END" as [START, END); either side may be empty ("4k-", "-50M").
absl::StatusOr<ByteRange> ParseRange(absl::string_view text);

// One JSON object on one line, built field by field in order.
class JsonLine {
 public:
  JsonLine& Add(absl::string_view key, absl::string_view value);
  JsonLine& Add(absl::string_view key, const char* value) {
    return Add(key, absl::string_view(value));
  }
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

// `text` as a JSON string literal, quotes included.
std::string JsonString(absl::string_view text);

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_FORMAT_H_
