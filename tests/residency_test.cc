#include "mmapio/residency.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/region.h"
#include "tests/status_matchers.h"
#include "tests/test_util.h"

namespace mmapio {

void PrintTo(const PageRun& run, std::ostream* out) {
  *out << (run.resident ? "resident [" : "missing [") << run.offset << ", "
       << run.offset + run.length << ")";
}

namespace {

using ::mmapio::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kPage = 4096;

class ResidencyTest : public ::testing::Test {
 protected:
  // A 256-page file with pages [16, 48), [100, 101) and [200, 256) resident,
  // read one page at a time so each sits in its own folio.
  std::string MakePartiallyResidentFile() {
    const std::string path = dir_ + "/partial";
    testing::WritePatternFile(path, 256 * kPage);
    pinned_ = testing::MakeResident(path, {{16, 48}, {100, 101}, {200, 256}});
    return path;
  }

  const std::string dir_ = testing::MakeTempDir();
  // Keeps those pages resident while the test counts them.
  testing::PinnedPages pinned_;
};

TEST_F(ResidencyTest, SummaryMatchesMincore) {
  const std::string path = MakePartiallyResidentFile();
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  absl::StatusOr<ResidencySummary> summary = SummarizeResidency(*region);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->pages, 256u);
  EXPECT_EQ(summary->resident_pages, testing::MincoreResidentPages(path));
  EXPECT_EQ(summary->resident_pages, 32u + 1 + 56);
  EXPECT_EQ(summary->source, ResidencySource::kCachestat);
  EXPECT_EQ(summary->dirty_pages, 0u);
  EXPECT_TRUE(summary->evicted_pages.has_value());
  EXPECT_TRUE(summary->recently_evicted_pages.has_value());

  absl::StatusOr<ResidencySummary> part = SummarizeResidency(
      *region, {.offset = 10 * kPage + 5, .length = 10 * kPage});
  ASSERT_THAT(part, IsOk());
  EXPECT_EQ(part->pages, 11u);          // Pages 10..20.
  EXPECT_EQ(part->resident_pages, 5u);  // Pages 16..20.
}

TEST_F(ResidencyTest, MapRunsAndPrefixAreExact) {
  const std::string path = MakePartiallyResidentFile();
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  absl::StatusOr<ResidencyMap> map = ResidencyMap::Capture(*region);
  ASSERT_THAT(map, IsOk());
  EXPECT_EQ(map->page_count(), 256u);
  EXPECT_EQ(map->resident_pages(), 89u);
  const std::vector<bool> truth = testing::MincorePages(path);
  for (uint64_t i = 0; i < 256; ++i)
    EXPECT_EQ(map->IsResident(i), truth[i]) << i;

  const std::vector<PageRun> expected = {
      {0, 16 * kPage, false},           {16 * kPage, 32 * kPage, true},
      {48 * kPage, 52 * kPage, false},  {100 * kPage, kPage, true},
      {101 * kPage, 99 * kPage, false}, {200 * kPage, 56 * kPage, true}};
  EXPECT_EQ(map->Runs(), expected);
  std::vector<PageRun> streamed;
  ASSERT_THAT(ForEachRun(*region, ByteRange::All(),
                         [&](const PageRun& run) { streamed.push_back(run); }),
              IsOk());
  EXPECT_EQ(streamed, expected);

  EXPECT_EQ(map->ResidentPrefix(), 0u);
  EXPECT_EQ(*ResidentPrefix(*region, ByteRange::All()), 0u);
  EXPECT_EQ(*ResidentPrefix(*region,
                            {.offset = 20 * kPage + 7, .length = 100 * kPage}),
            28 * kPage - 7);
  EXPECT_EQ(*ResidentPrefix(*region, {.offset = 17 * kPage, .length = 10}),
            10u);
  EXPECT_EQ(*ResidentPrefix(*region, {.offset = 210 * kPage}), 46 * kPage);
}

TEST_F(ResidencyTest, UnalignedRegionRunsAreClippedToTheRange) {
  const std::string path = MakePartiallyResidentFile();
  // The region starts in the middle of page 15.
  absl::StatusOr<Region> region = Region::Open(
      path, {.range = {.offset = 15 * kPage + 100, .length = 40 * kPage}});
  ASSERT_THAT(region, IsOk());
  std::vector<PageRun> runs;
  ASSERT_THAT(ForEachRun(*region, ByteRange::All(),
                         [&](const PageRun& run) { runs.push_back(run); }),
              IsOk());
  EXPECT_THAT(runs,
              ElementsAre(PageRun{0, kPage - 100, false},
                          PageRun{kPage - 100, 32 * kPage, true},
                          PageRun{33 * kPage - 100, 7 * kPage + 100, false}));
  absl::StatusOr<ResidencyMap> map = ResidencyMap::Capture(*region);
  ASSERT_THAT(map, IsOk());
  EXPECT_EQ(map->page_count(), 41u);
  EXPECT_EQ(map->Runs(), runs);
  EXPECT_EQ(*ResidentPrefix(*region, {.offset = kPage}), 32 * kPage - 100);
}

TEST_F(ResidencyTest, CopyOnWriteCountsPrivatePagesWithMincore) {
  const std::string path = dir_ + "/cow";
  testing::WritePatternFile(path, 64 * kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kCopyOnWrite});
  ASSERT_THAT(region, IsOk());
  ASSERT_THAT(region->Evict(), IsOk());
  std::memset(region->MutableBytes()->data() + 3 * kPage, 1, 2 * kPage);
  absl::StatusOr<ResidencySummary> summary =
      SummarizeResidency(*region, {.offset = 3 * kPage, .length = 2 * kPage});
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->source, ResidencySource::kMincore);
  EXPECT_EQ(summary->resident_pages, 2u);
  EXPECT_FALSE(summary->dirty_pages.has_value());
}

