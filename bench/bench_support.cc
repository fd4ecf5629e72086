#include "bench/bench_support.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "mmapio/residency.h"

namespace mmapio::bench {
namespace {

constexpr uint64_t kPage = 4096;

const char* g_program = "bench";

// The data files. Fixed buffers, because the signal handler may only call
// unlink on them.
char g_paths[kMaxDataFiles][4096];
volatile sig_atomic_t g_path_count = 0;

void RemoveDataFiles() {
  for (int i = 0; i < g_path_count; ++i) unlink(g_paths[i]);
}

extern "C" void RemoveDataFilesAndDie(int signo) {
  RemoveDataFiles();
  signal(signo, SIG_DFL);
  raise(signo);
}

std::string FilesystemName(int64_t type) {
  switch (type) {
    case EXT4_SUPER_MAGIC:
      return "ext2/3/4";
    case XFS_SUPER_MAGIC:
      return "xfs";
    case BTRFS_SUPER_MAGIC:
      return "btrfs";
    case TMPFS_MAGIC:
      return "tmpfs";
    case RAMFS_MAGIC:
      return "ramfs";
    case OVERLAYFS_SUPER_MAGIC:
      return "overlayfs";
    default:
      return absl::StrFormat("0x%x", type);
  }
}

}  // namespace

void SetProgramName(const char* name) { g_program = name; }

void Log(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", g_program, message.c_str());
}

void Die(const std::string& message) {
  Log(message);
  std::exit(1);
}

void DieErrno(const std::string& what) {
  Die(absl::StrCat(what, ": ", std::strerror(errno)));
}

void UsageError(const std::string& message, const char* usage) {
  std::fprintf(stderr, "%s: %s\n%s", g_program, message.c_str(), usage);
  std::exit(2);
}

Flag ParseFlag(absl::string_view arg, const char* usage) {
  if (arg == "-h" || arg == "--help") {
    std::fputs(usage, stdout);
    std::exit(0);
  }
  const size_t equals = arg.find('=');
  if (!absl::StartsWith(arg, "--") || equals == absl::string_view::npos) {
    UsageError(absl::StrCat("expected --name=value, got ", arg), usage);
  }
  return {arg.substr(2, equals - 2), arg.substr(equals + 1)};
}

void ParseWorkloads(
    absl::string_view list,
    std::initializer_list<std::pair<absl::string_view, bool*>> workloads,
    const char* usage) {
  for (const auto& [name, run] : workloads) *run = false;
  for (absl::string_view w : absl::StrSplit(list, ',')) {
    const auto named =
        std::find_if(workloads.begin(), workloads.end(),
                     [w](const std::pair<absl::string_view, bool*>& workload) {
                       return workload.first == w;
                     });
    if (named == workloads.end()) {
      UsageError(absl::StrCat("unknown workload ", w), usage);
    }
    *named->second = true;
  }
}

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double ThreadCpuSeconds() {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

int64_t ThreadMajorFaults() {
  struct rusage usage;
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_majflt;
}

ScopedFd::ScopedFd(const std::string& path, int flags)
    : fd_(open(path.c_str(), flags)) {
  if (fd_ < 0) DieErrno(absl::StrCat("open ", path));
}

ScopedFd::~ScopedFd() { close(fd_); }

Mapping::Mapping(const std::string& path, uint64_t size) : size_(size) {
  ScopedFd fd(path, O_RDONLY | O_CLOEXEC);
  void* base = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED) DieErrno(absl::StrCat("mmap ", path));
  base_ = static_cast<const uint8_t*>(base);
}

Mapping::~Mapping() { munmap(const_cast<uint8_t*>(base_), size_); }

void Mapping::Advise(int advice) const {
  if (madvise(const_cast<uint8_t*>(base_), size_, advice) != 0) {
    DieErrno("madvise");
  }
}

void AlignedFree::operator()(void* p) const { std::free(p); }

AlignedBuffer AllocateAligned(size_t bytes) {
  void* p = std::aligned_alloc(kPage, bytes);
  if (p == nullptr) Die("out of memory");
  return AlignedBuffer(static_cast<uint8_t*>(p));
}

std::string CheckDir(const std::string& dir, uint64_t need,
                     absl::string_view what_needs) {
  struct statfs fs;
  if (statfs(dir.c_str(), &fs) != 0) DieErrno(dir);
  const std::string name = FilesystemName(fs.f_type);
  if (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC) {
    Die(absl::StrCat(dir, " is ", name,
                     ": its pages live only in memory and cannot be made "
                     "cold; pass --dir on a disk filesystem"));
  }
  struct statvfs vfs;
  if (statvfs(dir.c_str(), &vfs) != 0) DieErrno(dir);
  const uint64_t free_bytes = uint64_t{vfs.f_bavail} * vfs.f_frsize;
  if (free_bytes < need + (uint64_t{256} << 20)) {
    Die(absl::StrFormat("%s has %d MiB free; %s %d MiB", dir, free_bytes >> 20,
                        what_needs, need >> 20));
  }
  return name;
}

void RemoveDataFilesAtExit() {
  std::atexit(RemoveDataFiles);
  signal(SIGINT, RemoveDataFilesAndDie);
  signal(SIGTERM, RemoveDataFilesAndDie);
}

// Writes real blocks, not a sparse or fallocated file: reading a hole or an
// unwritten extent costs no I/O and would flatter every variant.
std::string CreateDataFile(
    const std::string& path, uint64_t size,
    const std::function<void(uint64_t, uint8_t*, uint64_t)>& fill) {
  if (path.size() >= sizeof(g_paths[0])) Die("--dir is too long");
  if (g_path_count == kMaxDataFiles) Die("too many data files");
  const int fd =
      open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) DieErrno(absl::StrCat("create ", path));
  std::memcpy(g_paths[g_path_count], path.c_str(), path.size() + 1);
  g_path_count = g_path_count + 1;
  constexpr uint64_t kBlock = uint64_t{8} << 20;
  AlignedBuffer block = AllocateAligned(kBlock);
  std::memset(block.get(), 0xa5, kBlock);
  for (uint64_t offset = 0; offset < size; offset += kBlock) {
    const uint64_t length = std::min(kBlock, size - offset);
    fill(offset, block.get(), length);
    for (uint64_t done = 0; done < length;) {
      const ssize_t n = pwrite(fd, block.get() + done, length - done,
                               static_cast<off_t>(offset + done));
      if (n <= 0) DieErrno(absl::StrCat("write ", path));
      done += static_cast<uint64_t>(n);
    }
  }
  if (fdatasync(fd) != 0) DieErrno(absl::StrCat("fdatasync ", path));
  close(fd);
  return path;
}

