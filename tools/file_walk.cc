#include "tools/file_walk.h"

#include <errno.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/file_system.h"
#include "tools/glob.h"

namespace mmapio::cli {
namespace {

bool Matches(const std::vector<std::string>& globs, const std::string& path) {
  const size_t slash = path.find_last_of(kPathSeparators);
  const char* name =
      path.c_str() + (slash == std::string::npos ? 0 : slash + 1);
  for (const std::string& glob : globs) {
    if (GlobMatch(glob, name) || GlobMatch(glob, path)) {
      return true;
    }
  }
  return false;
}

class Walker {
 public:
  Walker(const WalkOptions& options,
         const std::function<void(const std::string&)>& on_file,
         const std::function<void(const absl::Status&)>& on_error)
      : options_(options), on_file_(on_file), on_error_(on_error) {}

  void Argument(const std::string& path) {
    absl::StatusOr<FileStatus> status = StatPath(path, /*follow_links=*/true);
    if (!status.ok()) {
      // Let the command report it with its own words (NotFound, ...).
      on_file_(path);
      return;
    }
    Visit(path, *status);
  }

 private:
  void Visit(const std::string& path, const FileStatus& status) {
    if (status.kind == FileKind::kDirectory && options_.recurse) {
      if (Matches(options_.exclude, path)) return;
      // A directory reached twice (through a followed link) is a cycle.
      if (!directories_.insert(status.id).second) return;
      Directory(path);
      return;
    }
    if (!options_.include.empty() && !Matches(options_.include, path)) return;
    if (Matches(options_.exclude, path)) return;
    if (status.kind == FileKind::kRegular) {
      if (options_.max_size.has_value() && status.size > *options_.max_size) {
        return;
      }
      if (!files_.insert(status.id).second) return;
    }
    on_file_(path);
  }

  void Directory(const std::string& path) {
    absl::StatusOr<std::vector<std::string>> names = ListDirectory(path);
    if (!names.ok()) return on_error_(names.status());
    std::sort(names->begin(), names->end());
    for (const std::string& name : *names) {
      const std::string child = JoinPath(path, name);
      absl::StatusOr<FileStatus> status =
          StatPath(child, /*follow_links=*/false);
      if (status.ok() && status->kind == FileKind::kSymbolicLink) {
        if (!options_.follow_symlinks) continue;
        status = StatPath(child, /*follow_links=*/true);
      }
      if (!status.ok()) {
        on_error_(status.status());
        continue;
      }
      Visit(child, *status);
    }
  }

  const WalkOptions& options_;
  const std::function<void(const std::string&)>& on_file_;
  const std::function<void(const absl::Status&)>& on_error_;
  std::set<FileId> files_;
  std::set<FileId> directories_;
};

}  // namespace

void WalkPaths(const std::vector<std::string>& paths,
               const WalkOptions& options,
               const std::function<void(const std::string&)>& on_file,
               const std::function<void(const absl::Status&)>& on_error) {
  Walker walker(options, on_file, on_error);
  for (const std::string& path : paths) walker.Argument(path);
}

namespace {

absl::Status ReadError(const std::string& path, int err) {
  return absl::ErrnoToStatus(err,
                             absl::StrCat("read file list \"", path, "\""));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ReadPathList(const std::string& source,
                                                      bool nul_separated) {
  FILE* file = source == "-" ? stdin : OpenFile(source, "rb");
  if (file == nullptr) return ReadError(source, errno);
  std::string text;
  char buffer[65536];
  while (size_t n = fread(buffer, 1, sizeof(buffer), file))
    text.append(buffer, n);
  const bool failed = ferror(file) != 0;
  if (file != stdin) fclose(file);
  if (failed) return ReadError(source, EIO);
  std::vector<std::string> paths = absl::StrSplit(
      text, nul_separated ? absl::ByChar('\0') : absl::ByChar('\n'),
      absl::SkipEmpty());
  return paths;
}

}  // namespace mmapio::cli
