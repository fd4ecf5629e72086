// What the CLI asks of the file system and of memory, beyond what a Region
// tells: the kind and identity of paths, directory listings, the data
// extents of sparse files, and how much memory file pages may fill. One
// implementation per OS (file_system_linux.cc, file_system_windows.cc).
//
// Paths are UTF-8 on every OS. Every error names the operation and the path,
// in the system's own words.

#ifndef MMAPIO_TOOLS_FILE_SYSTEM_H_
#define MMAPIO_TOOLS_FILE_SYSTEM_H_

#include <compare>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mmapio/byte_range.h"
#include "mmapio/region.h"

namespace mmapio::cli {

enum class FileKind { kRegular, kDirectory, kSymbolicLink, kOther };

// Equal for two paths to the same file (hard links, a directory reached
// twice).
struct FileId {
  uint64_t device = 0;
  uint64_t index = 0;
  friend auto operator<=>(const FileId&, const FileId&) = default;
};

struct FileStatus {
  FileKind kind = FileKind::kOther;
  uint64_t size = 0;
  FileId id;
};

// What `path` is; a symbolic link itself unless `follow_links`.
absl::StatusOr<FileStatus> StatPath(const std::string& path, bool follow_links);

// The names in directory `path`, without "." and "..", in no order.
absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& path);

// The characters that separate a path's parts: "/", and on Windows "\\".
extern const char kPathSeparators[];

// Joins a directory and a name with the OS's separator, once.
std::string JoinPath(const std::string& directory, const std::string& name);

// Calls `visit` for each part of `range` of `region` that holds data, in
// order, skipping the holes of a sparse file: a hole reads as zeros and costs
// no I/O, so loading it only fills memory. Where the file system cannot tell,
// the whole range is data.
absl::Status ForEachDataExtent(const Region& region, ByteRange range,
                               const std::function<void(ByteRange)>& visit);

// How much memory file pages could fill without evicting others, and the
// system's name for it.
struct AvailableMemory {
  uint64_t bytes = 0;
  absl::string_view name;  // "MemAvailable", ...
};
std::optional<AvailableMemory> MemoryAvailable();

// Which files' cached pages the system hides (Region::PageCacheVisible()
// false), for messages: "the kernel hides which pages are cached of files you
// cannot write" on Linux.
extern const char kHiddenPageCache[];

// fopen(3) with a UTF-8 path; nullptr with errno set when it fails.
FILE* OpenFile(const std::string& path, const char* mode);

// Deletes the file at `path`.
absl::Status RemoveFile(const std::string& path);

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_FILE_SYSTEM_H_
