#include "mmapio/region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/residency.h"
#include "tests/status_matchers.h"
#include "tests/test_util.h"

namespace mmapio {
namespace {

using ::mmapio::testing::CountOpenFds;
using ::mmapio::testing::IsOk;
using ::mmapio::testing::MakeTempDir;
using ::mmapio::testing::Pattern;
using ::mmapio::testing::ReadFileRange;
using ::mmapio::testing::WritePatternFile;
using ::testing::HasSubstr;

constexpr uint64_t kPage = 4096;

std::string AsString(absl::Span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

class RegionTest : public ::testing::Test {
 protected:
  // A pattern file of `size` bytes in a fresh directory.
  std::string MakeFile(uint64_t size, const std::string& name = "data") {
    const std::string path = absl::StrCat(dir_, "/", name);
    WritePatternFile(path, size);
    return path;
  }

  uint64_t Resident(const Region& region, ByteRange range = ByteRange::All()) {
    absl::StatusOr<ResidencySummary> count = SummarizeResidency(region, range);
    EXPECT_THAT(count, IsOk());
    return count.ok() ? count->resident_pages : 0;
  }

  const std::string dir_ = MakeTempDir();
};

TEST_F(RegionTest, MapsWholeFileReadOnly) {
  const std::string path = MakeFile(3 * kPage + 123);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  EXPECT_EQ(region->size(), 3 * kPage + 123);
  EXPECT_EQ(region->file_size(), 3 * kPage + 123);
  EXPECT_EQ(region->offset(), 0u);
  EXPECT_EQ(region->path(), path);
  EXPECT_EQ(region->mode(), AccessMode::kReadOnly);
  EXPECT_EQ(region->page_size(), static_cast<size_t>(sysconf(_SC_PAGESIZE)));
  EXPECT_TRUE(region->follows_end_of_file());
  EXPECT_EQ(AsString(region->bytes()), Pattern(0, 3 * kPage + 123));
}

TEST_F(RegionTest, MapsUnalignedSubrange) {
  const std::string path = MakeFile(10 * kPage);
  absl::StatusOr<Region> region = Region::Open(
      path, {.range = {.offset = kPage + 1000, .length = 2 * kPage + 77}});
  ASSERT_THAT(region, IsOk());
  EXPECT_FALSE(region->follows_end_of_file());
  EXPECT_EQ(region->offset(), kPage + 1000);
  EXPECT_EQ(AsString(region->bytes()), Pattern(kPage + 1000, 2 * kPage + 77));
}

TEST_F(RegionTest, UnalignedOffsetToEndOfFile) {
  const std::string path = MakeFile(5 * kPage + 9);
  absl::StatusOr<Region> region =
      Region::Open(path, {.range = {.offset = 4097}});
  ASSERT_THAT(region, IsOk());
  EXPECT_EQ(AsString(region->bytes()), Pattern(4097, 5 * kPage + 9 - 4097));
}

TEST_F(RegionTest, EmptyFileIsAnEmptyRegionWithoutMapping) {
  const std::string path = MakeFile(0);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  EXPECT_EQ(region->size(), 0u);
  EXPECT_TRUE(region->bytes().empty());
  EXPECT_EQ(region->bytes().data(), nullptr);
  EXPECT_THAT(region->Advise(Advice::kWillNeed), IsOk());
  EXPECT_THAT(region->Lock(), IsOk());
  EXPECT_THAT(region->Unlock(), IsOk());
  EXPECT_THAT(region->Sync(SyncMode::kSync), IsOk());
  EXPECT_THAT(region->Evict(), IsOk());
  EXPECT_THAT(region->Refresh(), IsOk());
}

TEST_F(RegionTest, EmptyRangeAtEndOfFile) {
  const std::string path = MakeFile(kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.range = {.offset = kPage}});
  ASSERT_THAT(region, IsOk());
  EXPECT_EQ(region->size(), 0u);
  EXPECT_EQ(region->bytes().data(), nullptr);
}

TEST_F(RegionTest, FromFdWorksOnItsOwnDescriptor) {
  const std::string path = MakeFile(2 * kPage);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  absl::StatusOr<Region> region = Region::FromFd(fd);
  ASSERT_THAT(region, IsOk());
  EXPECT_NE(region->fd(), fd);
  EXPECT_EQ(region->path(), path);
  ASSERT_EQ(close(fd), 0);
  EXPECT_EQ(AsString(region->bytes()), Pattern(0, 2 * kPage));
  EXPECT_THAT(region->Refresh(), IsOk());
}

TEST_F(RegionTest, CallerKeepsDescriptorAfterRegionDies) {
  const std::string path = MakeFile(kPage);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  { ASSERT_THAT(Region::FromFd(fd), IsOk()); }
  EXPECT_NE(fcntl(fd, F_GETFD), -1);
  close(fd);
}

TEST_F(RegionTest, ReadWriteStoresReachTheFile) {
  const std::string path = MakeFile(2 * kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kReadWrite});
  ASSERT_THAT(region, IsOk());
  absl::StatusOr<absl::Span<std::byte>> bytes = region->MutableBytes();
  ASSERT_THAT(bytes, IsOk());
  std::memcpy(bytes->data() + 100, "hello", 5);
  ASSERT_THAT(region->Sync(SyncMode::kAsync), IsOk());
  ASSERT_THAT(region->Sync(SyncMode::kSync, {.offset = 0, .length = 200}),
              IsOk());
  EXPECT_EQ(ReadFileRange(path, 100, 5), "hello");
}

TEST_F(RegionTest, CopyOnWriteStoresStayPrivate) {
  const std::string path = MakeFile(2 * kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kCopyOnWrite});
  ASSERT_THAT(region, IsOk());
  absl::StatusOr<absl::Span<std::byte>> bytes = region->MutableBytes();
  ASSERT_THAT(bytes, IsOk());
  std::memcpy(bytes->data() + 100, "hello", 5);
  EXPECT_EQ(AsString(region->bytes().subspan(100, 5)), "hello");
  EXPECT_EQ(ReadFileRange(path, 100, 5), Pattern(100, 5));
  const absl::Status sync = region->Sync(SyncMode::kSync);
  EXPECT_EQ(sync.code(), absl::StatusCode::kFailedPrecondition) << sync;
}

