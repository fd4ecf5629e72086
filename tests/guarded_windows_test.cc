// The guarded operations on Windows, against pages of a real view made
// PAGE_NOACCESS (which fault with EXCEPTION_ACCESS_VIOLATION on Windows and
// under Wine alike), and faults that are not a guarded access's, which must
// still kill the process.

#include <windows.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/fault.h"
#include "mmapio/fault_info.h"
#include "mmapio/guarded.h"
#include "mmapio/region.h"
#include "tests/pattern.h"
#include "tests/status_matchers.h"
#include "tests/test_directory.h"

namespace mmapio {
namespace {

using ::mmapio::testing::IsOk;
using ::mmapio::testing::StatusIs;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPages = 32;
// The page the tests make inaccessible.
constexpr uint64_t kBadPage = 9;

std::string MakeFile() {
  const fs::path dir = mmapio::testing::TestDirectory();
  const std::string path = (dir / "f").string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (uint64_t i = 0; i < kPages * kPage; ++i) {
    out.put(static_cast<char>(i / kPage));
  }
  return path;
}

// Makes page `page` of the region's view inaccessible, or accessible again.
void Protect(const Region& region, uint64_t page, DWORD protection) {
  DWORD old;
  ASSERT_TRUE(VirtualProtect(
      const_cast<std::byte*>(region.bytes().data()) + page * kPage, kPage,
      protection, &old))
      << GetLastError();
}

class GuardedWindowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(InstallFaultHandler(), IsOk());
    absl::StatusOr<Region> region = Region::Open(MakeFile());
    ASSERT_THAT(region, IsOk());
    region_.emplace(*std::move(region));
  }

  std::optional<Region> region_;
};

TEST_F(GuardedWindowsTest, AccessesThatDoNotFaultReadTheFile) {
  EXPECT_THAT(GuardedLoad<uint8_t>(*region_, 3 * kPage), IsOk());
  EXPECT_EQ(*GuardedLoad<uint8_t>(*region_, 3 * kPage), 3);
  EXPECT_EQ(*GuardedLoad<uint16_t>(*region_, 4 * kPage - 1), 0x0403);
  EXPECT_EQ(*GuardedLoad<uint32_t>(*region_, 5 * kPage), 0x05050505u);
  EXPECT_EQ(*GuardedLoad<uint64_t>(*region_, 6 * kPage + 8),
            0x0606060606060606u);
  std::array<std::byte, 3 * kPage> copy;
  const CopyResult copied =
      GuardedCopy(*region_, kPage + 100, absl::MakeSpan(copy));
  ASSERT_THAT(copied.status, IsOk());
  EXPECT_EQ(copied.bytes_copied, copy.size());
  EXPECT_EQ(copy[0], std::byte{1});
  EXPECT_EQ(copy[copy.size() - 1], std::byte{4});
  uint64_t sum = 0;
  ASSERT_THAT(GuardedVisit(*region_, {0, kPages * kPage},
                           [&sum](absl::Span<const std::byte> bytes) {
                             for (const std::byte b : bytes) {
                               sum += static_cast<uint8_t>(b);
                             }
                           }),
              IsOk());
  EXPECT_EQ(sum, kPage * (kPages * (kPages - 1) / 2));
  // GuardedRead, through ReadFile and through the view.
  for (const ExpectedResidency expected :
       {ExpectedResidency::kMissing, ExpectedResidency::kUnknown,
        ExpectedResidency::kResident}) {
    copy.fill(std::byte{0xff});
    const CopyResult read =
        GuardedRead(*region_, 2 * kPage - 1, absl::MakeSpan(copy), expected);
    ASSERT_THAT(read.status, IsOk());
    EXPECT_EQ(read.bytes_copied, copy.size());
    EXPECT_EQ(copy[0], std::byte{1});
    EXPECT_EQ(copy[1], std::byte{2});
    EXPECT_EQ(copy[copy.size() - 1], std::byte{4});
  }
}

