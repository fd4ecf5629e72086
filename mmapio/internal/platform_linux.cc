#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "mmapio/internal/mutex.h"
#include "mmapio/internal/platform.h"

namespace mmapio::internal {
namespace {

int OpenFlags(AccessMode mode) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer before we can
  // refuse it. It stays set: the region never read(2)s, and regular files
  // ignore it.
  const int common = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  return (mode == AccessMode::kReadWrite ? O_RDWR : O_RDONLY) | common;
}

const char* FileTypeName(mode_t type) {
  switch (type & S_IFMT) {
    case S_IFDIR:
      return "a directory";
    case S_IFIFO:
      return "a FIFO";
    case S_IFSOCK:
      return "a socket";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFLNK:
      return "a symbolic link";
    default:
      return "not a regular file";
  }
}

// Filesystems whose files report a size that is not their length (0 or
// 4096 for generated text), so a mapping would silently be empty or fail.
const char* PseudoFilesystemName(int64_t magic) {
  switch (magic) {
    case PROC_SUPER_MAGIC:
      return "procfs";
    case SYSFS_MAGIC:
      return "sysfs";
    case DEBUGFS_MAGIC:
      return "debugfs";
    case TRACEFS_MAGIC:
      return "tracefs";
    case SECURITYFS_MAGIC:
      return "securityfs";
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
      return "cgroupfs";
    case BPF_FS_MAGIC:
      return "bpffs";
    case PSTOREFS_MAGIC:
      return "pstore";
    case EFIVARFS_MAGIC:
      return "efivarfs";
    case 0x62656570:  // configfs; absent from older <linux/magic.h>.
      return "configfs";
    default:
      return nullptr;
  }
}

absl::Status NotRegularFile(mode_t mode, const OpContext& context) {
  return MakeError(absl::StatusCode::kInvalidArgument, context,
                   absl::StrCat("is ", FileTypeName(mode),
                                ", not a regular file; only regular files "
                                "can be mapped"));
}

// The file's size, or why it cannot back a region.
absl::StatusOr<uint64_t> CheckMappable(int fd, const OpContext& context) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoError(errno, context, "fstat");
  if (!S_ISREG(st.st_mode)) return NotRegularFile(st.st_mode, context);
  struct statfs fs;
  if (fstatfs(fd, &fs) != 0) return ErrnoError(errno, context, "fstatfs");
  if (const char* name = PseudoFilesystemName(fs.f_type)) {
    return MakeError(
        absl::StatusCode::kInvalidArgument, context,
        absl::StrCat("is a ", name, " pseudo-file: its reported size (",
                     st.st_size,
                     " bytes) is not its content, so it cannot be mapped; "
                     "read it with read(2)"));
  }
  return static_cast<uint64_t>(st.st_size);
}

// Names what sits at `path` when open(2) refused it for its type.
absl::Status DescribeOpenFailure(int err, const std::string& path,
                                 const OpContext& context) {
  struct stat st;
  if ((err == ENXIO || err == EISDIR) && lstat(path.c_str(), &st) == 0 &&
      !S_ISREG(st.st_mode)) {
    return NotRegularFile(st.st_mode, context);
  }
  return ErrnoError(err, context, "open");
}

}  // namespace

void CloseFd(int fd) { (void)close(fd); }

size_t PageSize() {
  static const size_t page_size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page_size;
}

size_t MapGranularity() { return PageSize(); }

absl::StatusOr<MappableFile> OpenMappable(const std::string& path,
                                          AccessMode mode,
                                          const OpContext& context) {
  UniqueFd fd(open(path.c_str(), OpenFlags(mode)));
  if (fd.get() < 0) return DescribeOpenFailure(errno, path, context);
  absl::StatusOr<uint64_t> size = CheckMappable(fd.get(), context);
  if (!size.ok()) return size.status();
  return MappableFile{std::move(fd), *size};
}

absl::StatusOr<MappableFile> AdoptMappable(int fd, AccessMode mode,
                                           const OpContext& context) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return ErrnoError(errno, context, "fcntl(F_GETFL)");
  if ((flags & O_PATH) != 0) {
    return MakeError(absl::StatusCode::kInvalidArgument, context,
                     "the descriptor was opened with O_PATH and cannot be "
                     "mapped");
  }
  const int access = flags & O_ACCMODE;
  if (access == O_WRONLY) {
    return MakeError(absl::StatusCode::kInvalidArgument, context,
                     "the descriptor is write-only; a mapping must read");
  }
  if (mode == AccessMode::kReadWrite && access != O_RDWR) {
    return MakeError(absl::StatusCode::kInvalidArgument, context,
                     "a read-write region needs a descriptor opened O_RDWR; "
                     "this one is read-only");
  }
  absl::StatusOr<uint64_t> size = CheckMappable(fd, context);
  if (!size.ok()) return size.status();
  UniqueFd copy(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (copy.get() < 0) return ErrnoError(errno, context, "fcntl(F_DUPFD)");
  return MappableFile{std::move(copy), *size};
}

