#include "mmapio/prefetch_stream.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"
#include "tests/status_matchers.h"
#include "tests/test_util.h"

namespace {

// getrusage calls made by a thread while it counts them.
thread_local bool counting_getrusage = false;
std::atomic<int> getrusage_calls{0};

}  // namespace

// Takes the place of the C library's getrusage for the whole program, so
// that the tests can count the calls the stream makes.
extern "C" int getrusage(int who, struct rusage* usage) noexcept {
  if (counting_getrusage) getrusage_calls.fetch_add(1);
  return static_cast<int>(syscall(SYS_getrusage, who, usage));
}

namespace mmapio {
namespace {

using ::mmapio::testing::IsOk;

constexpr uint64_t kPage = 4096;

std::unique_ptr<PrefetchEngine> MakeEngine() {
  return testing::OrFail(PrefetchEngine::Create());
}

// Counts this thread's getrusage calls while it lives.
class GetrusageCounter {
 public:
  GetrusageCounter() {
    getrusage_calls = 0;
    counting_getrusage = true;
  }
  ~GetrusageCounter() { counting_getrusage = false; }
  int calls() const { return getrusage_calls.load(); }
};

int64_t MajorFaultsOfThisThread() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_majflt;
}

// The VmFlags of the mapping that holds `address`, from /proc/self/smaps
// ("rd mr mw me sr ..."); empty if none does.
std::string VmFlagsAt(const void* address) {
  FILE* smaps = fopen("/proc/self/smaps", "r");
  if (smaps == nullptr) return "";
  const auto at = reinterpret_cast<uintptr_t>(address);
  bool inside = false;
  std::string flags;
  char line[512];
  while (fgets(line, sizeof(line), smaps) != nullptr) {
    uintptr_t start = 0;
    uintptr_t end = 0;
    if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2 &&
        strchr(line, ' ') > strchr(line, '-')) {
      inside = start <= at && at < end;
    } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      flags = line + 8;
      break;
    }
  }
  fclose(smaps);
  return flags;
}

bool AdvisedSequential(const Region& region) {
  const std::vector<std::string> flags =
      absl::StrSplit(VmFlagsAt(region.bytes().data()), absl::ByAnyChar(" \n"),
                     absl::SkipEmpty());
  for (const std::string& flag : flags) {
    if (flag == "sr") return true;
  }
  return false;
}

class StreamTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& name, uint64_t pages) {
    const std::string path = absl::StrCat(dir_, "/", name);
    testing::WritePatternFile(path, pages * kPage);
    return path;
  }

  // A region over a cold pattern file of `pages` pages.
  absl::StatusOr<Region> ColdRegion(const std::string& name, uint64_t pages) {
    const std::string path = WriteFile(name, pages);
    (void)testing::MakeResident(path, {});
    return Region::Open(path);
  }

  // A region over a pattern file of `pages` pages, all resident and pinned
  // for as long as the test runs.
  absl::StatusOr<Region> ResidentRegion(const std::string& name,
                                        uint64_t pages) {
    const std::string path = WriteFile(name, pages);
    pinned_ = testing::MakeResident(path, {{0, pages}});
    return Region::Open(path);
  }

  const std::string dir_ = testing::MakeTempDir();
  testing::PinnedPages pinned_;
};

// Requests a call may make. The stream's limit is lower; any fixed bound
// shows that a call does not walk the window one read length at a time.
constexpr uint64_t kRequestsPerCallBound = 64;

// A consumer that reads one byte of each page, in order: sequential, and
// left to the kernel's readahead, not a stride per byte to the end of the
// window on every call.
TEST_F(StreamTest, OneByteOfEveryPageIsSequential) {
  absl::StatusOr<Region> region = ColdRegion("bytes", 16384);  // 64 MiB.
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  for (const bool announce_only : {false, true}) {
    PrefetchStream stream(*engine, *region);
    std::byte byte;
    for (uint64_t page = 0; page < 1024; ++page) {
      const uint64_t before = stream.stats().requests;
      if (announce_only) {
        stream.WillRead({.offset = page * kPage, .length = 1});
      } else {
        ASSERT_THAT(stream.Read(page * kPage, absl::MakeSpan(&byte, 1)).status,
                    IsOk());
        ASSERT_EQ(static_cast<char>(byte), testing::PatternByte(page * kPage));
      }
      ASSERT_LE(stream.stats().requests - before, kRequestsPerCallBound)
          << "page " << page;
    }
    stream.Drain();
    EXPECT_EQ(stream.pattern(), AccessPattern::kSequential);
    // The kernel reads ahead of a sequential consumer; nothing is asked of
    // the engine.
    EXPECT_EQ(stream.stats().requests, 0u);
  }
}

