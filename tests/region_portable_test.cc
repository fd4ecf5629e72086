// Region through its public API on real files, made and checked with the
// C++ library only, so that the same cases run on Linux and, under Wine, on
// Windows. What differs between the two is in region_windows_test.cc and
// region_test.cc.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/region.h"
#include "tests/status_matchers.h"
#include "tests/test_directory.h"

namespace mmapio {
namespace {

using ::mmapio::testing::IsOk;
using ::mmapio::testing::StatusIs;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

class RegionPortableTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = mmapio::testing::TestDirectory(); }

  // A file of `size` bytes, byte i holding i * 7 + 3 (mod 256).
  std::string MakeFile(const std::string& name, size_t size) {
    std::vector<char> bytes(size);
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 7 + 3);
    return Write(name, bytes);
  }

  // Appends the pattern's bytes [from, to) to the file made by MakeFile
  // with `from` bytes. (Windows refuses to truncate a mapped file.)
  void Extend(const std::string& path, size_t from, size_t to) {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    for (size_t i = from; i < to; ++i) out.put(static_cast<char>(i * 7 + 3));
    out.close();
    EXPECT_TRUE(out.good()) << path;
  }

  std::string Write(const std::string& name, const std::vector<char>& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    EXPECT_TRUE(out.good()) << path;
    return path;
  }

  static std::vector<char> Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), {});
  }

  static void ExpectPattern(absl::Span<const std::byte> bytes,
                            uint64_t file_offset) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      ASSERT_EQ(static_cast<unsigned char>(bytes[i]),
                static_cast<unsigned char>((file_offset + i) * 7 + 3))
          << "file offset " << file_offset + i;
    }
  }

  fs::path dir_;
};

TEST_F(RegionPortableTest, ReadOnlyRegionShowsTheFile) {
  const std::string path = MakeFile("f", 3 * 65536 + 123);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  EXPECT_EQ(region->size(), 3 * 65536 + 123u);
  EXPECT_EQ(region->file_size(), 3 * 65536 + 123u);
  EXPECT_EQ(region->path(), path);
  EXPECT_EQ(region->mode(), AccessMode::kReadOnly);
  ExpectPattern(region->bytes(), 0);
  EXPECT_THAT(region->MutableBytes(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RegionPortableTest, AnyOffsetMaps) {
  const std::string path = MakeFile("f", 200000);
  // Neither page- nor 64 KiB-aligned, aligned to a page only, and past
  // the first 64 KiB.
  for (const uint64_t offset : {uint64_t{7}, uint64_t{4096}, uint64_t{4103},
                                uint64_t{65536}, uint64_t{70001}}) {
    absl::StatusOr<Region> region =
        Region::Open(path, {.range = {offset, 1000}});
    ASSERT_THAT(region, IsOk()) << offset;
    EXPECT_EQ(region->offset(), offset);
    EXPECT_EQ(region->size(), 1000u);
    ExpectPattern(region->bytes(), offset);
  }
  absl::StatusOr<Region> tail = Region::Open(path, {.range = {199999}});
  ASSERT_THAT(tail, IsOk());
  ASSERT_EQ(tail->size(), 1u);
  ExpectPattern(tail->bytes(), 199999);
}

TEST_F(RegionPortableTest, EmptyFileIsAnEmptyRegion) {
  const std::string path = Write("empty", {});
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  EXPECT_EQ(region->size(), 0u);
  EXPECT_TRUE(region->bytes().empty());
}

TEST_F(RegionPortableTest, ReadWriteStoresReachTheFile) {
  const std::string path = MakeFile("f", 10000);
  {
    absl::StatusOr<Region> region =
        Region::Open(path, {.mode = AccessMode::kReadWrite});
    ASSERT_THAT(region, IsOk());
    absl::StatusOr<absl::Span<std::byte>> bytes = region->MutableBytes();
    ASSERT_THAT(bytes, IsOk());
    (*bytes)[0] = std::byte{0xAB};
    (*bytes)[9999] = std::byte{0xCD};
    EXPECT_THAT(region->Sync(SyncMode::kSync), IsOk());
    EXPECT_THAT(region->Sync(SyncMode::kAsync, {0, 100}), IsOk());
  }
  const std::vector<char> file = Read(path);
  ASSERT_EQ(file.size(), 10000u);
  EXPECT_EQ(static_cast<unsigned char>(file[0]), 0xAB);
  EXPECT_EQ(static_cast<unsigned char>(file[9999]), 0xCD);
  EXPECT_EQ(static_cast<unsigned char>(file[1]), (1 * 7 + 3) & 0xFF);
}

TEST_F(RegionPortableTest, CopyOnWriteStoresStayInTheProcess) {
  const std::string path = MakeFile("f", 10000);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kCopyOnWrite});
  ASSERT_THAT(region, IsOk());
  absl::StatusOr<absl::Span<std::byte>> bytes = region->MutableBytes();
  ASSERT_THAT(bytes, IsOk());
  (*bytes)[5] = std::byte{0xEE};
  EXPECT_EQ(region->bytes()[5], std::byte{0xEE});
  EXPECT_EQ(static_cast<unsigned char>(Read(path)[5]), (5 * 7 + 3) & 0xFF);
}