TEST_F(RegionTest, ReadOnlyRegionRefusesMutableBytes) {
  absl::StatusOr<Region> region = Region::Open(MakeFile(kPage));
  ASSERT_THAT(region, IsOk());
  const absl::Status status = region->MutableBytes().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("MutableBytes"));
  EXPECT_THAT(region->Sync(SyncMode::kSync), IsOk());
}

TEST_F(RegionTest, MoveTransfersOwnership) {
  const std::string path = MakeFile(kPage);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  const std::byte* data = region->bytes().data();
  Region moved = *std::move(region);
  EXPECT_EQ(moved.bytes().data(), data);
  EXPECT_EQ(region->size(), 0u);
  EXPECT_EQ(region->fd(), -1);
  absl::StatusOr<Region> other = Region::Open(MakeFile(2 * kPage, "other"));
  ASSERT_THAT(other, IsOk());
  moved = *std::move(other);
  EXPECT_EQ(AsString(moved.bytes()), Pattern(0, 2 * kPage));
}

// --- Growth and shrinkage under an open region. ---

TEST_F(RegionTest, RefreshFollowsGrowthAndShrinkage) {
  const std::string path = MakeFile(2 * kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.range = {.offset = 100}});
  ASSERT_THAT(region, IsOk());

  WritePatternFile(path, 40 * kPage + 5);
  ASSERT_THAT(region->Refresh(), IsOk());
  EXPECT_EQ(region->file_size(), 40 * kPage + 5);
  EXPECT_EQ(region->size(), 40 * kPage + 5 - 100);
  EXPECT_EQ(AsString(region->bytes()), Pattern(100, 40 * kPage + 5 - 100));

  ASSERT_EQ(truncate(path.c_str(), 3 * kPage), 0);
  ASSERT_THAT(region->Refresh(), IsOk());
  EXPECT_EQ(region->size(), 3 * kPage - 100);
  EXPECT_EQ(AsString(region->bytes()), Pattern(100, 3 * kPage - 100));

  ASSERT_EQ(truncate(path.c_str(), 50), 0);
  ASSERT_THAT(region->Refresh(), IsOk());
  EXPECT_EQ(region->size(), 0u);
  EXPECT_EQ(region->bytes().data(), nullptr);

  WritePatternFile(path, kPage);
  ASSERT_THAT(region->Refresh(), IsOk());
  EXPECT_EQ(AsString(region->bytes()), Pattern(100, kPage - 100));
}

