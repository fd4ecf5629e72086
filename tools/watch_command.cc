// mmapio watch: residency over time, with deltas and thrashing flagged.

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"
#include "tools/command.h"
#include "tools/console.h"
#include "tools/format.h"
#include "tools/output.h"
#include "tools/watch_screen.h"

namespace mmapio::cli {
namespace {

// A counter as last seen; `known` is false before the first round and
// where the kernel does not tell.
struct Seen {
  bool known = false;
  uint64_t value = 0;
};

struct Watched {
  Region region;
  ByteRange range;
  Seen resident;
  Seen recently_evicted;
};

// The change since `before`, or nullopt when it was not seen.
std::optional<int64_t> Delta(uint64_t now, const Seen& before) {
  if (!before.known) return std::nullopt;
  return static_cast<int64_t>(now - before.value);
}

}  // namespace

const char kWatchHelp[] =
    R"(usage: mmapio watch [OPTIONS] PATH...

Measures the residency of each file every --interval and prints it with the
change since the last time: resident pages and, where the kernel tells
(cachestat), recently evicted pages. A file whose recently evicted count
grows is flagged THRASHING: the kernel is evicting its pages under memory
pressure and reading them back. Each round ends with a total row.

On a terminal the table is redrawn in place and fits the screen: when there
are more files than rows, it shows those that changed most (thrashing
first), and the total row always; THRASHING is red, and a change of a tenth
of a file or more green (loaded) or yellow (evicted). Otherwise one block
is appended per round, with every file.

options:
  --interval=DURATION  time between rounds (default 1s; 0.2 is seconds,
                       or 250ms, 5s, 1m)
  --count=N            stop after N rounds (default: until interrupted)
  --color=WHEN         auto (on a terminal, unless NO_COLOR is set),
                       always or never
  --range=START-END    only these bytes of each file
  --json               one JSON object per file per round
  and the path options of "mmapio stat --help"

It ends after --count rounds, or at Ctrl-C, SIGTERM or SIGHUP, printing the
totals of the last round ({"total": {...}} with --json) and exiting 0.

examples:
  mmapio watch /var/lib/db
  mmapio watch --interval=250ms --count=20 --json /srv/index
)";

int RunWatch(const std::vector<std::string>& paths, const CliOptions& options) {
  BlockStopSignals();
  FileLoop loop("watch", options);
  std::vector<Watched> files;
  loop.RunOnRegions(
      paths, [&](Region& region, ByteRange range) -> absl::Status {
        files.push_back(Watched{std::move(region), range, {}, {}});
        return absl::OkStatus();
      });
  const bool redraw = !options.report.json && IsTerminal(StandardStream::kOut);
  const bool color = options.color == When::kAlways ||
                     (options.color == When::kAuto && redraw &&
                      std::getenv("NO_COLOR") == nullptr);
  uint64_t rounds = 0;
  uint64_t pages = 0;
  uint64_t resident_pages = 0;
  while (options.count == 0 || rounds < options.count) {
    if (rounds > 0 && WaitForStopSignal(options.interval)) break;
    ++rounds;
    pages = 0;
    resident_pages = 0;
    std::vector<WatchRow> rows;
    for (Watched& file : files) {
      absl::StatusOr<ResidencySummary> summary =
          SummarizeResidency(file.region, file.range);
      if (!summary.ok()) {
        loop.Report(summary.status());
        continue;
      }
      pages += summary->pages;
      resident_pages += summary->resident_pages;
      WatchRow row;
      row.path = file.region.path();
      row.pages = summary->pages;
      row.resident = summary->resident_pages;
      row.resident_delta = Delta(summary->resident_pages, file.resident);
      row.recently_evicted = summary->recently_evicted_pages;
      if (summary->recently_evicted_pages.has_value()) {
        row.recently_evicted_delta =
            Delta(*summary->recently_evicted_pages, file.recently_evicted);
      }
      row.thrashing = row.recently_evicted_delta.value_or(0) > 0;
      if (options.report.json) {
        PrintF("%s\n", JsonLine()
                           .Add("round", rounds)
                           .AddPath("path", row.path)
                           .Add("pages", row.pages)
                           .Add("resident_pages", row.resident)
                           .Add("recently_evicted_pages",
                                summary->recently_evicted_pages)
                           .Add("thrashing", row.thrashing)
                           .Add("source", ResidencySourceName(summary->source))
                           .Build());
      }
      rows.push_back(std::move(row));
      file.resident = {true, summary->resident_pages};
      file.recently_evicted = {summary->recently_evicted_pages.has_value(),
                               summary->recently_evicted_pages.value_or(0)};
    }
    if (!options.report.json) {
      const std::string now =
          absl::FormatTime("%H:%M:%S", absl::Now(), absl::LocalTimeZone());
      // Redrawn from the top left, cleared below what is drawn.
      std::string block = redraw ? "\033[H" : "";
      const TerminalSize screen = redraw ? GetTerminalSize() : TerminalSize{};
      for (const std::string& line :
           RenderWatchRound(now, rounds, std::move(rows),
                            {.rows = screen.rows,
                            .columns = screen.columns,
                            .color = color})) {
        absl::StrAppend(&block, line, redraw ? "\033[K\n" : "\n");
      }
      if (redraw) absl::StrAppend(&block, "\033[J");
      Print(block);
    }
    // Lost output ends the run; the caller names the error.
    if (!FlushOutput().ok()) return 1;
  }
  // The last round's totals, also when a signal ended the run.
  if (options.report.json) {
    PrintF("%s\n",
           JsonLine()
               .AddRaw("total", JsonLine()
                                    .Add("rounds", rounds)
                                    .Add("files", files.size())
                                    .Add("pages", pages)
                                    .Add("resident_pages", resident_pages)
                                    .Build())
               .Build());
  } else {
    PrintF("total (%s, %s): %d of %d pages resident (%s)\n",
           CountOf(files.size(), "file"), CountOf(rounds, "round"),
           resident_pages, pages, Percent(resident_pages, pages));
  }
  return loop.exit_code();
}

}  // namespace mmapio::cli