TEST_F(ResidencyTest, DirtyPagesAreReportedUntilSynced) {
  const std::string path = dir_ + "/dirty";
  testing::WritePatternFile(path, 64 * kPage);
  absl::StatusOr<Region> region =
      Region::Open(path, {.mode = AccessMode::kReadWrite});
  ASSERT_THAT(region, IsOk());
  ASSERT_THAT(region->Sync(SyncMode::kSync), IsOk());
  ASSERT_EQ(fdatasync(region->fd()), 0);
  std::memset(region->MutableBytes()->data(), 7, 8 * kPage);
  absl::StatusOr<ResidencySummary> dirty = SummarizeResidency(*region);
  ASSERT_THAT(dirty, IsOk());
  EXPECT_GE(dirty->dirty_pages.value_or(0) + dirty->writeback_pages.value_or(0),
            8u);
  ASSERT_THAT(region->Sync(SyncMode::kSync), IsOk());
  absl::StatusOr<ResidencySummary> clean = SummarizeResidency(*region);
  ASSERT_THAT(clean, IsOk());
  EXPECT_EQ(clean->dirty_pages, 0u);
}

TEST_F(ResidencyTest, TerabyteSparseFileScansInBoundedMemory) {
  const std::string path = dir_ + "/sparse";
  constexpr uint64_t kTerabyte = uint64_t{1} << 40;
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(kTerabyte)), 0);
  const std::string page(kPage, 'x');
  constexpr uint64_t kWritten = uint64_t{500} << 30;
  ASSERT_EQ(pwrite(fd, page.data(), kPage, static_cast<off_t>(kWritten)),
            static_cast<ssize_t>(kPage));
  close(fd);
  absl::StatusOr<Region> region = Region::Open(path);
  if (region.status().code() == absl::StatusCode::kResourceExhausted) {
    // ThreadSanitizer's memory layout leaves no room for a 1 TiB mapping.
    GTEST_SKIP() << region.status();
  }
  ASSERT_THAT(region, IsOk());

  testing::ResetPeakRss();
  const int64_t rss_before = testing::ProcStatusKb("VmRSS");
  std::vector<PageRun> runs;
  ASSERT_THAT(ForEachRun(*region, ByteRange::All(),
                         [&](const PageRun& run) { runs.push_back(run); }),
              IsOk());
  const int64_t peak_growth_kb = testing::ProcStatusKb("VmHWM") - rss_before;
  EXPECT_LT(peak_growth_kb, 64 * 1024);
  EXPECT_THAT(runs, ElementsAre(PageRun{0, kWritten, false},
                                PageRun{kWritten, kPage, true},
                                PageRun{kWritten + kPage,
                                        kTerabyte - kWritten - kPage, false}));
  absl::StatusOr<ResidencySummary> summary = SummarizeResidency(*region);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->pages, kTerabyte / kPage);
  EXPECT_EQ(summary->resident_pages, 1u);
}

TEST_F(ResidencyTest, RangesOutsideTheRegionAreOutOfRange) {
  absl::StatusOr<Region> region = Region::Open(MakePartiallyResidentFile());
  ASSERT_THAT(region, IsOk());
  const ByteRange past{.offset = 200 * kPage, .length = 100 * kPage};
  absl::Status status = SummarizeResidency(*region, past).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(),
              HasSubstr("SummarizeResidency \"" + region->path()));
  EXPECT_EQ(ResidencyMap::Capture(*region, past).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ResidentPrefix(*region, past).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ForEachRun(*region, past, [](const PageRun&) {}).code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(ResidencyTest, EmptyRegionHasNoPages) {
  const std::string path = dir_ + "/empty";
  testing::WritePatternFile(path, 0);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  EXPECT_EQ(SummarizeResidency(*region)->pages, 0u);
  EXPECT_EQ(ResidencyMap::Capture(*region)->page_count(), 0u);
  EXPECT_EQ(*ResidentPrefix(*region, ByteRange::All()), 0u);
  int runs = 0;
  ASSERT_THAT(
      ForEachRun(*region, ByteRange::All(), [&](const PageRun&) { ++runs; }),
      IsOk());
  EXPECT_EQ(runs, 0);
}

// The kernel hides the page cache of files the caller cannot write: every
// function must say so instead of returning mincore's all-resident answer.
TEST_F(ResidencyTest, NoNumberWhereTheKernelWillNotTell) {
  const std::string path = MakePartiallyResidentFile();
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  // A child that is no longer root, holding the region root opened.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    int failures = 0;
    const auto expect_denied = [&failures](const absl::Status& status) {
      if (status.code() != absl::StatusCode::kPermissionDenied ||
          status.message().find("cannot write") == absl::string_view::npos) {
        ++failures;
      }
    };
    expect_denied(SummarizeResidency(*region).status());
    expect_denied(ResidencyMap::Capture(*region).status());
    expect_denied(ResidentPrefix(*region, ByteRange::All()).status());
    expect_denied(ForEachRun(*region, ByteRange::All(), [](const PageRun&) {}));
    _exit(failures);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "checks failed in the unprivileged child "
         "(10: could not drop root)";
}

}  // namespace
}  // namespace mmapio