TEST_F(RegionTest, RefreshOfFixedRangeReportsShrinkagePastIt) {
  const std::string path = MakeFile(8 * kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.range = {.offset = kPage, .length = 4 * kPage}});
  ASSERT_THAT(region, IsOk());
  ASSERT_EQ(truncate(path.c_str(), 2 * kPage), 0);
  const absl::Status status = region->Refresh();
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange) << status;
  EXPECT_THAT(status.message(), HasSubstr("Refresh"));
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(status.message(), HasSubstr("[4096, 20480)"));
  EXPECT_EQ(region->size(), 4 * kPage);
  EXPECT_EQ(region->file_size(), 2 * kPage);

  WritePatternFile(path, 16 * kPage);
  ASSERT_THAT(region->Refresh(), IsOk());
  EXPECT_EQ(region->size(), 4 * kPage);
  EXPECT_EQ(AsString(region->bytes()), Pattern(kPage, 4 * kPage));
}

TEST_F(RegionTest, GrowReservesAndMapsTheNewBytes) {
  const std::string path = MakeFile(kPage + 10);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kReadWrite});
  ASSERT_THAT(region, IsOk());
  ASSERT_THAT(region->Grow(64 * kPage), IsOk());
  EXPECT_EQ(region->size(), 64 * kPage);
  EXPECT_EQ(region->file_size(), 64 * kPage);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 64 * kPage);
  // The blocks are reserved, not a hole.
  EXPECT_GE(static_cast<uint64_t>(st.st_blocks) * 512, 64 * kPage);

  absl::StatusOr<absl::Span<std::byte>> bytes = region->MutableBytes();
  ASSERT_THAT(bytes, IsOk());
  EXPECT_EQ(AsString(region->bytes().subspan(0, kPage + 10)),
            Pattern(0, kPage + 10));
  EXPECT_EQ(AsString(region->bytes().subspan(kPage + 10, 10)),
            std::string(10, '\0'));
  std::memcpy(bytes->data() + 63 * kPage, "tail", 4);
  ASSERT_THAT(region->Sync(SyncMode::kSync), IsOk());
  EXPECT_EQ(ReadFileRange(path, 63 * kPage, 4), "tail");
  EXPECT_THAT(region->Grow(64 * kPage), IsOk());
}

TEST_F(RegionTest, GrowOfFixedRangeKeepsTheRange) {
  const std::string path = MakeFile(4 * kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kReadWrite,
                          .range = {.offset = 0, .length = kPage}});
  ASSERT_THAT(region, IsOk());
  ASSERT_THAT(region->Grow(8 * kPage), IsOk());
  EXPECT_EQ(region->size(), kPage);
  EXPECT_EQ(region->file_size(), 8 * kPage);
}

