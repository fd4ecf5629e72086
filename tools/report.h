// The one output model of the commands that report per file (stat, touch,
// evict): a command declares its columns once, with their units, and adds
// one record per file; a Report prints the records as an aligned table
// (sizes in KiB/MiB/GiB, exact with --bytes) or as one JSON object per line
// (--json), then their totals. With --summary it prints the totals only, on
// exactly one line. Commands that build a Report over a std::string sink are
// testable without a process.
//
// Not thread-safe: one thread adds records.

#ifndef MMAPIO_TOOLS_REPORT_H_
#define MMAPIO_TOOLS_REPORT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"

namespace mmapio::cli {

enum class Unit {
  kPath,     // The record's file: last in the table, first in JSON.
  kCount,    // A whole number.
  kBytes,    // Binary units in the table unless exact; always exact in JSON.
  kSeconds,  // Three decimals.
  kPercent,  // A share of two other columns (Column::part, Column::whole).
  kText,     // As it is.
};

// What a cell holds: nothing known ("?" in the table; null in JSON, or no
// field for a column with omit_unknown), a whole number, a real number, or
// text.
using Value = std::variant<std::monostate, uint64_t, double, std::string>;

// A count that may be unknown.
inline Value Known(std::optional<uint64_t> count) {
  if (!count.has_value()) return std::monostate{};
  return *count;
}

struct Column {
  // The file: "PATH" in the table, "path" in JSON.
  static Column Path();
  // A number, summed in the totals.
  static Column Number(std::string header, std::string key,
                       Unit unit = Unit::kCount);
  // The share of column `part` in column `whole`, in the table only.
  static Column Share(std::string header, int part, int whole);
  // Text in JSON only, not totalled.
  static Column Text(std::string key);

  // In JSON, an unknown cell is left out rather than written as null.
  Column OmitUnknown() && {
    omit_unknown = true;
    return std::move(*this);
  }

  std::string header;  // In the table; empty: JSON only.
  std::string key;     // In JSON; empty: table only.
  Unit unit = Unit::kCount;
  // Totals add this column up (numbers only); an unknown cell makes the
  // total unknown.
  bool summed = true;
  bool omit_unknown = false;
  // For kPercent: the indexes of the columns whose share it shows.
  int part = -1;
  int whole = -1;
};

struct ReportOptions {
  bool json = false;
  bool exact_bytes = false;  // --bytes
  bool summary = false;      // --summary: the totals only, on one line.
};

class Report {
 public:
  // `out` receives whole lines (the CLI passes Print). `noun` counts the
  // records in the totals ("file": "1 file", "2 files"; the JSON key is
  // the plural).
  Report(std::vector<Column> columns, ReportOptions options,
         std::function<void(absl::string_view)> out, std::string noun = "file");

  // Prints `record` (one Value per column; kPercent cells are computed and
  // may be left empty) unless --summary, and adds it to the totals.
  void Add(std::vector<Value> record);

  // Counts `record` in the totals without printing it.
  void AddToTotals(const std::vector<Value>& record);

  // Sets the total of column `index` (a total that is not a sum, such as
  // the time a whole run took).
  void SetTotal(size_t index, Value total);

  // Prints the totals: a "total (N files)" row in the table, a {"total":
  // {...}} line in JSON; with --summary, "N files: ..." or one flat JSON
  // object with "files" first.
  void Finish();

  uint64_t records() const { return records_; }
  const std::string& noun() const { return noun_; }
  uint64_t lines_printed() const { return lines_printed_; }

 private:
  void PrintHeader();
  void PrintLine(const std::vector<Value>& record, const std::string& name);
  std::string Cell(size_t index, const std::vector<Value>& record) const;
  std::string JsonObject(const std::vector<Value>& record,
                         bool with_path) const;

  std::vector<Column> columns_;
  ReportOptions options_;
  std::function<void(absl::string_view)> out_;
  std::string noun_;
  std::vector<int> widths_;
  std::vector<Value> totals_;
  uint64_t records_ = 0;
  uint64_t lines_printed_ = 0;
  bool header_printed_ = false;
};

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_REPORT_H_