std::string PathOfFd(int fd) {
  char target[PATH_MAX];
  const std::string link = absl::StrCat("/proc/self/fd/", fd);
  const ssize_t n = readlink(link.c_str(), target, sizeof(target));
  if (n <= 0 || static_cast<size_t>(n) >= sizeof(target)) {
    return absl::StrCat("fd ", fd);
  }
  return std::string(target, static_cast<size_t>(n));
}

absl::StatusOr<uint64_t> FileSize(int fd, const OpContext& context) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoError(errno, context, "fstat");
  return static_cast<uint64_t>(st.st_size);
}

absl::StatusOr<std::byte*> MapFile(int fd, uint64_t offset, size_t length,
                                   AccessMode mode, const OpContext& context) {
  const int prot =
      mode == AccessMode::kReadOnly ? PROT_READ : PROT_READ | PROT_WRITE;
  const int flags = mode == AccessMode::kCopyOnWrite ? MAP_PRIVATE : MAP_SHARED;
  void* base =
      mmap(nullptr, length, prot, flags, fd, static_cast<off_t>(offset));
  if (base == MAP_FAILED) {
    const int err = errno;
    if (err == ENODEV) {
      return MakeError(absl::StatusCode::kFailedPrecondition, context,
                       "mmap: the filesystem does not support mapping files "
                       "(ENODEV)");
    }
    return ErrnoError(err, context, "mmap");
  }
  return static_cast<std::byte*>(base);
}

absl::StatusOr<std::byte*> Remap(int, uint64_t, std::byte* base,
                                 size_t old_length, size_t new_length,
                                 AccessMode, const OpContext& context) {
  void* moved = mremap(base, old_length, new_length, MREMAP_MAYMOVE);
  if (moved == MAP_FAILED) return ErrnoError(errno, context, "mremap");
  return static_cast<std::byte*>(moved);
}

void Unmap(std::byte* base, size_t length) {
  if (base != nullptr) munmap(base, length);
}

absl::Status AdviseMemory(std::byte* address, size_t length, Advice advice,
                          const OpContext& context) {
  int native = MADV_NORMAL;
  switch (advice) {
    case Advice::kNormal:
      native = MADV_NORMAL;
      break;
    case Advice::kSequential:
      native = MADV_SEQUENTIAL;
      break;
    case Advice::kRandom:
      native = MADV_RANDOM;
      break;
    case Advice::kWillNeed:
      native = MADV_WILLNEED;
      break;
    case Advice::kDontNeed:
      native = MADV_DONTNEED;
      break;
    case Advice::kHugePage:
      native = MADV_HUGEPAGE;
      break;
  }
  if (madvise(address, length, native) != 0) {
    const int err = errno;
    if (advice == Advice::kHugePage && err == EINVAL) {
      return MakeError(absl::StatusCode::kUnimplemented, context,
                       "madvise(MADV_HUGEPAGE): this kernel has no "
                       "transparent huge pages for this mapping (EINVAL)");
    }
    return ErrnoError(err, context, "madvise");
  }
  return absl::OkStatus();
}

int PopulateRead(std::byte* address, size_t length) {
  // A fatal signal or a racing munmap can interrupt the walk; anything else
  // is final.
  int result;
  do {
    result = madvise(address, length, MADV_POPULATE_READ);
  } while (result != 0 && (errno == EINTR || errno == EAGAIN));
  return result == 0 ? 0 : errno;
}

void WillNeed(const MemoryRange* ranges, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    (void)madvise(ranges[i].address, ranges[i].length, MADV_WILLNEED);
  }
}

const char* PageFaultName() { return "SIGBUS"; }

bool PopulateFailedOnPage(int err) { return err == EFAULT || err == EHWPOISON; }

int FaultCodeOfPopulateError(int err) {
  return err == EHWPOISON ? BUS_MCEERR_AR : BUS_ADRERR;
}

bool IsPoisonFault(int fault_code) {
  return fault_code == BUS_MCEERR_AR || fault_code == BUS_MCEERR_AO;
}