TEST_F(RegionTest, GrowFailsNowWhenTheFilesystemIsFull) {
  testing::ScopedTmpfs tmpfs(64 * 1024);
  if (tmpfs.mount_point().empty()) GTEST_SKIP() << tmpfs.skip_reason();
  const std::string path = tmpfs.mount_point() + "/sparse";
  WritePatternFile(path, kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kReadWrite});
  ASSERT_THAT(region, IsOk());
  const absl::Status status = region->Grow(1 << 20);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(), HasSubstr("Grow"));
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(status.message(), HasSubstr("ENOSPC"));
  EXPECT_EQ(region->size(), kPage);
  EXPECT_EQ(AsString(region->bytes()), Pattern(0, kPage));
}

// --- Advice, locking, eviction. ---

TEST_F(RegionTest, EveryAdviceIsAccepted) {
  absl::StatusOr<Region> region = Region::Open(MakeFile(64 * kPage));
  ASSERT_THAT(region, IsOk());
  for (Advice advice : {Advice::kNormal, Advice::kSequential, Advice::kRandom,
                        Advice::kWillNeed, Advice::kDontNeed}) {
    EXPECT_THAT(region->Advise(advice), IsOk()) << AdviceName(advice);
    EXPECT_THAT(region->Advise(advice, {.offset = 5, .length = 3 * kPage}),
                IsOk());
  }
  // Transparent huge pages for file mappings depend on the kernel build.
  const absl::Status huge = region->Advise(Advice::kHugePage);
  EXPECT_TRUE(huge.ok() || huge.code() == absl::StatusCode::kUnimplemented)
      << huge;
  EXPECT_EQ(AsString(region->bytes()), Pattern(0, 64 * kPage));
}

TEST_F(RegionTest, LockPopulatesAndUnlockReleases) {
  absl::StatusOr<Region> region = Region::Open(MakeFile(256 * kPage));
  ASSERT_THAT(region, IsOk());
  ASSERT_THAT(region->Evict(), IsOk());
  const int64_t before = testing::ProcStatusKb("VmLck");
  ASSERT_THAT(region->Lock(ByteRange::All(), LockMode::kPopulate), IsOk());
  EXPECT_EQ(testing::ProcStatusKb("VmLck") - before, 1024);
  EXPECT_EQ(Resident(*region), 256u);
  ASSERT_THAT(region->Unlock(), IsOk());
  EXPECT_EQ(testing::ProcStatusKb("VmLck"), before);
}

TEST_F(RegionTest, LockOnFaultLocksWithoutReading) {
  absl::StatusOr<Region> region = Region::Open(MakeFile(256 * kPage));
  ASSERT_THAT(region, IsOk());
  ASSERT_THAT(region->Evict(), IsOk());
  const int64_t before = testing::ProcStatusKb("VmLck");
  ASSERT_THAT(region->Lock({.offset = 0, .length = 16 * kPage}), IsOk());
  // The kernel accounts the whole range as locked at once...
  EXPECT_EQ(testing::ProcStatusKb("VmLck") - before, 64);
  // ...but reads nothing until a page is touched.
  EXPECT_EQ(Resident(*region), 0u);
  EXPECT_EQ(static_cast<char>(region->bytes()[0]), testing::PatternByte(0));
  EXPECT_GE(Resident(*region), 1u);
  ASSERT_THAT(region->Unlock({.offset = 0, .length = 16 * kPage}), IsOk());
}

