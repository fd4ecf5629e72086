// platform.h on Windows: files through CreateFileW, wrapped in C runtime
// descriptors so that a Region keeps one int on every OS; views through
// CreateFileMappingW and MapViewOfFile; residency through QueryWorkingSetEx.
//
// What Windows cannot do returns Unimplemented with a message that says
// so, never a silent success: access-pattern advice, dropping pages from
// this process or from the system cache, cachestat, MADV_POPULATE_READ.

#include <fcntl.h>
#include <io.h>
#include <windows.h>
// psapi.h needs windows.h first.
#include <psapi.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/platform.h"

namespace mmapio::internal {
namespace {

HANDLE HandleOf(int fd) { return reinterpret_cast<HANDLE>(_get_osfhandle(fd)); }

// `path` (UTF-8) as Windows takes it; empty when it is not UTF-8.
std::wstring Wide(const std::string& path) {
  if (path.empty()) return {};
  const int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path.data(),
                                    static_cast<int>(path.size()), nullptr, 0);
  if (n <= 0) return {};
  std::wstring wide(static_cast<size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path.data(),
                      static_cast<int>(path.size()), wide.data(), n);
  return wide;
}

std::string Utf8(const std::wstring& wide) {
  if (wide.empty()) return {};
  const int n = WideCharToMultiByte(CP_UTF8, 0, wide.data(),
                                    static_cast<int>(wide.size()), nullptr, 0,
                                    nullptr, nullptr);
  if (n <= 0) return {};
  std::string utf8(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()),
                      utf8.data(), n, nullptr, nullptr);
  return utf8;
}

// ERROR_DISK_QUOTA_EXCEEDED, which mingw-w64's headers lack.
constexpr DWORD kErrorDiskQuotaExceeded = 1295;

// The error model's code for a Win32 error.
absl::StatusCode WindowsErrorCode(DWORD err) {
  switch (err) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
      return absl::StatusCode::kNotFound;
    case ERROR_ACCESS_DENIED:
    case ERROR_WRITE_PROTECT:
    case ERROR_PRIVILEGE_NOT_HELD:
      return absl::StatusCode::kPermissionDenied;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_WORKING_SET_QUOTA:
    case ERROR_NO_SYSTEM_RESOURCES:
    case ERROR_TOO_MANY_OPEN_FILES:
    case kErrorDiskQuotaExceeded:
    case ERROR_NOT_ENOUGH_QUOTA:
      return absl::StatusCode::kResourceExhausted;
    case ERROR_HANDLE_EOF:
    case ERROR_FILE_TOO_LARGE:
      return absl::StatusCode::kOutOfRange;
    case ERROR_CRC:
    case ERROR_READ_FAULT:
    case ERROR_WRITE_FAULT:
    case ERROR_IO_DEVICE:
    case ERROR_SECTOR_NOT_FOUND:
    case ERROR_UNEXP_NET_ERR:
    case ERROR_NETNAME_DELETED:
      return absl::StatusCode::kDataLoss;
    case ERROR_NOT_READY:
    case ERROR_DEV_NOT_EXIST:
      return absl::StatusCode::kUnavailable;
    case ERROR_USER_MAPPED_FILE:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_FILE_INVALID:
      return absl::StatusCode::kFailedPrecondition;
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED:
    case ERROR_INVALID_FUNCTION:
      return absl::StatusCode::kUnimplemented;
    default:
      return absl::StatusCode::kInvalidArgument;
  }
}

// An error for the Win32 error `err` of `call`, with the system's text.
absl::Status WindowsError(DWORD err, const OpContext& context,
                          absl::string_view call) {
  char text[512] = {};
  const DWORD n =
      FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                     nullptr, err, 0, text, sizeof(text), nullptr);
  std::string message(text, n);
  while (!message.empty() &&
         (message.back() == '\n' || message.back() == '\r' ||
          message.back() == '.' || message.back() == ' ')) {
    message.pop_back();
  }
  if (message.empty()) message = "unknown error";
  return MakeError(
      WindowsErrorCode(err), context,
      absl::StrCat(call, ": ", message, " (Windows error ", err, ")"));
}

absl::Status LastError(const OpContext& context, absl::string_view call) {
  return WindowsError(GetLastError(), context, call);
}

absl::Status Unsupported(const OpContext& context, absl::string_view what) {
  return MakeError(absl::StatusCode::kUnimplemented, context,
                   absl::StrCat("Windows cannot ", what));
}

