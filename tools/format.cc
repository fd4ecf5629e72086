#include "tools/format.h"

#include <array>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
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

std::string CountOf(uint64_t n, absl::string_view noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  return absl::StrFormat(
      "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

absl::StatusOr<uint64_t> ParseSize(absl::string_view text) {
  const auto not_a_size = [text] {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a size (like 4096, 4k, 50M, 2G)"));
  };
  size_t digits = 0;
  while (digits < text.size() && absl::ascii_isdigit(text[digits])) ++digits;
  if (digits == 0) return not_a_size();
  // What may follow the number: nothing or "B" for bytes, or a unit letter
  // alone or with "B" or "iB" ("4k", "4kB", "4KiB").
  absl::string_view unit = text.substr(digits);
  int shift = 0;
  if (!unit.empty() && absl::ascii_tolower(unit[0]) != 'b') {
    const size_t letter =
        absl::string_view("kmgtp").find(absl::ascii_tolower(unit[0]));
    if (letter == absl::string_view::npos) return not_a_size();
    shift = 10 * static_cast<int>(letter + 1);
    unit.remove_prefix(1);
    absl::ConsumePrefix(&unit, "i");
  }
  if (!unit.empty() && unit != "B" && unit != "b") return not_a_size();
  uint64_t value = 0;
  if (!absl::SimpleAtoi(text.substr(0, digits), &value) ||
      value > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return absl::OutOfRangeError(
        absl::StrCat("\"", text, "\" overflows 64 bits"));
  }
  return value << shift;
}

absl::StatusOr<ByteRange> ParseRange(absl::string_view text) {
  const size_t dash = text.find('-');
  if (dash == absl::string_view::npos || text == "-") {
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
    if (*end <= range.offset) {
      return absl::InvalidArgumentError(absl::StrCat(
          "range \"", text, "\" ",
          *end == range.offset ? "is empty" : "ends before it starts"));
    }
    range.length = *end - range.offset;
  }
  return range;
}

namespace {

// The length of the UTF-8 sequence at the start of `text`, or 0 when it
// does not start with a well-formed one (RFC 3629).
size_t Utf8SequenceLength(absl::string_view text) {
  if (text.empty()) return 0;
  const auto byte = [text](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  // The lead byte decides the length and the range of the second byte,
  // which excludes overlong forms, UTF-16 surrogates and code points past
  // U+10FFFF (RFC 3629, section 4).
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  while (!text.empty()) {
    const size_t length = Utf8SequenceLength(text);
    if (length == 0) return false;
    text.remove_prefix(length);
  }
  return true;
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  while (!text.empty()) {
    const char c = text[0];
    const size_t length = Utf8SequenceLength(text);
    if (length == 0) {
      // A byte that is not UTF-8: escaped as the code point of the same
      // value, which keeps the line valid JSON; the exact bytes travel
      // beside it (see JsonLine::AddPath).
      absl::StrAppend(
          &out, absl::StrFormat("\\u%04x", static_cast<unsigned char>(c)));
      text.remove_prefix(1);
      continue;
    }
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
          out.append(text.data(), length);
        }
    }
    text.remove_prefix(length);
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

JsonLine& JsonLine::AddPath(absl::string_view key, absl::string_view path) {
  Add(key, path);
  if (!IsValidUtf8(path)) {
    Add(absl::StrCat(key, "_bytes"), absl::BytesToHexString(path));
  }
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