TEST_F(GuardedWindowsTest, LoadOfAnInaccessiblePageIsAnError) {
  Protect(*region_, kBadPage, PAGE_NOACCESS);
  for (const uint64_t offset : {kBadPage * kPage, kBadPage * kPage + 4095}) {
    absl::StatusOr<uint8_t> loaded = GuardedLoad<uint8_t>(*region_, offset);
    EXPECT_THAT(loaded, StatusIs(absl::StatusCode::kDataLoss,
                                 HasSubstr(region_->path())));
    const std::optional<FaultInfo> fault = GetFaultInfo(loaded.status());
    ASSERT_TRUE(fault.has_value());
    EXPECT_EQ(fault->file_offset, offset);
    EXPECT_EQ(fault->address,
              reinterpret_cast<uintptr_t>(region_->bytes().data() + offset));
    EXPECT_EQ(fault->si_code, static_cast<int>(EXCEPTION_ACCESS_VIOLATION));
  }
  EXPECT_THAT(GuardedLoad<uint64_t>(*region_, kBadPage * kPage - 4),
              StatusIs(absl::StatusCode::kDataLoss));
  // The pages around it, and the page once accessible again, read.
  EXPECT_EQ(*GuardedLoad<uint8_t>(*region_, kBadPage * kPage - 1),
            kBadPage - 1);
  Protect(*region_, kBadPage, PAGE_READONLY);
  EXPECT_EQ(*GuardedLoad<uint8_t>(*region_, kBadPage * kPage), kBadPage);
}