const SYSTEM_INFO& SystemInfo() {
  static const SYSTEM_INFO info = [] {
    SYSTEM_INFO i;
    GetSystemInfo(&i);
    return i;
  }();
  return info;
}

absl::StatusOr<uint64_t> SizeOfHandle(HANDLE file, const OpContext& context) {
  LARGE_INTEGER size;
  if (!GetFileSizeEx(file, &size)) return LastError(context, "GetFileSizeEx");
  return static_cast<uint64_t>(size.QuadPart);
}

// Calls `visit(index, attributes)` for each page of the `count` pages from
// `address`, with what QueryWorkingSetEx says of it, asking in batches;
// stops early when `visit` fails.
template <typename Visit>
absl::Status ForEachWorkingSetPage(const std::byte* address, size_t count,
                                   const OpContext& context, Visit visit) {
  const size_t page = PageSize();
  constexpr size_t kBatch = 4096;
  std::vector<PSAPI_WORKING_SET_EX_INFORMATION> info(std::min(count, kBatch));
  for (size_t done = 0; done < count;) {
    const size_t n = std::min(count - done, kBatch);
    for (size_t i = 0; i < n; ++i) {
      info[i].VirtualAddress =
          const_cast<std::byte*>(address) + (done + i) * page;
    }
    if (!QueryWorkingSetEx(GetCurrentProcess(), info.data(),
                           static_cast<DWORD>(n * sizeof(info[0])))) {
      return LastError(context, "QueryWorkingSetEx");
    }
    for (size_t i = 0; i < n; ++i) {
      if (absl::Status status = visit(done + i, info[i].VirtualAttributes);
          !status.ok()) {
        return status;
      }
    }
    done += n;
  }
  return absl::OkStatus();
}

// The path Windows knows for `file`, without the long-path prefix, or
// nullopt.
std::optional<std::wstring> FinalPath(HANDLE file) {
  std::wstring path(32768, L'\0');
  const DWORD n = GetFinalPathNameByHandleW(
      file, path.data(), static_cast<DWORD>(path.size()), FILE_NAME_NORMALIZED);
  if (n == 0 || n >= path.size()) return std::nullopt;
  path.resize(n);
  // The long-path prefix Windows adds says nothing to a reader.
  if (path.rfind(L"\\\\?\\", 0) == 0) path.erase(0, 4);
  return path;
}

// Takes ownership of `file`: a regular file becomes a MappableFile; the
// handle is closed otherwise.
absl::StatusOr<MappableFile> Adopt(HANDLE file, AccessMode mode,
                                   const OpContext& context) {
  if (GetFileType(file) != FILE_TYPE_DISK) {
    CloseHandle(file);
    return MakeError(absl::StatusCode::kInvalidArgument, context,
                     "not a regular file (a device, pipe or console)");
  }
  absl::StatusOr<uint64_t> size = SizeOfHandle(file, context);
  if (!size.ok()) {
    CloseHandle(file);
    return size.status();
  }
  const int fd = _open_osfhandle(
      reinterpret_cast<intptr_t>(file),
      (mode == AccessMode::kReadWrite ? _O_RDWR : _O_RDONLY) | _O_BINARY);
  if (fd < 0) {
    CloseHandle(file);
    return ErrnoError(errno, context, "_open_osfhandle");
  }
  return MappableFile{UniqueFd(fd), *size};
}

}  // namespace

void CloseFd(int fd) { (void)_close(fd); }

size_t PageSize() { return SystemInfo().dwPageSize; }

size_t MapGranularity() { return SystemInfo().dwAllocationGranularity; }

