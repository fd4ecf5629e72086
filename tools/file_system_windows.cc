#include <io.h>
#include <windows.h>
// After windows.h, which they need.
#include <winioctl.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tools/file_system.h"
#include "tools/utf16_windows.h"

namespace mmapio::cli {
namespace {

// The system's words for `error`, without its closing period.
std::string ErrorText(DWORD error) {
  wchar_t* text = nullptr;
  const DWORD n = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
          FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, error, 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string message = n == 0 ? absl::StrCat("error ", error) : Utf8(text);
  LocalFree(text);
  absl::string_view trimmed = absl::StripTrailingAsciiWhitespace(message);
  absl::ConsumeSuffix(&trimmed, ".");
  return std::string(trimmed);
}

absl::StatusCode CodeOf(DWORD error) {
  switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
      return absl::StatusCode::kNotFound;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
      return absl::StatusCode::kPermissionDenied;
    default:
      return absl::StatusCode::kUnknown;
  }
}

absl::Status PathError(absl::string_view operation, const std::string& path,
                       DWORD error) {
  return absl::Status(CodeOf(error), absl::StrCat(operation, " \"", path,
                                                  "\": ", ErrorText(error)));
}

// The file system cannot list the allocated ranges of this file.
bool CannotTellExtents(DWORD error) {
  return error == ERROR_INVALID_FUNCTION || error == ERROR_NOT_SUPPORTED ||
         error == ERROR_INVALID_PARAMETER;
}

}  // namespace

const char kPathSeparators[] = "/\\";

const char kHiddenPageCache[] =
    "Windows shows which pages of files are in this process's working set, "
    "never which are in its file cache";

absl::StatusOr<FileStatus> StatPath(const std::string& path,
                                    bool follow_links) {
  // Backup semantics let a directory be opened; no access right is needed
  // to read attributes.
  const HANDLE handle =
      CreateFileW(Widen(path).c_str(), FILE_READ_ATTRIBUTES,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                  nullptr, OPEN_EXISTING,
                  FILE_FLAG_BACKUP_SEMANTICS |
                      (follow_links ? 0 : FILE_FLAG_OPEN_REPARSE_POINT),
                  nullptr);
  if (handle == INVALID_HANDLE_VALUE) {
    return PathError("stat", path, GetLastError());
  }
  BY_HANDLE_FILE_INFORMATION info;
  const bool got = GetFileInformationByHandle(handle, &info);
  const DWORD error = GetLastError();
  CloseHandle(handle);
  if (!got) return PathError("stat", path, error);
  FileStatus status;
  if (!follow_links &&
      (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
    status.kind = FileKind::kSymbolicLink;
  } else if ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    status.kind = FileKind::kDirectory;
  } else {
    status.kind = FileKind::kRegular;
  }
  status.size = (uint64_t{info.nFileSizeHigh} << 32) | info.nFileSizeLow;
  status.id = {info.dwVolumeSerialNumber,
               (uint64_t{info.nFileIndexHigh} << 32) | info.nFileIndexLow};
  return status;
}

absl::StatusOr<std::vector<std::string>> ListDirectory(
    const std::string& path) {
  WIN32_FIND_DATAW entry;
  const HANDLE find =
      FindFirstFileW(Widen(JoinPath(path, "*")).c_str(), &entry);
  if (find == INVALID_HANDLE_VALUE) {
    return PathError("open directory", path, GetLastError());
  }
  std::vector<std::string> names;
  do {
    const std::wstring_view name = entry.cFileName;
    if (name != L"." && name != L"..") names.push_back(Utf8(entry.cFileName));
  } while (FindNextFileW(find, &entry));
  const DWORD error = GetLastError();
  FindClose(find);
  if (error != ERROR_NO_MORE_FILES) {
    return PathError("read directory", path, error);
  }
  return names;
}

std::string JoinPath(const std::string& directory, const std::string& name) {
  if (directory.ends_with('/') || directory.ends_with('\\')) {
    return directory + name;
  }
  // The separator the path already uses, so that output does not mix them.
  const size_t last = directory.find_last_of("/\\");
  const char separator = last == std::string::npos ? '\\' : directory[last];
  return absl::StrCat(directory, std::string(1, separator), name);
}

absl::Status ForEachDataExtent(const Region& region, ByteRange range,
                               const std::function<void(ByteRange)>& visit) {
  const HANDLE handle = reinterpret_cast<HANDLE>(_get_osfhandle(region.fd()));
  const uint64_t base = region.offset();
  const uint64_t end = base + range.offset + range.length;
  uint64_t at = base + range.offset;
  while (at < end) {
    FILE_ALLOCATED_RANGE_BUFFER query;
    query.FileOffset.QuadPart = static_cast<LONGLONG>(at);
    query.Length.QuadPart = static_cast<LONGLONG>(end - at);
    FILE_ALLOCATED_RANGE_BUFFER extents[64];
    DWORD bytes = 0;
    const bool all = DeviceIoControl(handle, FSCTL_QUERY_ALLOCATED_RANGES,
                                     &query, sizeof(query), extents,
                                     sizeof(extents), &bytes, nullptr);
    const DWORD error = all ? ERROR_SUCCESS : GetLastError();
    if (!all && error != ERROR_MORE_DATA) {
      if (!CannotTellExtents(error)) {
        return absl::Status(
            CodeOf(error),
            absl::StrCat("\"", region.path(), "\": finding data after offset ",
                         at, ": ", ErrorText(error)));
      }
      visit({at - base, end - at});
      return absl::OkStatus();
    }
    const size_t count = bytes / sizeof(extents[0]);
    for (size_t i = 0; i < count; ++i) {
      const uint64_t start =
          std::max(at, static_cast<uint64_t>(extents[i].FileOffset.QuadPart));
      const uint64_t stop =
          std::min(end, static_cast<uint64_t>(extents[i].FileOffset.QuadPart +
                                              extents[i].Length.QuadPart));
      if (start < stop) visit({start - base, stop - start});
      at = std::max(at, stop);
    }
    if (all || count == 0) break;
  }
  return absl::OkStatus();
}

std::optional<AvailableMemory> MemoryAvailable() {
  MEMORYSTATUSEX status;
  status.dwLength = sizeof(status);
  if (!GlobalMemoryStatusEx(&status)) return std::nullopt;
  return AvailableMemory{.bytes = status.ullAvailPhys,
                         .name = "available physical memory"};
}

FILE* OpenFile(const std::string& path, const char* mode) {
  return _wfopen(Widen(path).c_str(), Widen(mode).c_str());
}

absl::Status RemoveFile(const std::string& path) {
  if (!DeleteFileW(Widen(path).c_str())) {
    return PathError("remove", path, GetLastError());
  }
  return absl::OkStatus();
}

}  // namespace mmapio::cli