TEST_F(RegionTest, LockOverMemlockLimitNamesTheLimit) {
  absl::StatusOr<Region> region = Region::Open(MakeFile(256 * kPage));
  ASSERT_THAT(region, IsOk());
  testing::ScopedRlimit limit(RLIMIT_MEMLOCK, 64 * 1024);
  // Root's CAP_IPC_LOCK ignores the limit; the helper thread has no
  // capabilities.
  testing::RunWithoutCapabilities([&] {
    const absl::Status status =
        region->Lock(ByteRange::All(), LockMode::kPopulate);
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_THAT(status.message(), HasSubstr("RLIMIT_MEMLOCK"));
    EXPECT_THAT(status.message(), HasSubstr("65536"));
    EXPECT_THAT(status.message(), HasSubstr("Lock"));
    EXPECT_THAT(status.message(), HasSubstr(region->path()));
    const absl::Status on_fault = region->Lock();
    EXPECT_EQ(on_fault.code(), absl::StatusCode::kResourceExhausted)
        << on_fault;
    // Within the limit it works.
    EXPECT_THAT(region->Lock({.offset = 0, .length = 8 * kPage}), IsOk());
    EXPECT_THAT(region->Unlock(), IsOk());
  });
}

TEST_F(RegionTest, EvictDropsPagesFromThePageCache) {
  absl::StatusOr<Region> region = Region::Open(MakeFile(128 * kPage));
  ASSERT_THAT(region, IsOk());
  ASSERT_THAT(region->Evict(), IsOk());
  EXPECT_EQ(Resident(*region), 0u);
  // Without readahead each page is read alone, into a folio of one page, so
  // the kernel can drop exactly the pages asked for.
  ASSERT_THAT(region->Advise(Advice::kRandom), IsOk());
  for (uint64_t page = 0; page < 128; ++page) {
    EXPECT_EQ(static_cast<char>(region->bytes()[page * kPage]),
              testing::PatternByte(page * kPage));
  }
  EXPECT_EQ(Resident(*region), 128u);
  ASSERT_THAT(region->Evict({.offset = 0, .length = 64 * kPage}), IsOk());
  EXPECT_EQ(Resident(*region), 64u);
  EXPECT_EQ(Resident(*region, {.offset = 64 * kPage}), 64u);
  ASSERT_THAT(region->Evict(), IsOk());
  EXPECT_EQ(Resident(*region), 0u);
  EXPECT_EQ(AsString(region->bytes()), Pattern(0, 128 * kPage));
}

TEST_F(RegionTest, EvictOfReadWriteRegionLosesNoStore) {
  const std::string path = MakeFile(32 * kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kReadWrite});
  ASSERT_THAT(region, IsOk());
  std::memcpy(region->MutableBytes()->data() + 5 * kPage, "dirty", 5);
  ASSERT_THAT(region->Evict(), IsOk());
  EXPECT_EQ(Resident(*region), 0u);
  EXPECT_EQ(ReadFileRange(path, 5 * kPage, 5), "dirty");
  EXPECT_EQ(AsString(region->bytes().subspan(5 * kPage, 5)), "dirty");
}

TEST_F(RegionTest, EvictOfCopyOnWriteRegionKeepsPrivateCopies) {
  const std::string path = MakeFile(32 * kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kCopyOnWrite});
  ASSERT_THAT(region, IsOk());
  std::memcpy(region->MutableBytes()->data() + 5 * kPage, "mine", 4);
  ASSERT_THAT(region->Evict(), IsOk());
  EXPECT_EQ(AsString(region->bytes().subspan(5 * kPage, 4)), "mine");
  EXPECT_EQ(ReadFileRange(path, 5 * kPage, 4), Pattern(5 * kPage, 4));
}

// --- Bad input: a clear error, nothing lost, no descriptor leaked. ---

class BadInputTest : public RegionTest {
 protected:
  void SetUp() override { fds_before_ = CountOpenFds(); }
  void TearDown() override { EXPECT_EQ(CountOpenFds(), fds_before_); }

  // Expects Open to fail with `code` and a message naming the path.
  // Expects Open to fail with `code` and a message naming the operation and
  // the path; returns the message.
  std::string ExpectOpenFails(const std::string& path, absl::StatusCode code,
                              RegionOptions options = {}) {
    absl::StatusOr<Region> region = Region::Open(path, options);
    EXPECT_FALSE(region.ok());
    if (region.ok()) return "";
    EXPECT_EQ(region.status().code(), code) << region.status();
    EXPECT_THAT(region.status().message(), HasSubstr("Open \"" + path + "\""));
    return std::string(region.status().message());
  }

