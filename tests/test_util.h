// Helpers for tests that work on real files and the real kernel.

#ifndef MMAPIO_TESTS_TEST_UTIL_H_
#define MMAPIO_TESTS_TEST_UTIL_H_

#include <sys/resource.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/pattern.h"

namespace mmapio::testing {

// What `made` holds, or nullptr after a test failure that says why.
template <typename T>
std::unique_ptr<T> OrFail(absl::StatusOr<std::unique_ptr<T>> made) {
  EXPECT_TRUE(made.ok()) << made.status();
  return made.ok() ? *std::move(made) : nullptr;
}

// A fresh directory under TEST_TMPDIR (or /tmp), unique per call.
std::string MakeTempDir();

// Deterministic bytes: byte i of every file made here is PatternByte(i).
std::string Pattern(uint64_t offset, uint64_t length);

// Writes `size` pattern bytes to a new file at `path`.
void WritePatternFile(const std::string& path, uint64_t size);

// The bytes of `path` in [offset, offset + length), read with pread.
std::string ReadFileRange(const std::string& path, uint64_t offset,
                          uint64_t length);

// Descriptors open in this process now.
int CountOpenFds();

// Runs `body` on a new thread whose effective capabilities are all dropped,
// so that permission checks apply even when the tests run as root.
// Capabilities belong to a thread, so the rest of the process keeps them.
void RunWithoutCapabilities(const std::function<void()>& body);

// Sets a resource limit for the lifetime of the object.
class ScopedRlimit {
 public:
  ScopedRlimit(int resource, rlim_t soft_limit);
  ~ScopedRlimit();
  ScopedRlimit(const ScopedRlimit&) = delete;
  ScopedRlimit& operator=(const ScopedRlimit&) = delete;

 private:
  int resource_;
  struct rlimit saved_;
};

// Moves the calling thread into a private mount namespace (once per thread),
// so that what it mounts is gone when the process exits and never leaks into
// the build tree. Returns an empty string, or why it could not.
std::string EnterPrivateMountNamespace();

// A tmpfs of `size_bytes` mounted in a private mount namespace of the calling
// thread, gone when the process exits. mount_point() is empty when mounting
// is not allowed here; skip_reason() then says why.
class ScopedTmpfs {
 public:
  explicit ScopedTmpfs(uint64_t size_bytes);
  ~ScopedTmpfs();
  ScopedTmpfs(const ScopedTmpfs&) = delete;
  ScopedTmpfs& operator=(const ScopedTmpfs&) = delete;

  const std::string& mount_point() const { return mount_point_; }
  const std::string& skip_reason() const { return skip_reason_; }

 private:
  std::string mount_point_;
  std::string skip_reason_;
};

// tests/fuse_eio_fs mounted in a private mount namespace of the calling
// thread: one file, path(), of `size` pattern bytes whose `bad_pages` fail
// with EIO. path() is empty when FUSE is not available here; skip_reason()
// then says why.
class ScopedEioFilesystem {
 public:
  ScopedEioFilesystem(uint64_t size, const std::vector<uint64_t>& bad_pages);
  // The file holds the bytes `contents_of` holds now instead of the pattern.
  ScopedEioFilesystem(const std::string& contents_of,
                      const std::vector<uint64_t>& bad_pages);
  ~ScopedEioFilesystem();
  ScopedEioFilesystem(const ScopedEioFilesystem&) = delete;
  ScopedEioFilesystem& operator=(const ScopedEioFilesystem&) = delete;

  const std::string& path() const { return path_; }
  const std::string& skip_reason() const { return skip_reason_; }
  // The server process. While it is stopped (SIGSTOP), reads of path() that
  // miss the page cache wait; it must be continued before this is
  // destroyed.
  int server_pid() const { return server_pid_; }

 private:
  void Mount(const std::string& size_argument, uint64_t size,
             const std::vector<uint64_t>& bad_pages);

  std::string mount_point_;
  std::string path_;
  std::string skip_reason_;
  int server_pid_ = -1;
};

// Keeps pages of a file resident while it lives: they stay mapped and
// mlocked here. Tests that count resident pages need it because the kernel
// may reclaim idle page cache at any moment (DAMON, memory pressure from
// tests running beside them). Pinned pages cannot be evicted either: call
// Release() before a test evicts them.
class PinnedPages {
 public:
  PinnedPages() = default;
  PinnedPages(void* base, size_t size) : base_(base), size_(size) {}
  PinnedPages(PinnedPages&& other) noexcept;
  PinnedPages& operator=(PinnedPages&& other) noexcept;
  ~PinnedPages() { Release(); }

  void Release();

 private:
  void* base_ = nullptr;
  size_t size_ = 0;
};

// Evicts `path` from the page cache, then reads the pages of each
// [first, end) page interval one at a time (no readahead), so that exactly
// those pages are resident, each in a folio of its own, and pinned while
// the result lives.
[[nodiscard]] PinnedPages MakeResident(
    const std::string& path,
    const std::vector<std::pair<uint64_t, uint64_t>>& page_intervals);

// Residency of each page of `path` by direct mincore on a fresh mapping.
std::vector<bool> MincorePages(const std::string& path);
uint64_t MincoreResidentPages(const std::string& path);

// Resets this process's peak resident set size (VmHWM).
void ResetPeakRss();

// The value of `key` (for example "VmLck") in /proc/self/status, in kB.
int64_t ProcStatusKb(absl::string_view key);

}  // namespace mmapio::testing

#endif  // MMAPIO_TESTS_TEST_UTIL_H_
