#include "tests/test_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace mmapio::testing {

std::string MakeTempDir() {
  const char* root = getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(root != nullptr ? root : "/tmp", "/mmapio.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp(" << pattern << "): " << strerror(errno);
  }
  return pattern;
}

std::string Pattern(uint64_t offset, uint64_t length) {
  std::string bytes(length, '\0');
  for (uint64_t i = 0; i < length; ++i) bytes[i] = PatternByte(offset + i);
  return bytes;
}

void WritePatternFile(const std::string& path, uint64_t size) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path << ": " << strerror(errno);
  constexpr uint64_t kChunk = 1 << 20;
  for (uint64_t done = 0; done < size;) {
    const std::string chunk = Pattern(done, std::min(kChunk, size - done));
    ASSERT_EQ(pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(done)),
              static_cast<ssize_t>(chunk.size()));
    done += chunk.size();
  }
  close(fd);
}

std::string ReadFileRange(const std::string& path, uint64_t offset,
                          uint64_t length) {
  std::string bytes(length, '\0');
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  const ssize_t n = pread(fd, bytes.data(), length, static_cast<off_t>(offset));
  close(fd);
  bytes.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return bytes;
}

int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // The descriptor of `dir` itself.
}

void RunWithoutCapabilities(const std::function<void()>& body) {
  std::thread thread([&body] {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    ASSERT_EQ(syscall(SYS_capget, &header, data), 0) << strerror(errno);
    for (auto& word : data) word.effective = 0;
    // The raw system call changes this thread only; glibc's wrappers would
    // change every thread of the process.
    ASSERT_EQ(syscall(SYS_capset, &header, data), 0) << strerror(errno);
    body();
  });
  thread.join();
}

ScopedRlimit::ScopedRlimit(int resource, rlim_t soft_limit)
    : resource_(resource) {
  EXPECT_EQ(getrlimit(resource, &saved_), 0);
  struct rlimit lowered = saved_;
  lowered.rlim_cur = soft_limit;
  EXPECT_EQ(setrlimit(resource, &lowered), 0) << strerror(errno);
}

ScopedRlimit::~ScopedRlimit() { setrlimit(resource_, &saved_); }

std::string EnterPrivateMountNamespace() {
  static thread_local const std::string failure = []() -> std::string {
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return absl::StrCat("cannot make a private mount namespace: ",
                          strerror(errno), " (needs root)");
    }
    return "";
  }();
  return failure;
}

ScopedTmpfs::ScopedTmpfs(uint64_t size_bytes) {
  skip_reason_ = EnterPrivateMountNamespace();
  if (!skip_reason_.empty()) return;
  const std::string dir = MakeTempDir();
  const std::string options = absl::StrCat("size=", size_bytes);
  if (mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0) {
    skip_reason_ = absl::StrCat("cannot mount tmpfs: ", strerror(errno));
    return;
  }
  mount_point_ = dir;
}

ScopedTmpfs::~ScopedTmpfs() {
  if (!mount_point_.empty()) umount2(mount_point_.c_str(), MNT_DETACH);
}

ScopedEioFilesystem::ScopedEioFilesystem(
    uint64_t size, const std::vector<uint64_t>& bad_pages) {
  Mount(absl::StrCat(size), size, bad_pages);
}

ScopedEioFilesystem::ScopedEioFilesystem(
    const std::string& contents_of, const std::vector<uint64_t>& bad_pages) {
  struct stat st;
  if (stat(contents_of.c_str(), &st) != 0) {
    skip_reason_ = absl::StrCat("stat ", contents_of, ": ", strerror(errno));
    ADD_FAILURE() << skip_reason_;
    return;
  }
  Mount(absl::StrCat("@", contents_of), static_cast<uint64_t>(st.st_size),
        bad_pages);
}

