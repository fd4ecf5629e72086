#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tools/file_system.h"

namespace mmapio::cli {
namespace {

absl::Status PathError(absl::string_view operation, const std::string& path,
                       int err) {
  return absl::ErrnoToStatus(err, absl::StrCat(operation, " \"", path, "\""));
}

FileKind KindOf(mode_t mode) {
  if (S_ISREG(mode)) return FileKind::kRegular;
  if (S_ISDIR(mode)) return FileKind::kDirectory;
  if (S_ISLNK(mode)) return FileKind::kSymbolicLink;
  return FileKind::kOther;
}

}  // namespace

const char kPathSeparators[] = "/";

const char kHiddenPageCache[] =
    "the kernel hides which pages are cached of files you cannot write";

absl::StatusOr<FileStatus> StatPath(const std::string& path,
                                    bool follow_links) {
  struct stat st;
  if ((follow_links ? stat(path.c_str(), &st) : lstat(path.c_str(), &st)) !=
      0) {
    return PathError("stat", path, errno);
  }
  return FileStatus{.kind = KindOf(st.st_mode),
                    .size = static_cast<uint64_t>(st.st_size),
                    .id = {static_cast<uint64_t>(st.st_dev),
                           static_cast<uint64_t>(st.st_ino)}};
}

absl::StatusOr<std::vector<std::string>> ListDirectory(
    const std::string& path) {
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return PathError("open directory", path, errno);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = readdir(dir)) {
    if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
      names.emplace_back(entry->d_name);
    }
  }
  const int err = errno;
  closedir(dir);
  if (err != 0) return PathError("read directory", path, err);
  return names;
}

std::string JoinPath(const std::string& directory, const std::string& name) {
  return directory.ends_with('/') ? directory + name
                                  : absl::StrCat(directory, "/", name);
}

absl::Status ForEachDataExtent(const Region& region, ByteRange range,
                               const std::function<void(ByteRange)>& visit) {
  const uint64_t base = region.offset();
  const uint64_t end = base + range.offset + range.length;
  for (uint64_t at = base + range.offset; at < end;) {
    const off_t data = lseek(region.fd(), static_cast<off_t>(at), SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // Only a hole is left.
    const off_t hole = data < 0 ? -1 : lseek(region.fd(), data, SEEK_HOLE);
    if (hole < 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("\"", region.path(),
                              "\": finding data after offset ", at));
    }
    const uint64_t stop = std::min(static_cast<uint64_t>(hole), end);
    if (static_cast<uint64_t>(data) >= stop) break;
    visit({static_cast<uint64_t>(data) - base,
           stop - static_cast<uint64_t>(data)});
    at = stop;
  }
  return absl::OkStatus();
}

std::optional<AvailableMemory> MemoryAvailable() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    absl::string_view rest = line;
    uint64_t kib = 0;
    if (absl::ConsumePrefix(&rest, "MemAvailable:") &&
        absl::ConsumeSuffix(&rest, "kB") &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kib)) {
      return AvailableMemory{.bytes = kib * 1024, .name = "MemAvailable"};
    }
  }
  return std::nullopt;
}

FILE* OpenFile(const std::string& path, const char* mode) {
  return fopen(path.c_str(), mode);
}

absl::Status RemoveFile(const std::string& path) {
  if (unlink(path.c_str()) != 0) return PathError("remove", path, errno);
  return absl::OkStatus();
}

}  // namespace mmapio::cli
