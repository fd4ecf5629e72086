// Fuzzes the CLI's JSON escaping (tools/format.h) with arbitrary bytes: what
// JsonString makes is always a valid JSON string (RFC 8259, in UTF-8), and
// it decodes back to the input whenever the input is UTF-8 itself. A JSON
// line of one field keeps both its key and its value the same way.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "tests/fuzz/fuzz_check.h"
#include "tools/format.h"

namespace mmapio::cli {
namespace {

// Appends code point `c` to `out` in UTF-8.
void AppendUtf8(uint32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

// The length of the well-formed UTF-8 sequence at the start of `text`
// (Unicode's table 3-7), or 0 when there is none. Written apart from
// tools/format.cc on purpose: the oracle must not share the code it checks.
size_t Utf8SequenceLength(absl::string_view text) {
  const auto byte = [&](size_t i) {
    return i < text.size() ? static_cast<unsigned char>(text[i]) : 0;
  };
  const auto continuation = [&](size_t i, unsigned char low,
                                unsigned char high) {
    return byte(i) >= low && byte(i) <= high;
  };
  const unsigned char b0 = byte(0);
  if (text.empty()) return 0;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) return continuation(1, 0x80, 0xbf) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const unsigned char low = b0 == 0xe0 ? 0xa0 : 0x80;
    const unsigned char high = b0 == 0xed ? 0x9f : 0xbf;
    return continuation(1, low, high) && continuation(2, 0x80, 0xbf) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const unsigned char low = b0 == 0xf0 ? 0x90 : 0x80;
    const unsigned char high = b0 == 0xf4 ? 0x8f : 0xbf;
    return continuation(1, low, high) && continuation(2, 0x80, 0xbf) &&
                   continuation(3, 0x80, 0xbf)
               ? 4
               : 0;
  }
  return 0;
}

bool IsUtf8(absl::string_view text) {
  while (!text.empty()) {
    const size_t length = Utf8SequenceLength(text);
    if (length == 0) return false;
    text.remove_prefix(length);
  }
  return true;
}

std::optional<uint32_t> Hex4(absl::string_view text) {
  if (text.size() < 4) return std::nullopt;
  uint32_t value = 0;
  for (const char c : text.substr(0, 4)) {
    const int digit = absl::ascii_isdigit(c) ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<uint32_t>(digit);
  }
  return value;
}

// Decodes the JSON string literal at the start of `*json` and consumes it;
// nullopt when it is not a valid one (RFC 8259 section 7, in UTF-8, with
// surrogates only in pairs).
std::optional<std::string> ParseJsonString(absl::string_view* json) {
  absl::string_view in = *json;
  if (in.empty() || in.front() != '"') return std::nullopt;
  in.remove_prefix(1);
  std::string out;
  while (true) {
    if (in.empty()) return std::nullopt;
    const char c = in.front();
    if (c == '"') break;
    if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
    if (c != '\\') {
      const size_t length = Utf8SequenceLength(in);
      if (length == 0) return std::nullopt;
      out.append(in.data(), length);
      in.remove_prefix(length);
      continue;
    }
    if (in.size() < 2) return std::nullopt;
    const char escape = in[1];
    in.remove_prefix(2);
    switch (escape) {
      case '"':
      case '\\':
      case '/':
        out += escape;
        continue;
      case 'b':
        out += '\b';
        continue;
      case 'f':
        out += '\f';
        continue;
      case 'n':
        out += '\n';
        continue;
      case 'r':
        out += '\r';
        continue;
      case 't':
        out += '\t';
        continue;
      case 'u':
        break;
      default:
        return std::nullopt;
    }
    std::optional<uint32_t> unit = Hex4(in);
    if (!unit.has_value()) return std::nullopt;
    in.remove_prefix(4);
    uint32_t code = *unit;
    if (code >= 0xdc00 && code <= 0xdfff) return std::nullopt;
    if (code >= 0xd800 && code <= 0xdbff) {
      if (in.size() < 2 || in[0] != '\\' || in[1] != 'u') return std::nullopt;
      in.remove_prefix(2);
      const std::optional<uint32_t> low = Hex4(in);
      if (!low.has_value() || *low < 0xdc00 || *low > 0xdfff) {
        return std::nullopt;
      }
      in.remove_prefix(4);
      code = 0x10000 + ((code - 0xd800) << 10) + (*low - 0xdc00);
    }
    AppendUtf8(code, out);
  }
  in.remove_prefix(1);
  *json = in;
  return out;
}

void CheckString(absl::string_view text) {
  const std::string json = JsonString(text);
  absl::string_view rest = json;
  const std::optional<std::string> decoded = ParseJsonString(&rest);
  FUZZ_CHECK(decoded.has_value() && rest.empty(), "JsonString(\"",
             absl::CHexEscape(text),
             "\") is not a JSON string: ", absl::CHexEscape(json));
  if (IsUtf8(text)) {
    FUZZ_CHECK(*decoded == text, "JsonString(\"", absl::CHexEscape(text),
               "\") decodes to \"", absl::CHexEscape(*decoded), "\"");
  }
}

void CheckLine(absl::string_view text) {
  const std::string line = JsonLine().Add(text, text).Build();
  absl::string_view rest = line;
  bool valid = absl::ConsumePrefix(&rest, "{");
  const std::optional<std::string> key = ParseJsonString(&rest);
  valid = valid && key.has_value() && absl::ConsumePrefix(&rest, ":");
  const std::optional<std::string> value = ParseJsonString(&rest);
  valid = valid && value.has_value() && rest == "}";
  FUZZ_CHECK(valid, "not a JSON object: ", absl::CHexEscape(line));
  FUZZ_CHECK(*key == *value, "key and value differ: ", absl::CHexEscape(line));
}

}  // namespace
}  // namespace mmapio::cli

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  mmapio::cli::CheckString(text);
  mmapio::cli::CheckLine(text);
  return 0;
}