void ScopedEioFilesystem::Mount(const std::string& size_argument, uint64_t size,
                                const std::vector<uint64_t>& bad_pages) {
  skip_reason_ = EnterPrivateMountNamespace();
  if (!skip_reason_.empty()) return;
  if (access("/dev/fuse", R_OK | W_OK) != 0) {
    skip_reason_ = "/dev/fuse is not available";
    return;
  }
  mount_point_ = MakeTempDir();
  const std::string server =
      absl::StrCat(getenv("TEST_SRCDIR"), "/mmapio/tests/fuse_eio_fs");
  std::vector<std::string> args = {server, mount_point_, size_argument};
  for (uint64_t page : bad_pages) args.push_back(absl::StrCat(page));
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  server_pid_ = fork();
  if (server_pid_ == 0) {
    execv(argv[0], argv.data());
    _exit(127);
  }
  const std::string file = mount_point_ + "/data";
  for (int i = 0; i < 1000; ++i) {
    struct stat st;
    if (stat(file.c_str(), &st) == 0 &&
        static_cast<uint64_t>(st.st_size) == size) {
      path_ = file;
      return;
    }
    int status = 0;
    if (waitpid(server_pid_, &status, WNOHANG) == server_pid_) {
      server_pid_ = -1;
      skip_reason_ =
          absl::StrCat("the FUSE server exited with status ", status,
                       " (is fuse3 installed and mounting allowed?)");
      return;
    }
    usleep(10000);
  }
  skip_reason_ = "the FUSE filesystem did not come up within 10 seconds";
}

ScopedEioFilesystem::~ScopedEioFilesystem() {
  if (!mount_point_.empty()) umount2(mount_point_.c_str(), MNT_DETACH);
  if (server_pid_ > 0) {
    kill(server_pid_, SIGTERM);
    waitpid(server_pid_, nullptr, 0);
  }
}

PinnedPages::PinnedPages(PinnedPages&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

PinnedPages& PinnedPages::operator=(PinnedPages&& other) noexcept {
  if (this != &other) {
    Release();
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void PinnedPages::Release() {
  if (base_ != nullptr) munmap(base_, size_);
  base_ = nullptr;
  size_ = 0;
}

PinnedPages MakeResident(
    const std::string& path,
    const std::vector<std::pair<uint64_t, uint64_t>>& page_intervals) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << path;
  if (fd < 0) return {};
  struct stat st;
  EXPECT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(fdatasync(fd), 0);
  EXPECT_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  const size_t size = static_cast<size_t>(st.st_size);
  if (page_intervals.empty() || size == 0) {
    close(fd);
    return {};
  }
  void* base = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  EXPECT_NE(base, MAP_FAILED);
  if (base == MAP_FAILED) return {};
  EXPECT_EQ(madvise(base, size, MADV_RANDOM), 0);
  const auto* bytes = static_cast<const volatile char*>(base);
  const long page = sysconf(_SC_PAGESIZE);
  for (const auto& [first, end] : page_intervals) {
    for (uint64_t i = first; i < end; ++i) {
      EXPECT_EQ(bytes[i * page], PatternByte(i * page));
    }
    // The raw system call: sanitizer runtimes make mlock(3) a no-op.
    EXPECT_EQ(syscall(SYS_mlock, bytes + first * page, (end - first) * page), 0)
        << strerror(errno);
  }
  return PinnedPages(base, size);
}

std::vector<bool> MincorePages(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
    if (fd >= 0) close(fd);
    return {};
  }
  const size_t size = static_cast<size_t>(st.st_size);
  const long page = sysconf(_SC_PAGESIZE);
  void* base = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  std::vector<unsigned char> vec((size + page - 1) / page);
  EXPECT_EQ(mincore(base, size, vec.data()), 0);
  munmap(base, size);
  close(fd);
  std::vector<bool> pages;
  for (unsigned char v : vec) pages.push_back((v & 1) != 0);
  return pages;
}

uint64_t MincoreResidentPages(const std::string& path) {
  uint64_t resident = 0;
  for (bool page : MincorePages(path)) resident += page;
  return resident;
}

void ResetPeakRss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
}

int64_t ProcStatusKb(absl::string_view key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, key) || !absl::ConsumePrefix(&rest, ":")) {
      continue;
    }
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, " kB");
    int64_t value = -1;
    if (absl::SimpleAtoi(rest, &value)) return value;
  }
  return -1;
}

}  // namespace mmapio::testing
