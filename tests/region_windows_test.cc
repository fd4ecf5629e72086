// What Region does on Windows and not on Linux: the requests Windows cannot
// carry out are Unimplemented, saying so, never a silent success.

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

std::string MakeFile(const std::string& name, size_t size) {
  const fs::path dir = mmapio::testing::TestDirectory();
  const std::string path = (dir / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (size_t i = 0; i < size; ++i) out.put(static_cast<char>(i));
  return path;
}

TEST(RegionWindowsTest, AdviceWindowsHasNotIsUnimplemented) {
  absl::StatusOr<Region> region = Region::Open(MakeFile("f", 100000));
  ASSERT_THAT(region, IsOk());
  for (const Advice advice : {Advice::kSequential, Advice::kRandom,
                              Advice::kDontNeed, Advice::kHugePage}) {
    EXPECT_THAT(
        region->Advise(advice),
        StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("Windows cannot")))
        << static_cast<int>(advice);
  }
  // Refused advice is not remembered as given.
  EXPECT_EQ(region->advice(), Advice::kNormal);
}

TEST(RegionWindowsTest, EvictIsUnimplemented) {
  absl::StatusOr<Region> region = Region::Open(MakeFile("f", 100000));
  ASSERT_THAT(region, IsOk());
  EXPECT_THAT(region->Evict(), StatusIs(absl::StatusCode::kUnimplemented,
                                        HasSubstr("Windows cannot")));
}

TEST(RegionWindowsTest, CopyOnWriteViewIsNotResized) {
  const std::string path = MakeFile("f", 10000);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kCopyOnWrite});
  ASSERT_THAT(region, IsOk());
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << std::string(200000, 'x');
  }
  EXPECT_THAT(region->Refresh(), StatusIs(absl::StatusCode::kUnimplemented,
                                          HasSubstr("copy-on-write")));
  // The region is as it was.
  EXPECT_EQ(region->size(), 10000u);
  EXPECT_EQ(region->bytes()[9999], std::byte{9999 % 256});
}

TEST(RegionWindowsTest, PagesAreFourKibAndViewsStartAt64Kib) {
  absl::StatusOr<Region> region =
      Region::Open(MakeFile("f", 200000), {.range = {70000, 10}});
  ASSERT_THAT(region, IsOk());
  EXPECT_EQ(region->page_size(), 4096u);
  EXPECT_EQ(region->bytes()[0], std::byte{70000 % 256});
}

}  // namespace
}  // namespace mmapio
