// mmapio watch: residency over time, with deltas and thrashing flagged.

#include <cstdint>
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

// "(+12)", "(-3)", or nothing when unchanged or not seen before.
std::string Delta(uint64_t now, const Seen& before) {
  if (!before.known || now == before.value) return "";
  return absl::StrFormat("(%+d)", static_cast<int64_t>(now - before.value));
}

}  // namespace

const char kWatchHelp[] =
    R"(usage: mmapio watch [OPTIONS] PATH...

Measures the residency of each file every --interval and prints it with the
change since the last time: resident pages and, where the kernel tells
(cachestat), recently evicted pages. A file whose recently evicted count
grows is flagged THRASHING: the kernel is evicting its pages under memory
pressure and reading them back. On a terminal the table is redrawn in place;
otherwise one block is appended per round.

options:
  --interval=DURATION  time between rounds (default 1s; 250ms, 5s, ...)
  --count=N            stop after N rounds (default: until interrupted)
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
  uint64_t rounds = 0;
  uint64_t pages = 0;
  uint64_t resident_pages = 0;
  while (options.count == 0 || rounds < options.count) {
    if (rounds > 0 && WaitForStopSignal(options.interval)) break;
    ++rounds;
    pages = 0;
    resident_pages = 0;
    const std::string now =
        absl::FormatTime("%H:%M:%S", absl::Now(), absl::LocalTimeZone());
    if (redraw) PrintF("\033[H\033[2J");
    if (!options.report.json) {
      PrintF("%s  round %d\n%10s %12s %9s %12s  %s\n", now, rounds, "PAGES",
             "RESIDENT", "RES%", "RECENT-EVICT", "PATH");
    }
    for (Watched& file : files) {
      absl::StatusOr<ResidencySummary> summary =
          SummarizeResidency(file.region, file.range);
      if (!summary.ok()) {
        loop.Report(summary.status());
        continue;
      }
      pages += summary->pages;
      resident_pages += summary->resident_pages;
      const bool thrashing =
          summary->recently_evicted_pages.has_value() &&
          file.recently_evicted.known &&
          *summary->recently_evicted_pages > file.recently_evicted.value;
      if (options.report.json) {
        PrintF("%s\n", JsonLine()
                           .Add("round", rounds)
                           .AddPath("path", file.region.path())
                           .Add("pages", summary->pages)
                           .Add("resident_pages", summary->resident_pages)
                           .Add("recently_evicted_pages",
                                summary->recently_evicted_pages)
                           .Add("thrashing", thrashing)
                           .Add("source", ResidencySourceName(summary->source))
                           .Build());
      } else {
        const std::string resident =
            absl::StrCat(summary->resident_pages,
                         Delta(summary->resident_pages, file.resident));
        const std::string recent =
            summary->recently_evicted_pages.has_value()
                ? absl::StrCat(*summary->recently_evicted_pages,
                               Delta(*summary->recently_evicted_pages,
                                     file.recently_evicted))
                : "?";
        PrintF("%10d %12s %9s %12s  %s%s\n", summary->pages, resident,
               Percent(summary->resident_pages, summary->pages), recent,
               file.region.path(), thrashing ? "  THRASHING" : "");
      }
      file.resident = {true, summary->resident_pages};
      file.recently_evicted = {summary->recently_evicted_pages.has_value(),
                               summary->recently_evicted_pages.value_or(0)};
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
    PrintF("total (%d files, %d rounds): %d of %d pages resident (%s)\n",
           files.size(), rounds, resident_pages, pages,
           Percent(resident_pages, pages));
  }
  return loop.exit_code();
}

}  // namespace mmapio::cli
