// `mmapio stat`: size and page-cache residency per file, and a total.

#ifndef MMAPIO_TOOLS_STAT_COMMAND_H_
#define MMAPIO_TOOLS_STAT_COMMAND_H_

#include <string>
#include <vector>

#include "tools/file_walk.h"

namespace mmapio::cli {

struct StatOptions {
  WalkOptions walk;
  bool exact_bytes = false;
};

extern const char kStatHelp[];

// Prints one line per file to stdout and per-file errors to stderr.
// Returns the exit code: 0 when every file was measured, 1 otherwise.
int RunStat(const std::vector<std::string>& paths, const StatOptions& options);

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_STAT_COMMAND_H_