bool HasPopulateRead() {
  // Asked once, of a page of our own.
  static const bool has = [] {
    void* page = mmap(nullptr, PageSize(), PROT_READ,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return false;
    const bool answer = madvise(page, PageSize(), MADV_POPULATE_READ) == 0;
    munmap(page, PageSize());
    return answer;
  }();
  return has;
}

absl::Status PopulateError(int err, const OpContext& context) {
  if (err == EINVAL) {
    return MakeError(absl::StatusCode::kUnimplemented, context,
                     "madvise(MADV_POPULATE_READ): not supported by this "
                     "kernel (Linux 5.14+)");
  }
  return ErrnoError(err, context, "madvise(MADV_POPULATE_READ)");
}

namespace {

Mutex readahead_mutex;
// Never destroyed: threads may ask while the process exits.
std::map<dev_t, uint64_t>* const readahead_by_device
    ABSL_PT_GUARDED_BY(readahead_mutex) = new std::map<dev_t, uint64_t>();

}  // namespace

uint64_t ReadaheadBytes(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return 0;
  // Asked per request: remember the answer per device.
  {
    MutexLock lock(&readahead_mutex);
    if (auto it = readahead_by_device->find(st.st_dev);
        it != readahead_by_device->end()) {
      return it->second;
    }
  }
  uint64_t bytes = 0;
  // A partition's queue belongs to its disk, one directory up.
  for (const char* queue : {"queue", "../queue"}) {
    const std::string path =
        absl::StrCat("/sys/dev/block/", major(st.st_dev), ":", minor(st.st_dev),
                     "/", queue, "/read_ahead_kb");
    const int file = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (file < 0) continue;
    char text[32] = {};
    const ssize_t n = read(file, text, sizeof(text) - 1);
    close(file);
    uint64_t kb = 0;
    if (n > 0 && absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &kb)) {
      bytes = kb * 1024;
      break;
    }
  }
  MutexLock lock(&readahead_mutex);
  (*readahead_by_device)[st.st_dev] = bytes;
  return bytes;
}

// Sanitizer runtimes replace mlock(3) and munlock(3) with no-ops; the raw
// system calls keep locking real under AddressSanitizer and ThreadSanitizer.
long RawMlock(std::byte* address, size_t length) {
  return syscall(SYS_mlock, address, length);
}

absl::Status LockMemory(std::byte* address, size_t length, LockMode mode,
                        const OpContext& context) {
  long result = -1;
  const char* name = "mlock";
  if (mode == LockMode::kOnFault) {
    name = "mlock2(MLOCK_ONFAULT)";
    result = syscall(SYS_mlock2, address, length, MLOCK_ONFAULT);
    if (result != 0 && (errno == ENOSYS || errno == EINVAL)) {
      name = "mlock";
      result = RawMlock(address, length);
    }
  } else {
    result = RawMlock(address, length);
  }
  if (result == 0) return absl::OkStatus();
  const int err = errno;
  if (err != ENOMEM && err != EPERM && err != EAGAIN) {
    return ErrnoError(err, context, name);
  }
  struct rlimit limit;
  if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0 ||
      limit.rlim_cur == RLIM_INFINITY) {
    return ErrnoError(err, context, name);
  }
  return MakeError(
      absl::StatusCode::kResourceExhausted, context,
      absl::StrCat(name, ": ", strerrordesc_np(err), "; locking ", length,
                   " bytes would exceed RLIMIT_MEMLOCK (", limit.rlim_cur,
                   " bytes for this process, counting pages it already "
                   "locked); raise it with `ulimit -l` or grant "
                   "CAP_IPC_LOCK"));
}

absl::Status UnlockMemory(std::byte* address, size_t length,
                          const OpContext& context) {
  if (syscall(SYS_munlock, address, length) != 0) {
    return ErrnoError(errno, context, "munlock");
  }
  return absl::OkStatus();
}

absl::Status SyncMemory(int, std::byte* address, size_t length, SyncMode mode,
                        const OpContext& context) {
  const int flags = mode == SyncMode::kSync ? MS_SYNC : MS_ASYNC;
  if (msync(address, length, flags) != 0)
    return ErrnoError(errno, context, "msync");
  return absl::OkStatus();
}

absl::Status ReleaseMemory(std::byte* address, size_t length, AccessMode mode,
                           const OpContext& context) {
  if (mode == AccessMode::kCopyOnWrite) {
    // MADV_DONTNEED would throw away the private copies; MADV_PAGEOUT keeps
    // them. Kernels before 5.4 lack it, which only makes eviction weaker.
    if (madvise(address, length, MADV_PAGEOUT) != 0 && errno != EINVAL) {
      return ErrnoError(errno, context, "madvise(MADV_PAGEOUT)");
    }
    return absl::OkStatus();
  }
  if (mode == AccessMode::kReadWrite) {
    if (absl::Status s =
            SyncMemory(-1, address, length, SyncMode::kSync, context);
        !s.ok()) {
      return s;
    }
  }
  if (madvise(address, length, MADV_DONTNEED) != 0) {
    return ErrnoError(errno, context, "madvise(MADV_DONTNEED)");
  }
  return absl::OkStatus();
}