TEST_F(GuardedWindowsTest, CopyStopsAtTheInaccessiblePage) {
  Protect(*region_, kBadPage, PAGE_NOACCESS);
  for (const size_t length : {size_t{200}, size_t{3 * kPage}}) {
    std::string buffer(length, '\0');
    const CopyResult copied = GuardedCopy(
        *region_, kBadPage * kPage - 100,
        absl::MakeSpan(reinterpret_cast<std::byte*>(buffer.data()), length));
    EXPECT_THAT(copied.status, StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_EQ(copied.bytes_copied, 100u) << length;
    EXPECT_EQ(buffer[99], static_cast<char>(kBadPage - 1));
    const std::optional<FaultInfo> fault = GetFaultInfo(copied.status);
    ASSERT_TRUE(fault.has_value());
    EXPECT_EQ(fault->file_offset, kBadPage * kPage);
  }
}

TEST_F(GuardedWindowsTest, VisitIsAbandonedAtTheInaccessiblePage) {
  Protect(*region_, kBadPage, PAGE_NOACCESS);
  uint64_t visited = 0;
  const absl::Status status =
      GuardedVisit(*region_, {0, kPages * kPage},
                   [&visited](absl::Span<const std::byte> bytes) {
                     for (const std::byte& b : bytes) {
                       (void)*reinterpret_cast<const volatile std::byte*>(&b);
                       ++visited;
                     }
                   });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(visited, kBadPage * kPage);
  const std::optional<FaultInfo> fault = GetFaultInfo(status);
  ASSERT_TRUE(fault.has_value());
  EXPECT_EQ(fault->file_offset, kBadPage * kPage);
  // The handler is ready for the next one, nested or not.
  EXPECT_THAT(GuardedVisit(*region_, {0, kPage},
                           [this](absl::Span<const std::byte>) {
                             EXPECT_THAT(GuardedLoad<uint8_t>(*region_,
                                                              kBadPage * kPage),
                                         StatusIs(absl::StatusCode::kDataLoss));
                           }),
              IsOk());
}

// Under Wine, which can truncate a mapped file from outside (Windows
// refuses: ERROR_USER_MAPPED_FILE) by running the Linux truncate(1).
bool UnderWine() {
  return GetProcAddress(GetModuleHandleA("ntdll.dll"), "wine_get_version") !=
         nullptr;
}

// The Unix path of a Windows path on Wine's Z: drive, which maps /.
std::string UnixPath(std::string path) {
  path = path.substr(2);
  for (char& c : path) {
    if (c == '\\') c = '/';
  }
  return path;
}

// Starts a Linux program under Wine: `command` is its Windows path and its
// arguments. Wine neither waits for a Linux program through its process
// handle nor passes its exit code on, so callers wait for its effect.
void StartLinux(std::string command) {
  STARTUPINFOA startup{};
  startup.cb = sizeof(startup);
  PROCESS_INFORMATION process{};
  ASSERT_TRUE(CreateProcessA(nullptr, command.data(), nullptr, nullptr, FALSE,
                             0, nullptr, nullptr, &startup, &process))
      << command << ": " << GetLastError();
  CloseHandle(process.hProcess);
  CloseHandle(process.hThread);
}

// Waits up to a minute for `done`.
template <typename Done>
bool WaitFor(Done done) {
  for (int waited_ms = 0; waited_ms < 60000; waited_ms += 10) {
    if (done()) return true;
    Sleep(10);
  }
  return done();
}

// Truncates the file at the Windows path `path` to `size` bytes with the
// Linux truncate(1).
void TruncateFromLinux(const std::string& path, uint64_t size) {
  const std::string command = "Z:\\usr\\bin\\truncate -s " +
                              std::to_string(size) + " " + UnixPath(path);
  ASSERT_NO_FATAL_FAILURE(StartLinux(command));
  ASSERT_TRUE(WaitFor([&] { return fs::file_size(path) == size; })) << command;
}

// The FUSE filesystem of the Linux fault tests (tests/fuse_eio_fs), mounted
// by its Linux binary where Wine sees it: one file, path(), of `size`
// pattern bytes whose `bad_pages` fail with EIO. path() is empty when it
// cannot be mounted here; skip_reason() then says why.
class WineEioFilesystem {
 public:
  WineEioFilesystem(uint64_t size, const std::vector<uint64_t>& bad_pages) {
    const fs::path mount_point = mmapio::testing::TestDirectory() / "fuse";
    fs::create_directories(mount_point);
    mount_point_ = UnixPath(mount_point.string());
    std::string command = (fs::path(std::getenv("TEST_SRCDIR")) / "mmapio" /
                           "tests" / "fuse_eio_fs")
                              .string() +
                          " " + mount_point_ + " " + std::to_string(size);
    for (uint64_t page : bad_pages) command += " " + std::to_string(page);
    StartLinux(command);
    const fs::path file = mount_point / "data";
    std::error_code error;
    if (WaitFor([&] { return fs::file_size(file, error) == size; })) {
      path_ = file.string();
    } else {
      skip_reason_ =
          "the FUSE filesystem did not come up (is fuse3 "
          "installed and mounting allowed?)";
    }
  }
  ~WineEioFilesystem() {
    // Unmounting ends the filesystem's process.
    StartLinux("Z:\\usr\\bin\\fusermount3 -u -z " + mount_point_);
    std::error_code error;
    WaitFor([&] { return !fs::exists(fs::path(path_), error); });
  }
  WineEioFilesystem(const WineEioFilesystem&) = delete;
  WineEioFilesystem& operator=(const WineEioFilesystem&) = delete;

  const std::string& path() const { return path_; }
  const std::string& skip_reason() const { return skip_reason_; }

 private:
  std::string mount_point_;
  std::string path_;
  std::string skip_reason_;
};

TEST_F(GuardedWindowsTest, ReadPastTheEndOfATruncatedFileIsOutOfRange) {
  if (!UnderWine()) {
    GTEST_SKIP() << "Windows cannot truncate a mapped file";
  }
  ASSERT_NO_FATAL_FAILURE(TruncateFromLinux(region_->path(), 5 * kPage));
  absl::StatusOr<uint8_t> loaded = GuardedLoad<uint8_t>(*region_, 10 * kPage);
  EXPECT_THAT(loaded,
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("truncated")));
  const std::optional<FaultInfo> fault = GetFaultInfo(loaded.status());
  ASSERT_TRUE(fault.has_value());
  EXPECT_EQ(fault->file_offset, 10 * kPage);
  std::array<std::byte, 2 * kPage> copy;
  const CopyResult copied =
      GuardedCopy(*region_, 4 * kPage, absl::MakeSpan(copy));
  EXPECT_THAT(copied.status, StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(copied.bytes_copied, kPage);
  const CopyResult read = GuardedRead(*region_, 4 * kPage, absl::MakeSpan(copy),
                                      ExpectedResidency::kMissing);
  EXPECT_THAT(read.status,
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("ReadFile at file offset 20480: the file "
                                 "ends there now")));
  EXPECT_EQ(read.bytes_copied, kPage);
  // What the file still has reads.
  EXPECT_EQ(*GuardedLoad<uint8_t>(*region_, 4 * kPage), 4);
}