  int fds_before_ = 0;
};

TEST_F(BadInputTest, NonexistentPath) {
  std::string message =
      ExpectOpenFails(dir_ + "/missing", absl::StatusCode::kNotFound);
  EXPECT_THAT(message, HasSubstr("ENOENT"));
}

TEST_F(BadInputTest, NoPermission) {
  const std::string path = MakeFile(kPage);
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  testing::RunWithoutCapabilities([&] {
    std::string message =
        ExpectOpenFails(path, absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(message, HasSubstr("EACCES"));
  });
  ASSERT_EQ(chmod(path.c_str(), 0444), 0);
  testing::RunWithoutCapabilities([&] {
    ExpectOpenFails(path, absl::StatusCode::kPermissionDenied,
                    {.mode = AccessMode::kReadWrite});
    EXPECT_THAT(Region::Open(path), IsOk());
    EXPECT_THAT(Region::Open(path, {.mode = AccessMode::kCopyOnWrite}), IsOk());
  });
}

TEST_F(BadInputTest, Directory) {
  std::string message =
      ExpectOpenFails(dir_, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("is a directory"));
  ExpectOpenFails(dir_, absl::StatusCode::kInvalidArgument,
                  {.mode = AccessMode::kReadWrite});
}

TEST_F(BadInputTest, FifoIsRefusedWithoutBlocking) {
  const std::string path = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  std::string message =
      ExpectOpenFails(path, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("is a FIFO"));
}

TEST_F(BadInputTest, Socket) {
  // Socket paths are short (108 bytes); TEST_TMPDIR may be longer.
  char dir[] = "/tmp/mmapio-sock.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/s";
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  fds_before_ = CountOpenFds();
  std::string message =
      ExpectOpenFails(path, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("is a socket"));
  close(fd);
  unlink(path.c_str());
  rmdir(dir);
  fds_before_ = CountOpenFds();
}

TEST_F(BadInputTest, CharacterDevice) {
  std::string message =
      ExpectOpenFails("/dev/null", absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("is a character device"));
}

TEST_F(BadInputTest, ProcAndSysPseudoFiles) {
  std::string message =
      ExpectOpenFails("/proc/self/status", absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("procfs pseudo-file"));
  message = ExpectOpenFails("/sys/kernel/mm/transparent_hugepage/enabled",
                            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message, HasSubstr("sysfs pseudo-file"));
}

TEST_F(BadInputTest, RangePastEndOfFile) {
  const std::string path = MakeFile(4 * kPage);
  std::string message =
      ExpectOpenFails(path, absl::StatusCode::kOutOfRange,
                      {.range = {.offset = 3 * kPage, .length = 2 * kPage}});
  EXPECT_THAT(message, HasSubstr("[12288, 20480)"));
  EXPECT_THAT(message, HasSubstr("16384 bytes"));
  ExpectOpenFails(path, absl::StatusCode::kOutOfRange,
                  {.range = {.offset = 4 * kPage + 1}});
}

TEST_F(BadInputTest, OverflowingOffsets) {
  const std::string path = MakeFile(kPage);
  ExpectOpenFails(path, absl::StatusCode::kOutOfRange,
                  {.range = {.offset = ~0ull - 10, .length = 100}});
  ExpectOpenFails(path, absl::StatusCode::kOutOfRange,
                  {.range = {.offset = 1ull << 63}});
  std::string message =
      ExpectOpenFails(path, absl::StatusCode::kOutOfRange,
                      {.range = {.offset = 100, .length = (1ull << 63) - 50}});
  EXPECT_THAT(message, HasSubstr("overflows"));
}

TEST_F(BadInputTest, OperationRangesOutsideTheRegion) {
  absl::StatusOr<Region> region = Region::Open(MakeFile(4 * kPage));
  ASSERT_THAT(region, IsOk());
  const ByteRange past{.offset = 3 * kPage, .length = 2 * kPage};
  const ByteRange overflowing{.offset = 10, .length = ~0ull - 5};
  for (const ByteRange& range : {past, overflowing}) {
    EXPECT_EQ(region->Advise(Advice::kWillNeed, range).code(),
              absl::StatusCode::kOutOfRange);
    EXPECT_EQ(region->Lock(range).code(), absl::StatusCode::kOutOfRange);
    EXPECT_EQ(region->Unlock(range).code(), absl::StatusCode::kOutOfRange);
    EXPECT_EQ(region->Sync(SyncMode::kSync, range).code(),
              absl::StatusCode::kOutOfRange);
    EXPECT_EQ(region->Evict(range).code(), absl::StatusCode::kOutOfRange);
    EXPECT_EQ(SummarizeResidency(*region, range).status().code(),
              absl::StatusCode::kOutOfRange);
  }
  const absl::Status status = region->Evict(past);
  EXPECT_THAT(status.message(), HasSubstr("Evict \"" + region->path() + "\""));
  EXPECT_THAT(status.message(), HasSubstr("[12288, 20480)"));
}

TEST_F(BadInputTest, DescriptorWithWrongAccessMode) {
  const std::string path = MakeFile(kPage);
  const int read_only = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const int write_only = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  const int path_only = open(path.c_str(), O_PATH | O_CLOEXEC);
  fds_before_ = CountOpenFds();
  absl::Status status =
      Region::FromFd(read_only, {.mode = AccessMode::kReadWrite}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("FromFd \"" + path + "\""));
  EXPECT_THAT(status.message(), HasSubstr("O_RDWR"));
  status = Region::FromFd(write_only).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  status = Region::FromFd(path_only).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  status = Region::FromFd(-1).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(Region::FromFd(read_only, {.mode = AccessMode::kCopyOnWrite}),
              IsOk());
  const int directory = open(dir_.c_str(), O_RDONLY | O_CLOEXEC);
  status = Region::FromFd(directory).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("is a directory"));
  for (int fd : {read_only, write_only, path_only, directory}) close(fd);
  fds_before_ = CountOpenFds();
}