absl::StatusOr<MappableFile> OpenMappable(const std::string& path,
                                          AccessMode mode,
                                          const OpContext& context) {
  const std::wstring wide = Wide(path);
  if (wide.empty()) {
    return MakeError(absl::StatusCode::kInvalidArgument, context,
                     "the path is empty or not UTF-8");
  }
  const DWORD attributes = GetFileAttributesW(wide.c_str());
  if (attributes == INVALID_FILE_ATTRIBUTES) {
    return LastError(context, "GetFileAttributesW");
  }
  if ((attributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    return MakeError(absl::StatusCode::kInvalidArgument, context,
                     "a directory, not a regular file");
  }
  const DWORD access = mode == AccessMode::kReadWrite
                           ? GENERIC_READ | GENERIC_WRITE
                           : GENERIC_READ;
  // Others may read, write, rename and delete the file meanwhile, as on
  // Linux.
  HANDLE file =
      CreateFileW(wide.c_str(), access,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                  nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) return LastError(context, "CreateFileW");
  return Adopt(file, mode, context);
}

absl::StatusOr<MappableFile> AdoptMappable(int fd, AccessMode mode,
                                           const OpContext& context) {
  HANDLE file = fd < 0 ? INVALID_HANDLE_VALUE : HandleOf(fd);
  if (file == INVALID_HANDLE_VALUE) {
    return MakeError(absl::StatusCode::kInvalidArgument, context,
                     absl::StrCat("descriptor ", fd, " is not open"));
  }
  // The handle's access is checked when the view is made: a read-write
  // view of a read-only handle fails there with PermissionDenied.
  HANDLE copy;
  if (!DuplicateHandle(GetCurrentProcess(), file, GetCurrentProcess(), &copy, 0,
                       FALSE, DUPLICATE_SAME_ACCESS)) {
    return LastError(context, "DuplicateHandle");
  }
  return Adopt(copy, mode, context);
}

std::string PathOfFd(int fd) {
  const std::optional<std::wstring> path =
      fd < 0 ? std::nullopt : FinalPath(HandleOf(fd));
  return path.has_value() ? Utf8(*path) : absl::StrCat("fd ", fd);
}

absl::StatusOr<uint64_t> FileSize(int fd, const OpContext& context) {
  return SizeOfHandle(HandleOf(fd), context);
}

absl::StatusOr<std::byte*> MapFile(int fd, uint64_t offset, size_t length,
                                   AccessMode mode, const OpContext& context) {
  HANDLE file = HandleOf(fd);
  absl::StatusOr<uint64_t> size = SizeOfHandle(file, context);
  if (!size.ok()) return size.status();
  if (offset >= *size) {
    return MakeError(
        absl::StatusCode::kOutOfRange, context,
        absl::StrCat("the file has ", *size,
                     " bytes: nothing to map from offset ", offset));
  }
  // A view may not reach past the end of the file; the last page is mapped
  // whole all the same. A file shorter than that has shrunk since the
  // caller sized the region: a shorter view would leave the region's end
  // unmapped.
  const size_t page = PageSize();
  if (*size - offset + page - 1 < length) {
    return MakeError(absl::StatusCode::kOutOfRange, context,
                     absl::StrCat("the file has shrunk to ", *size,
                                  " bytes while being mapped"));
  }
  const size_t view =
      static_cast<size_t>(std::min<uint64_t>(length, *size - offset));
  DWORD protect = PAGE_READONLY;
  DWORD access = FILE_MAP_READ;
  if (mode == AccessMode::kReadWrite) {
    protect = PAGE_READWRITE;
    access = FILE_MAP_WRITE;
  } else if (mode == AccessMode::kCopyOnWrite) {
    protect = PAGE_WRITECOPY;
    access = FILE_MAP_COPY;
  }
  HANDLE mapping = CreateFileMappingW(file, nullptr, protect, 0, 0, nullptr);
  if (mapping == nullptr) return LastError(context, "CreateFileMappingW");
  void* base = MapViewOfFile(mapping, access, static_cast<DWORD>(offset >> 32),
                             static_cast<DWORD>(offset), view);
  const DWORD err = GetLastError();
  // The view keeps the mapping object alive.
  CloseHandle(mapping);
  if (base == nullptr) return WindowsError(err, context, "MapViewOfFile");
  return static_cast<std::byte*>(base);
}

absl::StatusOr<std::byte*> Remap(int fd, uint64_t offset, std::byte* base,
                                 size_t, size_t new_length, AccessMode mode,
                                 const OpContext& context) {
  if (mode == AccessMode::kCopyOnWrite) {
    // A new view would not have this one's private pages.
    return Unsupported(context,
                       "resize a copy-on-write view without losing its "
                       "private changes; open a new region instead");
  }
  absl::StatusOr<std::byte*> moved =
      MapFile(fd, offset, new_length, mode, context);
  if (moved.ok()) UnmapViewOfFile(base);
  return moved;
}

void Unmap(std::byte* base, size_t) {
  if (base != nullptr) UnmapViewOfFile(base);
}

absl::Status AdviseMemory(std::byte* address, size_t length, Advice advice,
                          const OpContext& context) {
  switch (advice) {
    case Advice::kNormal:
      // Windows takes no other advice, so there is none to undo.
      return absl::OkStatus();
    case Advice::kWillNeed: {
      WIN32_MEMORY_RANGE_ENTRY range{address, length};
      if (!PrefetchVirtualMemory(GetCurrentProcess(), 1, &range, 0)) {
        return LastError(context, "PrefetchVirtualMemory");
      }
      return absl::OkStatus();
    }
    case Advice::kSequential:
      return Unsupported(context, "advise sequential access to a mapped view");
    case Advice::kRandom:
      return Unsupported(context, "advise random access to a mapped view");
    case Advice::kDontNeed:
      return Unsupported(context,
                         "drop the pages of a mapped view (no "
                         "MADV_DONTNEED)");
    case Advice::kHugePage:
      return Unsupported(context, "back a file view with large pages");
  }
  return Unsupported(context, "take this advice");
}

void WillNeed(const MemoryRange* ranges, size_t count) {
  std::vector<WIN32_MEMORY_RANGE_ENTRY> entries(count);
  for (size_t i = 0; i < count; ++i) {
    entries[i] = {ranges[i].address, ranges[i].length};
  }
  (void)PrefetchVirtualMemory(GetCurrentProcess(), entries.size(),
                              entries.data(), 0);
}

const char* PageFaultName() { return "an in-page error"; }

int PopulateRead(std::byte*, size_t) { return ENOSYS; }

bool HasPopulateRead() { return false; }

bool PopulateFailedOnPage(int) { return false; }

int FaultCodeOfPopulateError(int) { return 0; }

bool IsPoisonFault(int) { return false; }

absl::Status PopulateError(int, const OpContext& context) {
  return Unsupported(context,
                     "fault a range in with one call (no "
                     "MADV_POPULATE_READ)");
}

uint64_t ReadaheadBytes(int) { return 0; }

absl::Status LockMemory(std::byte* address, size_t length, LockMode,
                        const OpContext& context) {
  // VirtualLock always reads the pages in: kOnFault locks them now too.
  if (VirtualLock(address, length)) return absl::OkStatus();
  if (GetLastError() != ERROR_WORKING_SET_QUOTA) {
    return LastError(context, "VirtualLock");
  }
  // Locked pages count against the working-set minimum: raise it by the
  // range (and the maximum with it), then try once more.
  SIZE_T minimum = 0;
  SIZE_T maximum = 0;
  if (!GetProcessWorkingSetSize(GetCurrentProcess(), &minimum, &maximum)) {
    return LastError(context, "GetProcessWorkingSetSize");
  }
  if (!SetProcessWorkingSetSize(GetCurrentProcess(), minimum + length,
                                std::max(maximum, minimum + length) + length)) {
    return MakeError(
        absl::StatusCode::kResourceExhausted, context,
        absl::StrCat("VirtualLock: over the working-set limit, and it cannot "
                     "be raised by ",
                     length, " bytes (SetProcessWorkingSetSize: Windows error ",
                     GetLastError(), ")"));
  }
  if (!VirtualLock(address, length)) return LastError(context, "VirtualLock");
  return absl::OkStatus();
}

absl::Status UnlockMemory(std::byte* address, size_t length,
                          const OpContext& context) {
  // As munlock, unlocking pages that are not locked is no error. But
  // VirtualUnlock over a range with any page not locked unlocks nothing
  // for certain, and drops those pages from the working set: it is given
  // only runs of locked pages, which the working set says are locked.
  const size_t page = PageSize();
  size_t run_start = 0;
  size_t run_length = 0;
  const auto unlock_run = [&]() -> absl::Status {
    if (run_length != 0 &&
        !VirtualUnlock(address + run_start * page, run_length * page)) {
      return LastError(context, "VirtualUnlock");
    }
    run_length = 0;
    return absl::OkStatus();
  };
  absl::Status status = ForEachWorkingSetPage(
      address, (length + page - 1) / page, context,
      [&](size_t index, const PSAPI_WORKING_SET_EX_BLOCK& attributes) {
        if (!attributes.Valid || !attributes.Locked) return unlock_run();
        if (run_length == 0) run_start = index;
        ++run_length;
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return unlock_run();
}

absl::Status SyncMemory(int fd, std::byte* address, size_t length,
                        SyncMode mode, const OpContext& context) {
  if (!FlushViewOfFile(address, length)) {
    return LastError(context, "FlushViewOfFile");
  }
  // FlushViewOfFile starts the writes; the file's buffers hold them until
  // flushed to the device.
  if (mode == SyncMode::kSync && !FlushFileBuffers(HandleOf(fd))) {
    return LastError(context, "FlushFileBuffers");
  }
  return absl::OkStatus();
}

absl::Status ReleaseMemory(std::byte*, size_t, AccessMode,
                           const OpContext& context) {
  return Unsupported(context,
                     "drop the pages of a mapped view from this process on "
                     "request");
}

absl::Status DropFileCache(int, uint64_t, uint64_t, const OpContext& context) {
  return Unsupported(context,
                     "drop a file's pages from the system cache without "
                     "privileges");
}

absl::Status Allocate(int fd, uint64_t, uint64_t new_size,
                      const OpContext& context) {
  // Extending a file that is not sparse allocates its clusters, so a full
  // disk fails here, not at a later store.
  FILE_END_OF_FILE_INFO end{};
  end.EndOfFile.QuadPart = static_cast<LONGLONG>(new_size);
  if (!SetFileInformationByHandle(HandleOf(fd), FileEndOfFileInfo, &end,
                                  sizeof(end))) {
    return LastError(context, "SetFileInformationByHandle(FileEndOfFileInfo)");
  }
  return absl::OkStatus();
}

absl::StatusOr<CacheCounters> CacheStat(int, uint64_t, uint64_t,
                                        const OpContext& context) {
  return Unsupported(context, "count a file's cached pages (no cachestat)");
}

bool NoSpaceForPage(int fd, bool write) {
  // Reading a hole allocates nothing on Windows' filesystems.
  if (!write) return false;
  const std::optional<std::wstring> path = FinalPath(HandleOf(fd));
  wchar_t volume[MAX_PATH + 1];
  if (!path.has_value() ||
      !GetVolumePathNameW(path->c_str(), volume,
                          static_cast<DWORD>(std::size(volume)))) {
    return false;
  }
  ULARGE_INTEGER available;
  return GetDiskFreeSpaceExW(volume, &available, nullptr, nullptr) &&
         available.QuadPart == 0;
}

bool MincoreSeesPageCache(int) {
  // QueryWorkingSetEx sees this process's working set, never the system
  // file cache.
  return false;
}

bool ResidencyIsWorkingSet() { return true; }

uint64_t ThreadMajorFaults() { return 0; }

void AdviseFileReads(int, Advice) {}

FileRead ReadFileAt(int fd, uint64_t offset, absl::Span<std::byte> destination,
                    const OpContext& context) {
  FileRead read;
  const HANDLE file = HandleOf(fd);
  while (read.bytes_read < destination.size()) {
    const uint64_t at = offset + read.bytes_read;
    OVERLAPPED position = {};
    position.Offset = static_cast<DWORD>(at);
    position.OffsetHigh = static_cast<DWORD>(at >> 32);
    const DWORD want = static_cast<DWORD>(
        std::min<size_t>(destination.size() - read.bytes_read, DWORD{1} << 30));
    DWORD n = 0;
    if (!ReadFile(file, destination.data() + read.bytes_read, want, &n,
                  &position)) {
      const DWORD err = GetLastError();
      if (err == ERROR_HANDLE_EOF) break;
      read.device_failed = err == ERROR_CRC || err == ERROR_READ_FAULT ||
                           err == ERROR_IO_DEVICE ||
                           err == ERROR_SECTOR_NOT_FOUND ||
                           err == ERROR_NOT_READY;
      read.status = WindowsError(err, context, "ReadFile");
      break;
    }
    if (n == 0) break;
    read.bytes_read += n;
  }
  return read;
}

const char* FileReadName() { return "ReadFile"; }

absl::Status QueryResidency(const std::byte* address, size_t length,
                            unsigned char* pages, const OpContext& context) {
  const size_t page = PageSize();
  return ForEachWorkingSetPage(
      address, (length + page - 1) / page, context,
      [pages](size_t index, const PSAPI_WORKING_SET_EX_BLOCK& attributes) {
        pages[index] = attributes.Valid ? 1 : 0;
        return absl::OkStatus();
      });
}

}  // namespace mmapio::internal
