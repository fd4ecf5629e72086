#include "tools/report.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/format.h"

namespace mmapio::cli {
namespace {

// Wide enough for the values of most files, so that rows printed as they
// come stay aligned: "1023.9 MiB", ten-digit counts.
int DefaultWidth(Unit unit) {
  switch (unit) {
    case Unit::kCount:
    case Unit::kBytes:
      return 10;
    case Unit::kSeconds:
      return 9;
    case Unit::kPercent:
      return 6;
    default:
      return 8;
  }
}

bool IsNumber(const Value& value) {
  return std::holds_alternative<uint64_t>(value) ||
         std::holds_alternative<double>(value);
}

}  // namespace

Column Column::Path() {
  Column column;
  column.header = "PATH";
  column.key = "path";
  column.unit = Unit::kPath;
  column.summed = false;
  return column;
}

Column Column::Number(std::string header, std::string key, Unit unit) {
  Column column;
  column.header = std::move(header);
  column.key = std::move(key);
  column.unit = unit;
  return column;
}

Column Column::Share(std::string header, int part, int whole) {
  Column column;
  column.header = std::move(header);
  column.unit = Unit::kPercent;
  column.summed = false;
  column.part = part;
  column.whole = whole;
  return column;
}

Column Column::Text(std::string key) {
  Column column;
  column.key = std::move(key);
  column.unit = Unit::kText;
  column.summed = false;
  return column;
}

Report::Report(std::vector<Column> columns, ReportOptions options,
               std::function<void(absl::string_view)> out, std::string noun)
    : columns_(std::move(columns)),
      options_(options),
      out_(std::move(out)),
      noun_(std::move(noun)) {
  for (const Column& column : columns_) {
    widths_.push_back(std::max<int>(static_cast<int>(column.header.size()),
                                    DefaultWidth(column.unit)));
    if (!column.summed || column.unit == Unit::kPercent) {
      totals_.emplace_back(std::string());  // Not totalled: left blank.
    } else if (column.unit == Unit::kSeconds) {
      totals_.emplace_back(0.0);
    } else {
      totals_.emplace_back(uint64_t{0});
    }
  }
}

void Report::Add(std::vector<Value> record) {
  AddToTotals(record);
  if (options_.summary) return;
  if (options_.json) {
    out_(JsonObject(record, /*with_path=*/true) + "\n");
    ++lines_printed_;
    return;
  }
  PrintHeader();
  std::string name;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].unit == Unit::kPath) {
      name = std::get<std::string>(record[i]);
    }
  }
  PrintLine(record, name);
}

void Report::AddToTotals(const std::vector<Value>& record) {
  ++records_;
  for (size_t i = 0; i < columns_.size(); ++i) {
    Value& total = totals_[i];
    if (!IsNumber(total)) continue;  // Unknown, or not totalled.
    const Value& cell = record[i];
    if (std::holds_alternative<uint64_t>(cell) &&
        std::holds_alternative<uint64_t>(total)) {
      total = std::get<uint64_t>(total) + std::get<uint64_t>(cell);
    } else if (std::holds_alternative<double>(cell) &&
               std::holds_alternative<double>(total)) {
      total = std::get<double>(total) + std::get<double>(cell);
    } else {
      total = std::monostate{};
    }
  }
}

void Report::SetTotal(size_t index, Value total) {
  totals_[index] = std::move(total);
}

void Report::Finish() {
  const std::string count = CountOf(records_, noun_);
  if (options_.json) {
    std::string object = JsonObject(totals_, /*with_path=*/false);
    // "files" first, then the counters.
    object = absl::StrCat("{\"", noun_, "s\":", records_,
                          object.size() > 2 ? "," : "", object.substr(1));
    out_(
        (options_.summary ? object : absl::StrCat("{\"total\":", object, "}")) +
        "\n");
    return;
  }
  if (options_.summary) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < columns_.size(); ++i) {
      const Column& column = columns_[i];
      if (column.header.empty() || column.unit == Unit::kPath) continue;
      if (column.unit != Unit::kPercent &&
          std::holds_alternative<std::string>(totals_[i])) {
        continue;
      }
      parts.push_back(absl::StrCat(absl::AsciiStrToLower(column.header), " ",
                                   Cell(i, totals_)));
    }
    out_(absl::StrCat(count, ": ", absl::StrJoin(parts, ", "), "\n"));
    return;
  }
  PrintHeader();
  PrintLine(totals_, absl::StrCat("total (", count, ")"));
}

void Report::PrintHeader() {
  if (header_printed_) return;
  header_printed_ = true;
  std::string line;
  std::string path;
  for (size_t i = 0; i < columns_.size(); ++i) {
    const Column& column = columns_[i];
    if (column.header.empty()) continue;
    if (column.unit == Unit::kPath) {
      path = column.header;
      continue;
    }
    absl::StrAppend(&line, line.empty() ? "" : " ",
                    absl::StrFormat("%*s", widths_[i], column.header));
  }
  out_(absl::StrCat(line, "  ", path, "\n"));
  ++lines_printed_;
}

void Report::PrintLine(const std::vector<Value>& record,
                       const std::string& name) {
  std::string line;
  for (size_t i = 0; i < columns_.size(); ++i) {
    const Column& column = columns_[i];
    if (column.header.empty() || column.unit == Unit::kPath) continue;
    absl::StrAppend(&line, line.empty() ? "" : " ",
                    absl::StrFormat("%*s", widths_[i], Cell(i, record)));
  }
  out_(absl::StrCat(line, "  ", name, "\n"));
  ++lines_printed_;
}

std::string Report::Cell(size_t index, const std::vector<Value>& record) const {
  const Column& column = columns_[index];
  if (column.unit == Unit::kPercent) {
    const Value& part = record[column.part];
    const Value& whole = record[column.whole];
    if (!std::holds_alternative<uint64_t>(part) ||
        !std::holds_alternative<uint64_t>(whole)) {
      return "?";
    }
    return Percent(std::get<uint64_t>(part), std::get<uint64_t>(whole));
  }
  const Value& value = record[index];
  if (std::holds_alternative<std::monostate>(value)) return "?";
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  if (const auto* real = std::get_if<double>(&value)) {
    return absl::StrFormat("%.3f", *real);
  }
  const uint64_t number = std::get<uint64_t>(value);
  return column.unit == Unit::kBytes ? FormatBytes(number, options_.exact_bytes)
                                     : absl::StrCat(number);
}

std::string Report::JsonObject(const std::vector<Value>& record,
                               bool with_path) const {
  JsonLine line;
  for (size_t i = 0; i < columns_.size(); ++i) {
    const Column& column = columns_[i];
    if (column.unit == Unit::kPath && with_path) {
      line.AddPath(column.key, std::get<std::string>(record[i]));
    }
  }
  for (size_t i = 0; i < columns_.size(); ++i) {
    const Column& column = columns_[i];
    if (column.key.empty() || column.unit == Unit::kPath ||
        column.unit == Unit::kPercent) {
      continue;
    }
    const Value& value = record[i];
    if (std::holds_alternative<std::monostate>(value)) {
      if (!column.omit_unknown) line.AddRaw(column.key, "null");
    } else if (const auto* text = std::get_if<std::string>(&value)) {
      // A blank total: the column is not totalled.
      if (with_path || column.summed) line.Add(column.key, *text);
    } else if (const auto* real = std::get_if<double>(&value)) {
      line.Add(column.key, *real);
    } else {
      line.Add(column.key, std::get<uint64_t>(value));
    }
  }
  return line.Build();
}

}  // namespace mmapio::cli
