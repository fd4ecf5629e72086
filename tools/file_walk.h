// Expands the CLI's PATH arguments into the regular files to work on.

#ifndef MMAPIO_TOOLS_FILE_WALK_H_
#define MMAPIO_TOOLS_FILE_WALK_H_

#include <functional>
#include <string>

#include "absl/status/status.h"

namespace mmapio::cli {

struct WalkOptions {
  bool recurse = true;
};

// Calls `on_file` for each path that is not a directory (in argument order,
// directory entries sorted) and `on_error` for each path that cannot be
// walked. Symbolic links met inside directories are not followed; a path
// given as an argument is taken as given.
void WalkPaths(const std::vector<std::string>& paths, const WalkOptions& options,
               const std::function<void(const std::string&)>& on_file,
               const std::function<void(const absl::Status&)>& on_error);

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_FILE_WALK_H_