void MakeCold(const std::string& path) {
  for (int attempt = 0;; ++attempt) {
    {
      ScopedFd fd(path, O_RDONLY | O_CLOEXEC);
      // Dirty pages would survive DONTNEED; there are none after creation,
      // but a cheap fdatasync makes that a fact rather than an assumption.
      if (fdatasync(fd.get()) != 0) DieErrno("fdatasync");
      const int error = posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
      if (error != 0) Die(absl::StrCat("fadvise: ", std::strerror(error)));
    }
    absl::StatusOr<FileResidency> residency = SummarizeFile(path);
    if (!residency.ok()) Die(std::string(residency.status().message()));
    const uint64_t resident = residency->summary.resident_pages;
    if (resident == 0) return;
    if (attempt == 3) {
      Die(absl::StrFormat("%s keeps %d of %d pages cached after DONTNEED", path,
                          resident, residency->summary.pages));
    }
    usleep(100000);
  }
}

Region OpenRegion(const std::string& path) {
  absl::StatusOr<Region> region = Region::Open(path);
  if (!region.ok()) Die(region.status().ToString());
  return *std::move(region);
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t rank =
      static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  return absl::StrFormat("%.6g", value);
}

std::string JsonArray(const std::vector<double>& values) {
  return absl::StrCat("[",
                      absl::StrJoin(values, ", ",
                                    [](std::string* out, double v) {
                                      out->append(JsonNumber(v));
                                    }),
                      "]");
}

}  // namespace mmapio::bench