// Strides shorter than a page leave no page unread between two reads: the
// same scan as above, at other read sizes.
TEST_F(StreamTest, StridesShorterThanAPageAreSequential) {
  absl::StatusOr<Region> region = ColdRegion("short", 4096);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  struct Case {
    uint64_t stride;
    uint64_t length;
  };
  for (const Case& c : {Case{100, 1}, Case{1000, 64}, Case{3000, 100},
                        Case{kPage - 1, 1}, Case{kPage + 16, 64}}) {
    SCOPED_TRACE(absl::StrCat("stride ", c.stride, " length ", c.length));
    PrefetchStream stream(*engine, *region);
    std::vector<std::byte> buffer(c.length);
    for (uint64_t offset = 0; offset + c.length <= 2048 * kPage;
         offset += c.stride) {
      const uint64_t before = stream.stats().requests;
      ASSERT_THAT(stream.Read(offset, absl::MakeSpan(buffer)).status, IsOk());
      ASSERT_LE(stream.stats().requests - before, kRequestsPerCallBound)
          << "offset " << offset;
    }
    stream.Drain();
    EXPECT_EQ(stream.pattern(), AccessPattern::kSequential);
    EXPECT_EQ(stream.stats().requests, 0u);
  }
}

// A real stride, every 16th page: one page requested per stride ahead, a
// bounded number per call, and never a page twice.
TEST_F(StreamTest, PageStridesRequestEachPageOnce) {
  constexpr uint64_t kStride = 16;
  constexpr uint64_t kPages = 16384;
  absl::StatusOr<Region> region = ResidentRegion("strided", kPages);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  for (const bool announce_only : {false, true}) {
    PrefetchStream stream(*engine, *region);
    std::byte byte;
    constexpr uint64_t kReads = 512;
    for (uint64_t i = 0; i < kReads; ++i) {
      const uint64_t offset = i * kStride * kPage;
      const uint64_t before = stream.stats().requests;
      if (announce_only) {
        stream.WillRead({.offset = offset, .length = 1});
      } else {
        ASSERT_THAT(stream.Read(offset, absl::MakeSpan(&byte, 1)).status,
                    IsOk());
        ASSERT_EQ(static_cast<char>(byte), testing::PatternByte(offset));
      }
      ASSERT_LE(stream.stats().requests - before, kRequestsPerCallBound)
          << "read " << i;
    }
    stream.Drain();
    EXPECT_EQ(stream.pattern(), AccessPattern::kStrided);
    const PrefetchStats stats = stream.stats();
    // One page per request, and no more requests than there are stride pages
    // in the file: no page was requested twice.
    EXPECT_EQ(stats.bytes_requested, stats.requests * kPage);
    EXPECT_LE(stats.requests, kPages / kStride);
    EXPECT_GE(stats.requests, kReads - 2);
    EXPECT_EQ(stats.bytes_completed, stats.bytes_requested);
    // The file is resident, so a stride's request completes before the
    // consumer gets there: a hit of one whole page, for a 1-byte read.
    EXPECT_GT(stats.hit_bytes, 0u);
    EXPECT_EQ(stats.hit_bytes % kPage, 0u);
    EXPECT_LE(stats.hit_bytes, kReads * kPage);
  }
}

// Statistics count the whole pages a request brings in, in region offsets
// that need not be page-aligned.
TEST_F(StreamTest, StatsCountWholePages) {
  const std::string path = WriteFile("pages", 64);
  (void)testing::MakeResident(path, {});
  absl::StatusOr<Region> region = Region::Open(
      path, {.range = {.offset = kPage / 2, .length = ByteRange::kToEnd}});
  ASSERT_THAT(region, IsOk());
  ASSERT_THAT(region->Advise(Advice::kRandom), IsOk());
  std::unique_ptr<PrefetchEngine> engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  PrefetchStream stream(*engine, *region);
  // File bytes [kPage / 2 + 10 * kPage, + 1): one page.
  stream.WillRead({.offset = 10 * kPage, .length = 1});
  // File bytes [4046, 4146): the end of page 0 and the start of page 1.
  stream.WillRead({.offset = kPage / 2 - 50, .length = 100});
  stream.WillRead({.offset = 30 * kPage + 7, .length = 1});
  stream.Drain();
  const PrefetchStats stats = stream.stats();
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.bytes_requested, 4 * kPage);
  EXPECT_EQ(stats.bytes_completed, 4 * kPage);
}

