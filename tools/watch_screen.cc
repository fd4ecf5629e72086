#include "tools/watch_screen.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/format.h"

namespace mmapio::cli {
namespace {

constexpr char kRed[] = "\033[1;31m";
constexpr char kGreen[] = "\033[32m";
constexpr char kYellow[] = "\033[33m";
constexpr char kReset[] = "\033[0m";

// Lines a block takes besides its files: the title, the header, the total.
constexpr int kFixedLines = 3;

// "512", "512 (+12)", "512 (-3)".
std::string WithDelta(uint64_t value, std::optional<int64_t> delta) {
  if (!delta.has_value() || *delta == 0) return absl::StrCat(value);
  return absl::StrFormat("%d (%+d)", value, *delta);
}

uint64_t Magnitude(std::optional<int64_t> delta) {
  return delta.has_value() ? static_cast<uint64_t>(std::llabs(*delta)) : 0;
}

// How much a file changed, to pick the files a screen has room for.
uint64_t Change(const WatchRow& row) {
  return Magnitude(row.resident_delta) + Magnitude(row.recently_evicted_delta);
}

// A change of a tenth of the file or more.
bool Large(std::optional<int64_t> delta, uint64_t pages) {
  return delta.has_value() && *delta != 0 &&
         Magnitude(delta) * 10 >= std::max<uint64_t>(pages, 1);
}

std::optional<int64_t> Sum(std::optional<int64_t> a, std::optional<int64_t> b) {
  if (!a.has_value() || !b.has_value()) return std::nullopt;
  return *a + *b;
}

struct Cells {
  std::string pages, resident, share, recent, name;
  const char* resident_color = nullptr;
  bool thrashing = false;
};

Cells CellsOf(const WatchRow& row, std::string name) {
  Cells cells{absl::StrCat(row.pages),
              WithDelta(row.resident, row.resident_delta),
              Percent(row.resident, row.pages),
              row.recently_evicted.has_value()
                  ? WithDelta(*row.recently_evicted, row.recently_evicted_delta)
                  : "?",
              std::move(name)};
  if (Large(row.resident_delta, row.pages)) {
    cells.resident_color = *row.resident_delta > 0 ? kGreen : kYellow;
  }
  cells.thrashing = row.thrashing;
  return cells;
}

}  // namespace

std::vector<std::string> RenderWatchRound(const std::string& time,
                                          uint64_t round,
                                          std::vector<WatchRow> files,
                                          const WatchScreenOptions& options) {
  WatchRow total;
  uint64_t thrashing = 0;
  total.resident_delta = 0;
  total.recently_evicted = 0;
  total.recently_evicted_delta = 0;
  for (const WatchRow& row : files) {
    total.pages += row.pages;
    total.resident += row.resident;
    total.resident_delta = Sum(total.resident_delta, row.resident_delta);
    total.recently_evicted =
        total.recently_evicted.has_value() && row.recently_evicted.has_value()
            ? std::optional(*total.recently_evicted + *row.recently_evicted)
            : std::nullopt;
    total.recently_evicted_delta =
        Sum(total.recently_evicted_delta, row.recently_evicted_delta);
    thrashing += row.thrashing ? 1 : 0;
  }
  if (files.empty()) total.recently_evicted = std::nullopt;

  std::string title = absl::StrCat(time, "  round ", round);
  size_t shown = files.size();
  if (options.rows > 0) {
    const int room = options.rows - 1 - kFixedLines;
    if (room < 0) {
      // No room for a table: the total alone.
      return {absl::StrFormat("%s  total (%s): %d of %d pages resident", title,
                              CountOf(files.size(), "file"), total.resident,
                              total.pages)};
    }
    if (static_cast<size_t>(room) < files.size()) {
      shown = static_cast<size_t>(room);
      // Thrashing first, then the largest changes; ties keep their order.
      std::stable_sort(files.begin(), files.end(),
                       [](const WatchRow& a, const WatchRow& b) {
                         if (a.thrashing != b.thrashing) return a.thrashing;
                         return Change(a) > Change(b);
                       });
      absl::StrAppend(&title, "  (", shown, " of ", files.size(),
                      " files, the most changed)");
    }
  }

  std::vector<Cells> rows;
  for (size_t i = 0; i < shown; ++i) {
    rows.push_back(CellsOf(files[i], files[i].path));
  }
  Cells total_cells = CellsOf(
      total, absl::StrCat("total (", CountOf(files.size(), "file"), ")"));
  total_cells.resident_color = nullptr;
  const Cells header{"PAGES", "RESIDENT", "RES%", "RECENT-EVICT", "PATH"};

  // Widths from what is shown, so that columns align whatever the deltas.
  size_t widths[4] = {8, 8, 6, 12};
  const auto widen = [&widths](const Cells& cells) {
    const std::string* cell[4] = {&cells.pages, &cells.resident, &cells.share,
                                  &cells.recent};
    for (int i = 0; i < 4; ++i)
      widths[i] = std::max(widths[i], cell[i]->size());
  };
  widen(header);
  widen(total_cells);
  for (const Cells& cells : rows) widen(cells);

  const auto line = [&](const Cells& cells) {
    std::string resident = absl::StrFormat("%*s", widths[1], cells.resident);
    if (options.color && cells.resident_color != nullptr) {
      resident = absl::StrCat(cells.resident_color, resident, kReset);
    }
    std::string name = cells.name;
    const std::string flag = cells.thrashing ? "  THRASHING" : "";
    if (options.columns > 0) {
      // The cursor's column stays free, so that the line does not wrap.
      const size_t before = widths[0] + widths[1] + widths[2] + widths[3] + 8;
      const size_t room = static_cast<size_t>(options.columns) - 1;
      const size_t fits =
          room > before + flag.size() ? room - before - flag.size() : 0;
      if (name.size() > fits) {
        name = fits > 3
                   ? absl::StrCat("...", name.substr(name.size() - (fits - 3)))
                   : "";
      }
    }
    if (cells.thrashing) {
      absl::StrAppend(&name, "  ", options.color ? kRed : "", "THRASHING",
                      options.color ? kReset : "");
    }
    return absl::StrFormat("%*s  %s  %*s  %*s  %s", widths[0], cells.pages,
                           resident, widths[2], cells.share, widths[3],
                           cells.recent, name);
  };
  std::vector<std::string> lines = {title, line(header)};
  for (const Cells& cells : rows) lines.push_back(line(cells));
  if (thrashing > 0) {
    absl::StrAppend(&total_cells.name, "  ", options.color ? kRed : "",
                    thrashing, " THRASHING", options.color ? kReset : "");
  }
  lines.push_back(line(total_cells));
  return lines;
}

}  // namespace mmapio::cli