absl::Status DropFileCache(int fd, uint64_t offset, uint64_t length,
                           const OpContext& context) {
  // The kernel drops only clean pages: write dirty ones (ours or anyone's)
  // back first, and wait, or they would silently stay.
  if (sync_file_range(fd, static_cast<off_t>(offset),
                      static_cast<off_t>(length),
                      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                          SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
    return ErrnoError(errno, context, "sync_file_range");
  }
  const int err =
      posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(length),
                    POSIX_FADV_DONTNEED);
  if (err != 0) return ErrnoError(err, context, "posix_fadvise(DONTNEED)");
  return absl::OkStatus();
}

absl::Status Allocate(int fd, uint64_t old_size, uint64_t new_size,
                      const OpContext& context) {
  // posix_fallocate reserves real blocks, and emulates that by writing on
  // filesystems without fallocate(2), unlike ftruncate, which leaves a hole
  // that can fail later as SIGBUS.
  const int err = posix_fallocate(fd, static_cast<off_t>(old_size),
                                  static_cast<off_t>(new_size - old_size));
  if (err != 0) return ErrnoError(err, context, "posix_fallocate");
  return absl::OkStatus();
}

namespace {

// <linux/mman.h> of older kernels lacks these; the layout is the kernel ABI.
struct CachestatRange {
  uint64_t off;
  uint64_t len;
};
struct Cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};
#if defined(__x86_64__) || defined(__aarch64__)
constexpr long kCachestatSyscall = 451;
#else
constexpr long kCachestatSyscall = -1;
#endif

}  // namespace

absl::StatusOr<CacheCounters> CacheStat(int fd, uint64_t offset,
                                        uint64_t length,
                                        const OpContext& context) {
  // Once the kernel says it has no cachestat, stop asking.
  static std::atomic<bool> missing{kCachestatSyscall < 0};
  if (!missing.load(std::memory_order_relaxed)) {
    CachestatRange range{offset, length};
    Cachestat stat{};
    if (syscall(kCachestatSyscall, fd, &range, &stat, 0) == 0) {
      return CacheCounters{stat.nr_cache, stat.nr_dirty, stat.nr_writeback,
                           stat.nr_evicted, stat.nr_recently_evicted};
    }
    if (errno != ENOSYS) return ErrnoError(errno, context, "cachestat");
    missing.store(true, std::memory_order_relaxed);
  }
  return MakeError(absl::StatusCode::kUnimplemented, context,
                   "cachestat: this kernel has no cachestat(2) (Linux 6.5+)");
}

bool NoSpaceForPage(int fd, bool write) {
  struct statfs fs;
  // A filesystem without a size limit (an unlimited tmpfs, memfd) reports
  // zero blocks in all.
  if (fstatfs(fd, &fs) != 0 || fs.f_blocks == 0 || fs.f_bavail != 0)
    return false;
  return write || fs.f_type == TMPFS_MAGIC || fs.f_type == HUGETLBFS_MAGIC;
}

bool MincoreSeesPageCache(int fd) {
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_uid == geteuid()) return true;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) == 0 &&
      (data[CAP_FOWNER / 32].effective & (1u << (CAP_FOWNER % 32))) != 0) {
    return true;
  }
  const std::string self = absl::StrCat("/proc/self/fd/", fd);
  return faccessat(AT_FDCWD, self.c_str(), W_OK, AT_EACCESS) == 0;
}

absl::Status QueryResidency(const std::byte* address, size_t length,
                            unsigned char* pages, const OpContext& context) {
  if (mincore(const_cast<std::byte*>(address), length, pages) != 0) {
    return ErrnoError(errno, context, "mincore");
  }
  return absl::OkStatus();
}

void AdviseFileReads(int fd, Advice advice) {
  int pattern;
  switch (advice) {
    case Advice::kNormal:
      pattern = POSIX_FADV_NORMAL;
      break;
    case Advice::kSequential:
      pattern = POSIX_FADV_SEQUENTIAL;
      break;
    case Advice::kRandom:
      pattern = POSIX_FADV_RANDOM;
      break;
    default:
      return;
  }
  (void)posix_fadvise(fd, 0, 0, pattern);
}

FileRead ReadFileAt(int fd, uint64_t offset, absl::Span<std::byte> destination,
                    const OpContext& context) {
  FileRead read;
  while (read.bytes_read < destination.size()) {
    const ssize_t n = pread(fd, destination.data() + read.bytes_read,
                            destination.size() - read.bytes_read,
                            static_cast<off_t>(offset + read.bytes_read));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      read.device_failed = errno == EIO;
      read.status = ErrnoError(errno, context, "pread");
      break;
    }
    read.bytes_read += static_cast<size_t>(n);
  }
  return read;
}

const char* FileReadName() { return "pread"; }

bool ResidencyIsWorkingSet() { return false; }

uint64_t ThreadMajorFaults() {
  struct rusage usage;
  if (getrusage(RUSAGE_THREAD, &usage) != 0) return 0;
  return static_cast<uint64_t>(usage.ru_majflt);
}

}  // namespace mmapio::internal