// The in-flight bound is never waited for: a call that finds it reached
// requests nothing more, and a later call requests what it left.
TEST_F(StreamTest, WillReadNeverWaitsForRequestsInFlight) {
  testing::ScopedEioFilesystem fs(64 * kPage, {});
  if (fs.path().empty()) GTEST_SKIP() << fs.skip_reason();
  absl::StatusOr<Region> region = Region::Open(fs.path());
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  PrefetchStream stream(*engine, *region, {.max_bytes_in_flight = 2 * kPage});
  kill(fs.server_pid(), SIGSTOP);
  // Random pages: each announcement requests its page, and the requests
  // wait for the stopped server. A hang here is the failure.
  for (uint64_t page : {5, 40, 12, 33, 20, 50}) {
    stream.WillRead({.offset = page * kPage, .length = kPage});
  }
  EXPECT_EQ(stream.stats().requests, 2u);
  kill(fs.server_pid(), SIGCONT);
  stream.Drain();
  EXPECT_EQ(stream.stats().bytes_completed, 2 * kPage);
  stream.WillRead({.offset = 60 * kPage, .length = kPage});
  stream.Drain();
  EXPECT_EQ(stream.stats().requests, 3u);
}

// Major faults are measured on a sample of reads, not with two getrusage
// calls around every one.
TEST_F(StreamTest, ReadsAreMeasuredOnASample) {
  absl::StatusOr<Region> region = ResidentRegion("measured", 4096);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  std::vector<std::byte> page(kPage);
  {
    PrefetchStream stream(*engine, *region);
    GetrusageCounter counter;
    for (uint64_t offset = 0; offset < 4096 * kPage; offset += kPage) {
      ASSERT_THAT(stream.Read(offset, absl::MakeSpan(page)).status, IsOk());
    }
    EXPECT_LE(counter.calls(), 4096 / 4);
  }
  {
    // Every 16th page: the strides' requests complete at once (the file is
    // resident), so the reads find them ready.
    PrefetchStream stream(*engine, *region);
    GetrusageCounter counter;
    std::byte byte;
    for (uint64_t i = 0; i < 256; ++i) {
      ASSERT_THAT(stream.Read(i * 16 * kPage, absl::MakeSpan(&byte, 1)).status,
                  IsOk());
    }
    EXPECT_EQ(stream.pattern(), AccessPattern::kStrided);
    EXPECT_LE(counter.calls(), 256 / 4);
  }
}

// A sequential stream advises the mapping MADV_SEQUENTIAL and lets the
// kernel's readahead stay ahead of the consumer, whose faults map the pages;
// the advice goes when the pattern changes and with the stream.
TEST_F(StreamTest, SequentialReadingIsLeftToTheKernelsReadahead) {
  absl::StatusOr<Region> region = ColdRegion("seq", 4096);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  std::vector<std::byte> buffer(16 * kPage);
  {
    PrefetchStream stream(*engine, *region);
    const int64_t faults = MajorFaultsOfThisThread();
    for (uint64_t offset = 0; offset < 4096 * kPage; offset += buffer.size()) {
      CopyResult copied = stream.Read(offset, absl::MakeSpan(buffer));
      ASSERT_THAT(copied.status, IsOk());
      ASSERT_EQ(std::memcmp(buffer.data(),
                            testing::Pattern(offset, buffer.size()).data(),
                            buffer.size()),
                0);
      if (offset == 1024 * kPage) {
        EXPECT_TRUE(AdvisedSequential(*region))
            << VmFlagsAt(region->bytes().data());
      }
    }
    // A read fault per readahead window at most, not one per page or
    // per read.
    EXPECT_LE(MajorFaultsOfThisThread() - faults, 4096 / 64);
    EXPECT_EQ(stream.pattern(), AccessPattern::kSequential);
    EXPECT_EQ(stream.stats().requests, 0u);
    EXPECT_EQ(stream.stats().wasted_bytes, 0u);
    // A jump ends the run and the advice; a new run of 1 MiB brings it
    // back.
    ASSERT_THAT(stream.Read(10 * kPage, absl::MakeSpan(buffer)).status, IsOk());
    EXPECT_FALSE(AdvisedSequential(*region));
    for (uint64_t offset = 1000 * kPage; offset < 1400 * kPage;
         offset += buffer.size()) {
      ASSERT_THAT(stream.Read(offset, absl::MakeSpan(buffer)).status, IsOk());
    }
    EXPECT_TRUE(AdvisedSequential(*region));
  }
  EXPECT_FALSE(AdvisedSequential(*region));
}

