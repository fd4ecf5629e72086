// Fuzzes the CLI's file walker (tools/file_walk.h) over trees built from the
// input in a fresh temporary directory: directories, regular files, hard
// links and symbolic links (to entries of the tree, dangling, to the
// directory above, and to a directory outside the tree), with names of
// arbitrary bytes. Whatever the tree and the options:
//   - each regular file is passed on at most once (hard links once);
//   - nothing outside the tree is reached unless links are followed, and
//     then only what the links lead to;
//   - without following links, exactly the regular files of the tree are
//     passed on (when no glob or size filter applies);
//   - every path passed on names something under the root it came from;
//   - only a followed link (dangling) is an error.

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tools/file_walk.h"

namespace mmapio::cli {
namespace {

namespace fs = std::filesystem;

// A name of 1 to 4 bytes from the input, never "/", NUL, "." or "..".
std::string Name(fuzz::FuzzInput& input) {
  const int length = 1 + input.Byte() % 4;
  std::string name;
  for (int i = 0; i < length; ++i) {
    char c = static_cast<char>(input.Byte());
    if (c == '/' || c == '\0') c = '_';
    name += c;
  }
  if (name == "." || name == "..") name += '_';
  return name;
}

using FileId = std::pair<dev_t, ino_t>;

std::set<FileId> RegularFilesUnder(const std::string& root) {
  std::set<FileId> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    struct stat st;
    if (lstat(entry.path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      files.insert({st.st_dev, st.st_ino});
    }
  }
  return files;
}

// A tree under `base`/root, and a directory `base`/outside with one file
// that only a followed link reaches.
struct Tree {
  std::string base;
  std::string root;
};

bool MakeFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "wx");
  return file != nullptr && std::fclose(file) == 0;
}

bool MakeLink(const std::string& target, const std::string& path) {
  return symlink(target.c_str(), path.c_str()) == 0;
}

Tree Build(fuzz::FuzzInput& input) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string base = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/walkXXXXXX");
  FUZZ_CHECK(mkdtemp(base.data()) != nullptr, "mkdtemp");
  Tree tree{base, base + "/root"};
  FUZZ_CHECK(mkdir(tree.root.c_str(), 0755) == 0 &&
                 mkdir((base + "/outside").c_str(), 0755) == 0 &&
                 MakeFile(base + "/outside/file"),
             "cannot make the tree's frame in ", base);
  // Directories with their depth below the root.
  std::vector<std::pair<std::string, int>> directories = {{tree.root, 0}};
  std::vector<std::string> entries;
  std::vector<std::string> files;
  for (int made = 0; made < 48 && !input.empty(); ++made) {
    const uint8_t op = input.Byte();
    const auto [parent, depth] = directories[input.Byte() % directories.size()];
    const std::string path = absl::StrCat(parent, "/", Name(input));
    bool ok = false;
    switch (op % 8) {
      case 0:
      case 1:
        ok = mkdir(path.c_str(), 0755) == 0;
        if (ok) directories.emplace_back(path, depth + 1);
        break;
      case 2:
      case 3:
        ok = MakeFile(path);
        if (ok) files.push_back(path);
        break;
      case 4:
        ok = !files.empty() && link(files[input.Byte() % files.size()].c_str(),
                                    path.c_str()) == 0;
        if (ok) files.push_back(path);
        break;
      case 5:
        // To an entry of the tree by its absolute path, or dangling.
        ok = MakeLink(entries.empty() ? "missing"
                                      : entries[input.Byte() % entries.size()],
                      path);
        break;
      case 6: {
        // Upwards, as far as the directory holding the root.
        std::string target = "..";
        for (int up = input.Byte() % (depth + 1); up > 0; --up) target += "/..";
        ok = MakeLink(target, path);
        break;
      }
      case 7:
        ok = MakeLink(base + "/outside", path);
        break;
    }
    if (ok) entries.push_back(path);
  }
  return tree;
}

void Walk(fuzz::FuzzInput& input) {
  const Tree tree = Build(input);
  WalkOptions options;
  const uint8_t flags = input.Byte();
  options.recurse = (flags & 1) == 0;
  options.follow_symlinks = (flags & 2) != 0;
  const bool filtered = (flags & 4) != 0;
  if (filtered) {
    options.include.push_back(Name(input));
    options.exclude.push_back(Name(input));
  }
  std::set<FileId> seen;
  std::vector<std::string> passed;
  WalkPaths(
      {tree.root}, options,
      [&](const std::string& path) {
        passed.push_back(path);
        FUZZ_CHECK(absl::StartsWith(path, tree.root + "/"),
                   "outside the root: ", absl::CHexEscape(path));
        struct stat st;
        FUZZ_CHECK(stat(path.c_str(), &st) == 0, "cannot stat ",
                   absl::CHexEscape(path));
        if (!S_ISREG(st.st_mode)) return;
        FUZZ_CHECK(seen.insert({st.st_dev, st.st_ino}).second,
                   "passed twice: ", absl::CHexEscape(path));
        // Followed links may lead anywhere in `base`, but not beyond it.
        std::error_code error;
        const std::string real = fs::canonical(path, error).string();
        FUZZ_CHECK(absl::StartsWith(real, tree.base + "/"), "escaped to ",
                   absl::CHexEscape(real));
        if (!options.follow_symlinks) {
          FUZZ_CHECK(absl::StartsWith(real, tree.root + "/"),
                     "left the root through a link: ", absl::CHexEscape(path));
        }
      },
      [&](const absl::Status& status) {
        // Only a followed link may fail: dangling, or a loop.
        FUZZ_CHECK(options.follow_symlinks, status.ToString());
      });
  if (options.recurse && !options.follow_symlinks && !filtered) {
    FUZZ_CHECK(seen == RegularFilesUnder(tree.root), "passed ", seen.size(),
               " files of ", RegularFilesUnder(tree.root).size());
  }
  if (!options.recurse && !filtered) {
    // The root itself, as given, for the command to refuse.
    FUZZ_CHECK(passed.size() == 1 && passed[0] == tree.root,
               "without recursion, passed ", passed.size());
  }
  std::error_code error;
  fs::remove_all(tree.base, error);
  FUZZ_CHECK(!error, "cannot remove ", tree.base, ": ", error.message());
}

}  // namespace
}  // namespace mmapio::cli

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mmapio::fuzz::FuzzInput input(data, size);
  mmapio::cli::Walk(input);
  return 0;
}