TEST(GuardedWineTest, ReadOfAPageTheDiskCannotReadIsDataLoss) {
  if (!UnderWine()) {
    GTEST_SKIP() << "the FUSE filesystem runs under Wine only";
  }
  ASSERT_THAT(InstallFaultHandler(), IsOk());
  constexpr uint64_t kEioPage = 5;
  WineEioFilesystem eio(16 * kPage, {kEioPage});
  if (eio.path().empty()) GTEST_SKIP() << eio.skip_reason();
  absl::StatusOr<Region> region = Region::Open(eio.path());
  ASSERT_THAT(region, IsOk());
  // Good pages on either side read.
  for (const uint64_t page : {kEioPage - 1, kEioPage + 1}) {
    absl::StatusOr<uint8_t> loaded =
        GuardedLoad<uint8_t>(*region, page * kPage + 3);
    ASSERT_THAT(loaded, IsOk());
    EXPECT_EQ(*loaded, static_cast<uint8_t>(
                           mmapio::testing::PatternByte(page * kPage + 3)));
  }
  absl::StatusOr<uint8_t> bad =
      GuardedLoad<uint8_t>(*region, kEioPage * kPage + 100);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kDataLoss));
  const std::optional<FaultInfo> fault = GetFaultInfo(bad.status());
  ASSERT_TRUE(fault.has_value());
  EXPECT_EQ(fault->file_offset / kPage, kEioPage);
  // A copy across the bad page stops at its first byte.
  std::array<std::byte, 3 * kPage> copy;
  const CopyResult copied =
      GuardedCopy(*region, (kEioPage - 1) * kPage, absl::MakeSpan(copy));
  EXPECT_THAT(copied.status, StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(copied.bytes_copied, kPage);
  // So does a read of the file.
  const CopyResult read =
      GuardedRead(*region, (kEioPage - 1) * kPage, absl::MakeSpan(copy),
                  ExpectedResidency::kMissing);
  EXPECT_THAT(read.status, StatusIs(absl::StatusCode::kDataLoss,
                                    HasSubstr("ReadFile at file offset")));
  EXPECT_EQ(read.bytes_copied, kPage);
  ASSERT_TRUE(GetFaultInfo(read.status).has_value());
  EXPECT_EQ(GetFaultInfo(read.status)->file_offset, kEioPage * kPage);
}

using GuardedWindowsDeathTest = GuardedWindowsTest;

// How a process ends that died of an access violation nobody handled.
const auto kDiedOfTheFault =
    ::testing::ExitedWithCode(static_cast<int>(EXCEPTION_ACCESS_VIOLATION));

TEST_F(GuardedWindowsDeathTest, UnguardedReadOfTheSamePageDies) {
  Protect(*region_, kBadPage, PAGE_NOACCESS);
  EXPECT_EXIT(
      {
        const auto* page = reinterpret_cast<const volatile uint8_t*>(
            region_->bytes().data() + kBadPage * kPage);
        (void)*page;
        std::exit(0);
      },
      kDiedOfTheFault, "");
}

TEST_F(GuardedWindowsDeathTest, FaultInTheCallersBufferOfACopyDies) {
  // The destination is the caller's memory, not the mapping the copy
  // guards: its fault is not the copy's.
  void* buffer =
      VirtualAlloc(nullptr, kPage, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS);
  ASSERT_NE(buffer, nullptr);
  EXPECT_EXIT(
      {
        const CopyResult copied =
            GuardedCopy(*region_, 0,
                        absl::MakeSpan(static_cast<std::byte*>(buffer), kPage));
        (void)copied;
        std::exit(0);
      },
      kDiedOfTheFault, "");
  VirtualFree(buffer, 0, MEM_RELEASE);
}

TEST_F(GuardedWindowsDeathTest, FaultOutsideTheVisitedRangeDies) {
  Protect(*region_, kBadPage, PAGE_NOACCESS);
  EXPECT_EXIT(
      {
        // Visits page 0 only, and touches the bad page besides.
        const absl::Status status = GuardedVisit(
            *region_, {0, kPage}, [this](absl::Span<const std::byte>) {
              (void)*reinterpret_cast<const volatile uint8_t*>(
                  region_->bytes().data() + kBadPage * kPage);
            });
        (void)status;
        std::exit(0);
      },
      kDiedOfTheFault, "");
}

TEST_F(GuardedWindowsDeathTest, WriteToAReadOnlyViewInAVisitDies) {
  // The visit's own bug, not a page the file could not provide.
  EXPECT_EXIT(
      {
        const absl::Status status = GuardedVisit(
            *region_, {0, kPage}, [](absl::Span<const std::byte> bytes) {
              *const_cast<volatile std::byte*>(&bytes[0]) = std::byte{1};
            });
        (void)status;
        std::exit(0);
      },
      kDiedOfTheFault, "");
}

}  // namespace
}  // namespace mmapio