// Advice the region's owner gave is the owner's: a sequential stream leaves
// a region advised kRandom as it is, and reads nothing ahead on it.
TEST_F(StreamTest, RandomAdviceMeansNoReadAhead) {
  absl::StatusOr<Region> region = ColdRegion("advised", 1024);
  ASSERT_THAT(region, IsOk());
  const std::string& path = region->path();
  ASSERT_THAT(region->Advise(Advice::kRandom), IsOk());
  std::unique_ptr<PrefetchEngine> engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  PrefetchStream stream(*engine, *region);
  for (uint64_t page = 0; page < 8; ++page)
    stream.WillRead({page * kPage, kPage});
  stream.Drain();
  EXPECT_EQ(stream.stats().bytes_requested, 8 * kPage);
  EXPECT_EQ(testing::MincoreResidentPages(path), 8u);
  EXPECT_FALSE(AdvisedSequential(*region));
}

TEST_F(StreamTest, StridedReadingPrefetchesTheNextStrides) {
  absl::StatusOr<Region> region = ColdRegion("strided", 1024);
  ASSERT_THAT(region, IsOk());
  const std::string& path = region->path();
  std::unique_ptr<PrefetchEngine> engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  PrefetchStream stream(*engine, *region,
                        {.min_window = 4 * kPage,
                         .initial_window = 4 * kPage,
                         .max_window = 4 * kPage});
  stream.WillRead({.offset = 0, .length = kPage});
  stream.WillRead({.offset = 10 * kPage, .length = kPage});
  stream.WillRead({.offset = 20 * kPage, .length = kPage});
  stream.Drain();
  EXPECT_EQ(stream.pattern(), AccessPattern::kStrided);
  // The next four strides are in: pages 30, 40, 50 and 60. What the kernel
  // reads around them on its own varies, so the stream's requests are
  // counted instead: pages 10 and 20, announced, then the four strides
  // (page 0 starts a sequential run, which the kernel reads ahead).
  const std::vector<bool> pages = testing::MincorePages(path);
  for (uint64_t page : {30, 40, 50, 60}) EXPECT_TRUE(pages[page]) << page;
  EXPECT_EQ(stream.stats().bytes_requested, 6 * kPage);
  EXPECT_EQ(stream.stats().requests, 6u);
}

TEST_F(StreamTest, RandomReadingShrinksTheWindowAndReadsNoMore) {
  absl::StatusOr<Region> region = ColdRegion("random", 4096);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine = MakeEngine();
  ASSERT_NE(engine, nullptr);
  PrefetchStream stream(*engine, *region,
                        {.min_window = 4 * kPage,
                         .initial_window = 256 * kPage,
                         .max_window = 1024 * kPage});
  std::vector<std::byte> page(kPage);
  // A strided start, every 8th page, then jumps all over the file.
  uint64_t x = 7;
  uint64_t strides_requested = 0;
  for (int i = 0; i < 64; ++i) {
    const uint64_t offset =
        i < 4 ? i * 8 * kPage
              : ((x = x * 6364136223846793005ull + 1) >> 33) % 4096 * kPage;
    ASSERT_THAT(stream.Read(offset, absl::MakeSpan(page)).status, IsOk());
    if (i == 3) strides_requested = stream.stats().requests;
  }
  stream.Drain();
  EXPECT_GT(strides_requested, 0u);
  EXPECT_EQ(stream.pattern(), AccessPattern::kRandom);
  EXPECT_EQ(stream.window(), 4 * kPage);
  const PrefetchStats stats = stream.stats();
  // The strides left ahead are wasted; the random reads requested nothing.
  EXPECT_GT(stats.wasted_bytes, 0u);
  EXPECT_EQ(stats.requests, strides_requested);
  EXPECT_EQ(stats.bytes_completed, stats.bytes_requested);
}

}  // namespace
}  // namespace mmapio