TEST_F(BadInputTest, GrowOnRegionsThatCannotGrow) {
  const std::string path = MakeFile(kPage);
  for (AccessMode mode : {AccessMode::kReadOnly, AccessMode::kCopyOnWrite}) {
    absl::StatusOr<Region> region = Region::Open(path, {.mode = mode});
    ASSERT_THAT(region, IsOk());
    const absl::Status status = region->Grow(2 * kPage);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_THAT(status.message(), HasSubstr(AccessModeName(mode)));
  }
  EXPECT_EQ(ReadFileRange(path, 0, 2 * kPage), Pattern(0, kPage));
}

TEST_F(BadInputTest, NegativeShrinkingAndAbsurdGrowth) {
  const std::string path = MakeFile(2 * kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kReadWrite});
  ASSERT_THAT(region, IsOk());
  const int64_t negative = -4096;
  absl::Status status = region->Grow(static_cast<uint64_t>(negative));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  status = region->Grow(kPage);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("never shrinks"));
  // Larger than any ext4/xfs/btrfs/tmpfs file may be.
  status = region->Grow(1ull << 62);
  EXPECT_NE(status.code(), absl::StatusCode::kOk);
  EXPECT_TRUE(status.code() == absl::StatusCode::kOutOfRange ||
              status.code() == absl::StatusCode::kResourceExhausted)
      << status;
  EXPECT_EQ(region->size(), 2 * kPage);
  EXPECT_EQ(ReadFileRange(path, 0, 4 * kPage), Pattern(0, 2 * kPage));
}

}  // namespace
}  // namespace mmapio
