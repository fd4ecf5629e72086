#include "tools/format.h"

#include <array>
#include <cctype>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace mmapio::cli {

std::string HumanBytes(uint64_t bytes) {
  static constexpr std::array<const char*, 7> kUnits = {
      "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string FormatBytes(uint64_t bytes, bool exact) {
  return exact ? absl::StrCat(bytes) : HumanBytes(bytes);
}

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  return absl::StrFormat(
      "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

absl::StatusOr<uint64_t> ParseSize(absl::string_view text) {
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  absl::ConsumeSuffix(&rest, "iB") || absl::ConsumeSuffix(&rest, "B");
  int shift = 0;
  if (!rest.empty() && !absl::ascii_isdigit(rest.back())) {
    switch (absl::ascii_tolower(rest.back())) {
      case 'k':
        shift = 10;
        break;
      case 'm':
        shift = 20;
        break;
      case 'g':
        shift = 30;
        break;
      case 't':
        shift = 40;
        break;
      case 'p':
        shift = 50;
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "\"", text, "\" is not a size (like 4096, 4k, 50M, 2G)"));
    }
    rest.remove_suffix(1);
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(rest, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a size (like 4096, 4k, 50M, 2G)"));
  }
  if (shift > 0 && value > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return absl::OutOfRangeError(
        absl::StrCat("\"", text, "\" overflows 64 bits"));
  }
  return value << shift;
}

absl::StatusOr<ByteRange> ParseRange(absl::string_view text) {
  const size_t dash = text.find('-');
  if (dash == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "range \"", text, "\" is not START-END (like 4k-50M, 1G-, -8M)"));
  }
  ByteRange range;
  if (dash > 0) {
    absl::StatusOr<uint64_t> start = ParseSize(text.substr(0, dash));
    if (!start.ok()) return start.status();
    range.offset = *start;
  }
  if (dash + 1 < text.size()) {
    absl::StatusOr<uint64_t> end = ParseSize(text.substr(dash + 1));
    if (!end.ok()) return end.status();
    if (*end < range.offset) {
      return absl::InvalidArgumentError(
          absl::StrCat("range \"", text, "\" ends before it starts"));
    }
    range.length = *end - range.offset;
  }
  return range;
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

void JsonLine::Key(absl::string_view key) {
  if (!body_.empty()) body_ += ",";
  absl::StrAppend(&body_, JsonString(key), ":");
}

JsonLine& JsonLine::Add(absl::string_view key, absl::string_view value) {
  Key(key);
  body_ += JsonString(value);
  return *this;
}

JsonLine& JsonLine::Add(absl::string_view key, uint64_t value) {
  Key(key);
  absl::StrAppend(&body_, value);
  return *this;
}

JsonLine& JsonLine::Add(absl::string_view key, double value) {
  Key(key);
  absl::StrAppend(&body_, absl::StrFormat("%.4g", value));
  return *this;
}

JsonLine& JsonLine::Add(absl::string_view key, bool value) {
  Key(key);
  body_ += value ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::Add(absl::string_view key, std::optional<uint64_t> value) {
  if (value.has_value()) return Add(key, *value);
  return AddRaw(key, "null");
}

JsonLine& JsonLine::AddRaw(absl::string_view key, absl::string_view json) {
  Key(key);
  absl::StrAppend(&body_, json);
  return *this;
}

}  // namespace mmapio::cli
