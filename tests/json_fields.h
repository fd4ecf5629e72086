// Reads the flat JSON lines the mmapio CLI prints, for tests on every OS.

#ifndef MMAPIO_TESTS_JSON_FIELDS_H_
#define MMAPIO_TESTS_JSON_FIELDS_H_

#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace mmapio::testing {

// A tiny reader of one JSON object: "key" -> its raw value (strings keep
// their quotes, nested objects are left as text).
inline std::map<std::string, std::string> JsonFields(absl::string_view line) {
  std::map<std::string, std::string> fields;
  absl::ConsumePrefix(&line, "{");
  absl::ConsumeSuffix(&line, "}");
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] != '"') return {};
    const size_t key_end = line.find('"', i + 1);
    const std::string key(line.substr(i + 1, key_end - i - 1));
    size_t j = key_end + 2;  // Past '":'.
    int depth = 0;
    bool in_string = false;
    const size_t value_start = j;
    for (; j < line.size(); ++j) {
      const char c = line[j];
      if (in_string) {
        if (c == '\\')
          ++j;
        else if (c == '"')
          in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    fields[key] = std::string(line.substr(value_start, j - value_start));
    i = j + 1;
  }
  return fields;
}

}  // namespace mmapio::testing

#endif  // MMAPIO_TESTS_JSON_FIELDS_H_
