// Expands the CLI's PATH arguments into the files to work on.

#ifndef MMAPIO_TOOLS_FILE_WALK_H_
#define MMAPIO_TOOLS_FILE_WALK_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mmapio::cli {

struct WalkOptions {
  bool recurse = true;           // Walk into directories.
  bool follow_symlinks = false;  // Follow links met inside directories.
  // Shell globs matched against a file's name and against its whole path.
  // A file is taken when it matches some include (or there is none) and no
  // exclude; a directory matching an exclude is not entered.
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::optional<uint64_t> max_size;  // Larger files are skipped.
};

// Calls `on_file` once per file (a hard-linked file once, under its first
// path), in argument order with directory entries sorted by name, and
// `on_error` for each path that cannot be examined. A path given as an
// argument is taken as given, even when it is a symbolic link; anything that
// is not a directory is passed on for the command to accept or refuse.
void WalkPaths(const std::vector<std::string>& paths,
               const WalkOptions& options,
               const std::function<void(const std::string&)>& on_file,
               const std::function<void(const absl::Status&)>& on_error);

// The paths listed in `source` ("-" for standard input), one per line, or
// separated by NUL bytes when `nul_separated`. Empty entries are skipped.
absl::StatusOr<std::vector<std::string>> ReadPathList(const std::string& source,
                                                      bool nul_separated);

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_FILE_WALK_H_
