// Residency on Windows: the working set of this process, from
// QueryWorkingSetEx, reported as such.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"
#include "tests/status_matchers.h"
#include "tests/test_directory.h"

namespace mmapio {
namespace {

using ::mmapio::testing::IsOk;
using ::testing::Ge;

namespace fs = std::filesystem;

constexpr uint64_t kPage = 4096;

std::string MakeFile(size_t pages) {
  const fs::path dir = mmapio::testing::TestDirectory();
  const std::string path = (dir / "f").string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << std::string(pages * kPage, 'm');
  return path;
}

// Reads one byte of each page of [first, first + count).
uint64_t Touch(const Region& region, uint64_t first, uint64_t count) {
  uint64_t sum = 0;
  for (uint64_t page = first; page < first + count; ++page) {
    sum +=
        static_cast<uint64_t>(*reinterpret_cast<const volatile unsigned char*>(
            region.bytes().data() + page * kPage));
  }
  return sum;
}

TEST(ResidencyWindowsTest, TouchedPagesAreInTheWorkingSet) {
  absl::StatusOr<Region> region = Region::Open(MakeFile(64));
  ASSERT_THAT(region, IsOk());
  EXPECT_EQ(Touch(*region, 0, 16), 16u * 'm');
  absl::StatusOr<ResidencySummary> summary = SummarizeResidency(*region);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->source, ResidencySource::kWorkingSet);
  EXPECT_EQ(ResidencySourceName(summary->source), "working_set");
  EXPECT_EQ(summary->pages, 64u);
  EXPECT_THAT(summary->resident_pages, Ge(16u));
  // cachestat's counters have no Windows meaning: left unknown.
  EXPECT_FALSE(summary->dirty_pages.has_value());
  EXPECT_FALSE(summary->evicted_pages.has_value());

  absl::StatusOr<uint64_t> prefix = ResidentPrefix(*region, {0, 64 * kPage});
  ASSERT_THAT(prefix, IsOk());
  EXPECT_THAT(*prefix, Ge(16 * kPage));

  absl::StatusOr<ResidencyMap> map = ResidencyMap::Capture(*region);
  ASSERT_THAT(map, IsOk());
  ASSERT_EQ(map->page_count(), 64u);
  for (uint64_t page = 0; page < 16; ++page) {
    EXPECT_TRUE(map->IsResident(page)) << page;
  }
  uint64_t covered = 0;
  ASSERT_THAT(
      ForEachRun(*region, {0, 64 * kPage},
                 [&covered](const PageRun& run) { covered += run.length; }),
      IsOk());
  EXPECT_EQ(covered, 64 * kPage);
}

TEST(ResidencyWindowsTest, SummarizeFileSaysWhereItsNumberComesFrom) {
  absl::StatusOr<FileResidency> file = SummarizeFile(MakeFile(8));
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(file->file_size, 8 * kPage);
  EXPECT_EQ(file->summary.pages, 8u);
  EXPECT_EQ(file->summary.source, ResidencySource::kWorkingSet);
}

}  // namespace
}  // namespace mmapio
