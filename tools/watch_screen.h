// What `mmapio watch` shows of one round: a block of aligned lines, with
// the change since the previous round. On a terminal the block fits the
// screen: the files that changed most, as many as there are rows, and the
// total row always; elsewhere every file, in the order given.
//
// Pure: no I/O, so the layout is tested table by table.

#ifndef MMAPIO_TOOLS_WATCH_SCREEN_H_
#define MMAPIO_TOOLS_WATCH_SCREEN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mmapio::cli {

// One file in one round.
struct WatchRow {
  std::string path;
  uint64_t pages = 0;
  uint64_t resident = 0;
  std::optional<int64_t> resident_delta;     // nullopt in the first round.
  std::optional<uint64_t> recently_evicted;  // nullopt: the kernel hides it.
  std::optional<int64_t> recently_evicted_delta;
  // The kernel evicted pages of the file and read them back: recently
  // evicted grew.
  bool thrashing = false;
};

struct WatchScreenOptions {
  // The terminal's rows; 0: not a terminal, every file is listed.
  int rows = 0;
  // The terminal's columns; 0: no limit. A path that would make its line
  // wrap (and take two rows) is shortened from its start: ".../f".
  int columns = 0;
  bool color = false;  // ANSI colours for thrashing and large changes.
};

// The lines of a round (without newlines): the time and round, the column
// header, the rows, and "total (N files)". With `rows`, the block has at
// most rows - 1 lines, so that the cursor's line does not scroll the block
// off the screen, and lists the files with the largest changes first.
std::vector<std::string> RenderWatchRound(const std::string& time,
                                          uint64_t round,
                                          std::vector<WatchRow> files,
                                          const WatchScreenOptions& options);

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_WATCH_SCREEN_H_
