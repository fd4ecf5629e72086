#include "mmapio/prefetch.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/fault_info.h"
#include "mmapio/region.h"
#include "tests/status_matchers.h"
#include "tests/test_util.h"

namespace mmapio {
namespace {

using ::mmapio::testing::IsOk;
using ::testing::HasSubstr;

constexpr uint64_t kPage = 4096;

std::unique_ptr<PrefetchEngine> MakeEngine(PrefetchBackend backend,
                                           PrefetchOptions options = {}) {
  options.backend = backend;
  return testing::OrFail(PrefetchEngine::Create(options));
}

class BackendTest : public ::testing::TestWithParam<PrefetchBackend> {
 protected:
  // A cold pattern file of `pages` pages.
  std::string ColdFile(uint64_t pages, const std::string& name = "data") {
    const std::string path = absl::StrCat(dir_, "/", name);
    testing::WritePatternFile(path, pages * kPage);
    (void)testing::MakeResident(path, {});
    return path;
  }

  // Whether the backend promises residency on completion.
  bool Waits() const { return GetParam() != PrefetchBackend::kMadvise; }

  const std::string dir_ = testing::MakeTempDir();
};

TEST_P(BackendTest, PrefetchMakesTheRangeResident) {
  const std::string path = ColdFile(1024);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine =
      MakeEngine(GetParam(), {.chunk_bytes = 64 * kPage});
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->backend(), GetParam());
  ASSERT_THAT(engine->PrefetchAndWait(
                  *region, {.offset = 100 * kPage + 10, .length = 300 * kPage}),
              IsOk());
  if (Waits()) {
    const std::vector<bool> pages = testing::MincorePages(path);
    for (uint64_t page = 100; page <= 400; ++page)
      ASSERT_TRUE(pages[page]) << page;
  }
  const PrefetchStats stats = engine->stats();
  EXPECT_EQ(stats.requests, 1u);
  EXPECT_EQ(stats.bytes_requested, 301 * kPage);
  EXPECT_EQ(stats.bytes_completed, 301 * kPage);
  EXPECT_EQ(stats.errors, 0u);
  EXPECT_THAT(stats.ToString(), HasSubstr("requests=1"));
}

TEST_P(BackendTest, ResidentRangeCompletesAtOnce) {
  if (!Waits()) GTEST_SKIP() << "madvise completes every request at once";
  const std::string path = ColdFile(64);
  testing::PinnedPages pinned = testing::MakeResident(path, {{0, 64}});
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine = MakeEngine(GetParam());
  ASSERT_NE(engine, nullptr);
  std::thread::id ran_on;
  engine->Prefetch(*region, {.offset = kPage, .length = 8 * kPage},
                   [&ran_on](absl::Status status) {
                     EXPECT_THAT(status, IsOk());
                     ran_on = std::this_thread::get_id();
                   });
  // No round trip through the backend: done on this thread, before return.
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(engine->stats().bytes_completed, 8 * kPage);
}

TEST_P(BackendTest, ManyRequestsInFlightEachCompleteOnce) {
  const std::string path = ColdFile(4096);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  std::atomic<int> calls{0};
  std::atomic<int> failures{0};
  {
    // Small budget: requests wait for room; the destructor waits for all.
    std::unique_ptr<PrefetchEngine> engine = MakeEngine(
        GetParam(), {.max_bytes_in_flight = 64 * kPage, .threads = 2});
    ASSERT_NE(engine, nullptr);
    for (uint64_t page = 0; page < 4096; page += 16) {
      engine->Prefetch(*region, {.offset = page * kPage, .length = 16 * kPage},
                       [&](absl::Status status) {
                         ++calls;
                         if (!status.ok()) ++failures;
                       });
    }
  }
  EXPECT_EQ(calls.load(), 256);
  EXPECT_EQ(failures.load(), 0);
  if (Waits()) {
    EXPECT_EQ(testing::MincoreResidentPages(path), 4096u);
  }
}

TEST_P(BackendTest, RangesOutsideAndEmptyRegions) {
  const std::string path = ColdFile(16);
  absl::StatusOr<Region> region =
      Region::Open(path, {.range = {.offset = 100, .length = 5000}});
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine = MakeEngine(GetParam());
  ASSERT_NE(engine, nullptr);
  absl::Status past =
      engine->PrefetchAndWait(*region, {.offset = 4000, .length = 2000});
  EXPECT_EQ(past.code(), absl::StatusCode::kOutOfRange) << past;
  EXPECT_THAT(past.message(),
              HasSubstr("Prefetch \"" + path + "\" [4100, 6100)"));
  // Never past the end of the region: its last page is page 1 of the file.
  ASSERT_THAT(engine->PrefetchAndWait(*region, ByteRange::All()), IsOk());
  if (Waits()) {
    const std::vector<bool> pages = testing::MincorePages(path);
    EXPECT_TRUE(pages[0] && pages[1]);
  }
  const std::string empty = dir_ + "/empty";
  testing::WritePatternFile(empty, 0);
  absl::StatusOr<Region> nothing = Region::Open(empty);
  ASSERT_THAT(nothing, IsOk());
  EXPECT_THAT(engine->PrefetchAndWait(*nothing, ByteRange::All()), IsOk());
  EXPECT_EQ(engine->stats().errors, 1u);
}

TEST_P(BackendTest, DeviceErrorsArriveAsDataLoss) {
  if (!Waits()) GTEST_SKIP() << "madvise reports no completion, so no error";
  testing::ScopedEioFilesystem fs(64 * kPage, {20});
  if (fs.path().empty()) GTEST_SKIP() << fs.skip_reason();
  absl::StatusOr<Region> region = Region::Open(fs.path());
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine =
      MakeEngine(GetParam(), {.chunk_bytes = 4 * kPage});
  ASSERT_NE(engine, nullptr);
  absl::Status bad = engine->PrefetchAndWait(
      *region, {.offset = 16 * kPage, .length = 8 * kPage});
  EXPECT_EQ(bad.code(), absl::StatusCode::kDataLoss) << bad;
  EXPECT_THAT(bad.message(),
              HasSubstr("Prefetch \"" + fs.path() + "\" [81920, 98304)"));
  EXPECT_THAT(bad.message(), HasSubstr("at file offset 81920: "));
  std::optional<FaultInfo> fault = GetFaultInfo(bad);
  ASSERT_TRUE(fault.has_value()) << bad;
  EXPECT_EQ(fault->file_offset, 20 * kPage);
  EXPECT_THAT(
      engine->PrefetchAndWait(*region, {.offset = 0, .length = 16 * kPage}),
      IsOk());
  EXPECT_EQ(engine->stats().errors, 1u);
}

TEST_P(BackendTest, TruncationArrivesAsOutOfRange) {
  if (!Waits()) GTEST_SKIP() << "madvise reports no completion, so no error";
  const std::string path = ColdFile(1024);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  ASSERT_EQ(truncate(path.c_str(), 16 * kPage), 0);
  std::unique_ptr<PrefetchEngine> engine =
      MakeEngine(GetParam(), {.chunk_bytes = 4 * kPage});
  ASSERT_NE(engine, nullptr);
  // Chunks inside the file and past its end; a range of more than 2 MiB
  // too, which the workers backend reads by faulting, without advice.
  for (const ByteRange range :
       {ByteRange{12 * kPage, 8 * kPage}, ByteRange{8 * kPage, 1000 * kPage}}) {
    absl::Status gone = engine->PrefetchAndWait(*region, range);
    EXPECT_EQ(gone.code(), absl::StatusCode::kOutOfRange) << gone;
    EXPECT_THAT(gone.message(), HasSubstr("at file offset 65536: "));
    EXPECT_THAT(gone.message(), HasSubstr("65536 bytes now"));
    EXPECT_THAT(gone.message(), HasSubstr("truncated underneath"));
  }
  EXPECT_THAT(
      engine->PrefetchAndWait(*region, {.offset = 0, .length = 16 * kPage}),
      IsOk());
}

INSTANTIATE_TEST_SUITE_P(
    AllBackends, BackendTest,
    ::testing::Values(PrefetchBackend::kIoUring, PrefetchBackend::kWorkers,
                      PrefetchBackend::kMadvise),
    [](const ::testing::TestParamInfo<PrefetchBackend>& info) {
      std::string name(PrefetchBackendName(info.param));
      name.erase(std::remove(name.begin(), name.end(), '_'), name.end());
      return name;
    });

TEST(EngineTest, ARingThatCannotBeSetUpIsAnError) {
  // More entries than the kernel allows: io_uring_setup itself fails.
  absl::StatusOr<std::unique_ptr<PrefetchEngine>> forced =
      PrefetchEngine::Create(
          {.backend = PrefetchBackend::kIoUring, .ring_entries = 1u << 20});
  EXPECT_EQ(forced.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(forced.status().message(), HasSubstr("io_uring_setup"));
  // The default backend needs no ring.
  absl::StatusOr<std::unique_ptr<PrefetchEngine>> automatic =
      PrefetchEngine::Create({.ring_entries = 1u << 20});
  ASSERT_THAT(automatic, IsOk());
  EXPECT_EQ((*automatic)->backend(), PrefetchBackend::kWorkers);
}

TEST(EngineTest, EnvironmentChoosesTheBackend) {
  ASSERT_EQ(setenv("MMAPIO_PREFETCH_BACKEND", "madvise", 1), 0);
  absl::StatusOr<std::unique_ptr<PrefetchEngine>> engine =
      PrefetchEngine::Create();
  ASSERT_EQ(setenv("MMAPIO_PREFETCH_BACKEND", "floppy", 1), 0);
  absl::StatusOr<std::unique_ptr<PrefetchEngine>> bad =
      PrefetchEngine::Create();
  unsetenv("MMAPIO_PREFETCH_BACKEND");
  ASSERT_THAT(engine, IsOk());
  EXPECT_EQ((*engine)->backend(), PrefetchBackend::kMadvise);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::unique_ptr<PrefetchEngine>> best =
      PrefetchEngine::Create();
  ASSERT_THAT(best, IsOk());
  EXPECT_EQ((*best)->backend(), PrefetchBackend::kWorkers);
}

}  // namespace
}  // namespace mmapio
