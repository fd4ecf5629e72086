#include "tools/file_walk.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mmapio::cli {
namespace {

namespace fs = std::filesystem;

absl::Status WalkError(const std::string& path, const std::error_code& error) {
  return absl::Status(absl::StatusCode::kUnavailable,
                      absl::StrCat("walk \"", path, "\": ", error.message()));
}

void WalkDirectory(const std::string& path,
                   const std::function<void(const std::string&)>& on_file,
                   const std::function<void(const absl::Status&)>& on_error) {
  std::error_code error;
  fs::directory_iterator it(path, error);
  if (error) {
    on_error(WalkError(path, error));
    return;
  }
  std::vector<fs::directory_entry> entries;
  for (; it != fs::directory_iterator(); it.increment(error)) {
    if (error) {
      on_error(WalkError(path, error));
      return;
    }
    entries.push_back(*it);
  }
  std::sort(entries.begin(), entries.end());
  for (const fs::directory_entry& entry : entries) {
    if (entry.is_symlink(error)) continue;
    if (entry.is_directory(error)) {
      WalkDirectory(entry.path().string(), on_file, on_error);
    } else {
      on_file(entry.path().string());
    }
  }
}

}  // namespace

void WalkPaths(const std::vector<std::string>& paths, const WalkOptions& options,
               const std::function<void(const std::string&)>& on_file,
               const std::function<void(const absl::Status&)>& on_error) {
  for (const std::string& path : paths) {
    std::error_code error;
    if (options.recurse && fs::is_directory(path, error)) {
      WalkDirectory(path, on_file, on_error);
    } else {
      on_file(path);
    }
  }
}

}  // namespace mmapio::cli
