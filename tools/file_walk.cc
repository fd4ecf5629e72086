#include "tools/file_walk.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/glob.h"

namespace mmapio::cli {
namespace {

absl::Status PathError(const std::string& operation, const std::string& path,
                       int err) {
  return absl::Status(
      absl::StatusCode::kUnavailable,
      absl::StrCat(operation, " \"", path, "\": ", strerror(err)));
}

bool Matches(const std::vector<std::string>& globs, const std::string& path) {
  const size_t slash = path.rfind('/');
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
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      // Let the command report it with its own words (NotFound, ...).
      on_file_(path);
      return;
    }
    Visit(path, st);
  }

 private:
  void Visit(const std::string& path, const struct stat& st) {
    if (S_ISDIR(st.st_mode) && options_.recurse) {
      if (Matches(options_.exclude, path)) return;
      // A directory reached twice (through a followed link) is a cycle.
      if (!directories_.insert({st.st_dev, st.st_ino}).second) return;
      Directory(path);
      return;
    }
    if (!options_.include.empty() && !Matches(options_.include, path)) return;
    if (Matches(options_.exclude, path)) return;
    if (S_ISREG(st.st_mode)) {
      if (options_.max_size.has_value() &&
          static_cast<uint64_t>(st.st_size) > *options_.max_size) {
        return;
      }
      if (!files_.insert({st.st_dev, st.st_ino}).second) return;
    }
    on_file_(path);
  }

  void Directory(const std::string& path) {
    DIR* dir = opendir(path.c_str());
    if (dir == nullptr)
      return on_error_(PathError("open directory", path, errno));
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = readdir(dir)) {
      if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
        names.emplace_back(entry->d_name);
      }
    }
    const int err = errno;
    closedir(dir);
    if (err != 0) on_error_(PathError("read directory", path, err));
    std::sort(names.begin(), names.end());
    const std::string prefix = path.back() == '/' ? path : path + "/";
    for (const std::string& name : names) {
      const std::string child = prefix + name;
      struct stat st;
      if (lstat(child.c_str(), &st) != 0) {
        on_error_(PathError("stat", child, errno));
        continue;
      }
      if (S_ISLNK(st.st_mode)) {
        if (!options_.follow_symlinks) continue;
        if (stat(child.c_str(), &st) != 0) {
          on_error_(PathError("follow link", child, errno));
          continue;
        }
      }
      Visit(child, st);
    }
  }

  const WalkOptions& options_;
  const std::function<void(const std::string&)>& on_file_;
  const std::function<void(const absl::Status&)>& on_error_;
  std::set<std::pair<dev_t, ino_t>> files_;
  std::set<std::pair<dev_t, ino_t>> directories_;
};

}  // namespace

void WalkPaths(const std::vector<std::string>& paths,
               const WalkOptions& options,
               const std::function<void(const std::string&)>& on_file,
               const std::function<void(const absl::Status&)>& on_error) {
  Walker walker(options, on_file, on_error);
  for (const std::string& path : paths) walker.Argument(path);
}

absl::StatusOr<std::vector<std::string>> ReadPathList(const std::string& source,
                                                      bool nul_separated) {
  FILE* file = source == "-" ? stdin : fopen(source.c_str(), "re");
  if (file == nullptr) return PathError("read file list", source, errno);
  std::string text;
  char buffer[65536];
  while (size_t n = fread(buffer, 1, sizeof(buffer), file))
    text.append(buffer, n);
  const bool failed = ferror(file) != 0;
  if (file != stdin) fclose(file);
  if (failed) return PathError("read file list", source, EIO);
  std::vector<std::string> paths = absl::StrSplit(
      text, nul_separated ? absl::ByChar('\0') : absl::ByChar('\n'),
      absl::SkipEmpty());
  return paths;
}

}  // namespace mmapio::cli