TEST_F(RegionPortableTest, MissingFileIsNotFound) {
  const std::string path = (dir_ / "missing").string();
  absl::StatusOr<Region> region = Region::Open(path);
  EXPECT_THAT(region, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(region.status().message(), HasSubstr(path));
}

TEST_F(RegionPortableTest, DirectoryIsRefused) {
  EXPECT_THAT(
      Region::Open(dir_.string()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("directory")));
}

TEST_F(RegionPortableTest, RangePastTheEndIsOutOfRange) {
  const std::string path = MakeFile("f", 1000);
  EXPECT_THAT(Region::Open(path, {.range = {900, 200}}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr(path)));
  EXPECT_THAT(Region::Open(path, {.range = {1001}}),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_F(RegionPortableTest, RefreshFollowsAFileThatGrew) {
  const std::string path = MakeFile("f", 70000);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  Extend(path, 70000, 300000);
  ASSERT_THAT(region->Refresh(), IsOk());
  EXPECT_EQ(region->size(), 300000u);
  ExpectPattern(region->bytes(), 0);
}

TEST_F(RegionPortableTest, GrowExtendsTheFileAndTheRegion) {
  const std::string path = MakeFile("f", 5000);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kReadWrite});
  ASSERT_THAT(region, IsOk());
  ASSERT_THAT(region->Grow(200000), IsOk());
  EXPECT_EQ(region->size(), 200000u);
  EXPECT_EQ(fs::file_size(path), 200000u);
  ExpectPattern(region->bytes().subspan(0, 5000), 0);
  EXPECT_EQ(region->bytes()[199999], std::byte{0});
  absl::StatusOr<absl::Span<std::byte>> bytes = region->MutableBytes();
  ASSERT_THAT(bytes, IsOk());
  (*bytes)[150000] = std::byte{0x5A};
  ASSERT_THAT(region->Sync(SyncMode::kSync), IsOk());
  EXPECT_EQ(static_cast<unsigned char>(Read(path)[150000]), 0x5A);
  EXPECT_THAT(region->Grow(100), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RegionPortableTest, GrowNeedsAReadWriteRegion) {
  const std::string path = MakeFile("f", 5000);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  EXPECT_THAT(region->Grow(10000),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RegionPortableTest, LockAndUnlock) {
  const std::string path = MakeFile("f", 100000);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  EXPECT_THAT(region->Lock({0, 65536}, LockMode::kPopulate), IsOk());
  EXPECT_THAT(region->Unlock({0, 65536}), IsOk());
  // Unlocking what is not locked is no error, nor is a range only partly
  // locked.
  EXPECT_THAT(region->Unlock(), IsOk());
  EXPECT_THAT(region->Lock({8192, 8192}, LockMode::kPopulate), IsOk());
  EXPECT_THAT(region->Unlock(), IsOk());
}

TEST_F(RegionPortableTest, WillNeedIsTaken) {
  const std::string path = MakeFile("f", 100000);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  EXPECT_THAT(region->Advise(Advice::kWillNeed), IsOk());
  EXPECT_THAT(region->Advise(Advice::kNormal), IsOk());
  ExpectPattern(region->bytes(), 0);
}

TEST_F(RegionPortableTest, OperationsOutsideTheRegionAreOutOfRange) {
  const std::string path = MakeFile("f", 10000);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  EXPECT_THAT(region->Lock({9000, 2000}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("Lock")));
  EXPECT_THAT(region->Advise(Advice::kWillNeed, {10001, 1}),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST_F(RegionPortableTest, FromFdWorksOnItsOwnCopy) {
  const std::string path = MakeFile("f", 10000);
  absl::StatusOr<Region> adopted = absl::InternalError("not adopted");
  {
    absl::StatusOr<Region> opened = Region::Open(path);
    ASSERT_THAT(opened, IsOk());
    adopted = Region::FromFd(opened->fd());
  }  // Closes the first descriptor.
  ASSERT_THAT(adopted, IsOk());
  EXPECT_EQ(adopted->size(), 10000u);
  ExpectPattern(adopted->bytes(), 0);
}

}  // namespace
}  // namespace mmapio
