#include "mmapio/internal/stream_policy.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/byte_range.h"

namespace mmapio::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::Optional;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kNoLimit = UINT64_MAX;

StreamGeometry Region(uint64_t size, uint64_t shift = 0) {
  return {.page_size = kPage, .shift = shift, .region_size = size};
}

std::vector<ByteRange> Ranges(const StreamStep& step) {
  std::vector<ByteRange> ranges;
  for (const StreamRequest& request : step.requests) {
    ranges.push_back(request.range);
  }
  return ranges;
}

// Reads of `length` bytes at `first`, `first + stride`, ... `count` of them.
std::vector<ByteRange> Every(uint64_t first, uint64_t stride, uint64_t length,
                             int count) {
  std::vector<ByteRange> reads;
  for (int i = 0; i < count; ++i) reads.push_back({first + i * stride, length});
  return reads;
}

TEST(StreamPolicyTest, ClassifiesAccessPatterns) {
  const struct {
    std::string name;
    std::vector<ByteRange> reads;
    AccessPattern expected;
  } kCases[] = {
      {"nothing read yet", {}, AccessPattern::kUnknown},
      {"a first read at 0 starts a scan",
       {{0, 100}},
       AccessPattern::kSequential},
      {"a first read elsewhere", {{kMiB, 100}}, AccessPattern::kUnknown},
      {"reads in turn", Every(0, 4 * kKiB, 4 * kKiB, 8),
       AccessPattern::kSequential},
      {"a byte of every page is a scan", Every(0, kPage, 1, 8),
       AccessPattern::kSequential},
      {"a whole page skipped, once",
       {{0, kPage}, {2 * kPage, kPage}},
       AccessPattern::kRandom},
      {"the same gap twice", Every(kMiB, 64 * kKiB, kPage, 3),
       AccessPattern::kStrided},
      {"backwards strides", Every(kMiB, -64 * kKiB, kPage, 3),
       AccessPattern::kStrided},
      {"gaps that differ",
       {{kMiB, kPage}, {kMiB + 64 * kKiB, kPage}, {kMiB + 200 * kKiB, kPage}},
       AccessPattern::kRandom},
  };
  for (const auto& c : kCases) {
    StreamPolicy policy(Region(64 * kMiB), StreamOptions{});
    for (const ByteRange& read : c.reads) {
      policy.Announce(read, /*request_range=*/false, /*read_ahead=*/true,
                      kNoLimit);
    }
    EXPECT_EQ(policy.pattern(), c.expected) << c.name;
  }
}

TEST(StreamPolicyTest, LeavesAScanToTheKernelAndAdvisesItAfterOneMiB) {
  StreamPolicy policy(Region(64 * kMiB), StreamOptions{});
  int advised_at = -1;
  for (int i = 0; i < 512; ++i) {
    const StreamStep step = policy.Announce(
        {i * 4 * kKiB, 4 * kKiB}, /*request_range=*/true, true, kNoLimit);
    EXPECT_THAT(step.requests, IsEmpty()) << "read " << i;
    if (step.advise_sequential.has_value() && advised_at < 0) {
      EXPECT_THAT(step.advise_sequential, Optional(true));
      advised_at = i;
    }
  }
  // The read that ends at 1 MiB.
  EXPECT_EQ(advised_at, 255);
}

TEST(StreamPolicyTest, RequestsTheStridesAheadOnceEach) {
  StreamOptions options;
  options.initial_window = 8 * kPage;
  options.min_window = 8 * kPage;
  StreamPolicy policy(Region(64 * kMiB), options);
  const uint64_t stride = 64 * kKiB;
  std::vector<StreamStep> steps;
  for (const ByteRange& read : Every(kMiB, stride, kPage, 4)) {
    steps.push_back(policy.Announce(read, false, true, kNoLimit));
  }
  // Two reads make a stride only once the third confirms it.
  EXPECT_THAT(steps[0].requests, IsEmpty());
  EXPECT_THAT(steps[1].requests, IsEmpty());
  std::vector<ByteRange> ahead;
  for (uint64_t i = 1; i <= 8; ++i) {
    ahead.push_back({kMiB + (2 + i) * stride, kPage});
  }
  EXPECT_THAT(Ranges(steps[2]), ElementsAreArray(ahead));
  // The next read reaches a stride whose request has not completed: late,
  // so the window doubles to 16 strides, of which 7 are ahead already; the
  // other 9 are requested, none twice.
  EXPECT_EQ(steps[3].arrival, Arrival::kLate);
  EXPECT_EQ(policy.window(), 16 * kPage);
  ahead.clear();
  for (uint64_t i = 11; i <= 19; ++i)
    ahead.push_back({kMiB + i * stride, kPage});
  EXPECT_THAT(Ranges(steps[3]), ElementsAreArray(ahead));
}

TEST(StreamPolicyTest, ArrivalsGrowTheWindowWhenLateAndCountWhenReady) {
  StreamOptions options;
  options.initial_window = 4 * kPage;
  options.min_window = 4 * kPage;
  options.max_window = 64 * kPage;
  StreamPolicy policy(Region(64 * kMiB), options);
  const std::vector<ByteRange> reads = Every(kMiB, 64 * kKiB, kPage, 6);
  for (int i = 0; i < 3; ++i) policy.Announce(reads[i], false, true, kNoLimit);
  // The random second read halved the window, down to its minimum.
  EXPECT_EQ(policy.window(), 4 * kPage);
  // Not completed when reached: late, and the window doubles.
  StreamStep step = policy.Announce(reads[3], false, true, kNoLimit);
  EXPECT_EQ(step.arrival, Arrival::kLate);
  EXPECT_EQ(policy.window(), 8 * kPage);
  // Every request so far completes: the next stride is ready.
  for (uint64_t id = 1; id <= 16; ++id) policy.Completed(id);
  step = policy.Announce(reads[4], false, true, kNoLimit);
  EXPECT_EQ(step.arrival, Arrival::kReady);
  EXPECT_EQ(policy.window(), 8 * kPage);
  // Its read faulted anyway: evicted, too much ahead.
  policy.Evicted();
  EXPECT_EQ(policy.window(), 4 * kPage);
  // The same range again says nothing new.
  EXPECT_EQ(policy.Announce(reads[4], false, true, kNoLimit).arrival,
            Arrival::kRepeat);
}

TEST(StreamPolicyTest, APatternChangeWastesTheStridesAhead) {
  StreamOptions options;
  options.initial_window = 8 * kPage;
  options.min_window = kPage;
  StreamPolicy policy(Region(64 * kMiB), options);
  uint64_t requested = 0;
  for (const ByteRange& read : Every(kMiB, 64 * kKiB, kPage, 3)) {
    requested += policy.Announce(read, false, true, kNoLimit).requests.size();
  }
  ASSERT_GT(requested, 0u);
  const uint64_t window = policy.window();
  const StreamStep step =
      policy.Announce({10 * kMiB, kPage}, false, true, kNoLimit);
  EXPECT_EQ(step.wasted_pages, requested);
  EXPECT_EQ(policy.strides_ahead(), 0u);
  EXPECT_LT(policy.window(), window);
  EXPECT_THAT(step.advise_sequential, Optional(false));
}

TEST(StreamPolicyTest, RequestsStayInsideTheRegionRoomAndCallLimit) {
  const struct {
    std::string name;
    StreamGeometry geometry;
    uint64_t room;
    int max_requests_per_call;
    size_t expected_requests;
  } kCases[] = {
      {"no room", Region(64 * kMiB), 0, 16, 0},
      {"room for two pages", Region(64 * kMiB), 2 * kPage, 16, 2},
      {"three requests a call", Region(64 * kMiB), kNoLimit, 3, 3},
      {"a limit below one is one", Region(64 * kMiB), kNoLimit, 0, 1},
      {"strides past the end are not requested",
       Region(kMiB + 5 * 64 * kKiB + 1), kNoLimit, 16, 3},
  };
  for (const auto& c : kCases) {
    StreamOptions options;
    options.max_requests_per_call = c.max_requests_per_call;
    StreamPolicy policy(c.geometry, options);
    StreamStep step;
    for (const ByteRange& read : Every(kMiB, 64 * kKiB, kPage, 3)) {
      step = policy.Announce(read, false, true, c.room);
    }
    EXPECT_EQ(step.requests.size(), c.expected_requests) << c.name;
    for (const StreamRequest& request : step.requests) {
      EXPECT_LE(request.range.offset + request.range.length,
                c.geometry.region_size)
          << c.name;
    }
  }
}

TEST(StreamPolicyTest, AnnouncedRangesAreRequestedAsTheyStand) {
  const struct {
    std::string name;
    bool read_ahead;
    std::vector<ByteRange> announced;
    std::vector<ByteRange> expected_last;
  } kCases[] = {
      {"random",
       true,
       {{kMiB, 10 * kKiB}, {5 * kMiB, 3 * kKiB}},
       {{5 * kMiB, kPage}}},
      {"pages the last announcement requested are left out",
       true,
       {{kMiB, 8 * kKiB}, {9 * kMiB, 3 * kPage}, {9 * kMiB - kPage, 2 * kPage}},
       {{9 * kMiB - kPage, kPage}}},
      {"the owner advised kRandom: strides are not followed",
       false,
       Every(kMiB, 64 * kKiB, kPage, 3),
       {{kMiB + 128 * kKiB, kPage}}},
  };
  for (const auto& c : kCases) {
    StreamPolicy policy(Region(64 * kMiB), StreamOptions{});
    StreamStep step;
    for (const ByteRange& range : c.announced) {
      step = policy.Announce(range, /*request_range=*/true, c.read_ahead,
                             kNoLimit);
    }
    EXPECT_THAT(Ranges(step), ElementsAreArray(c.expected_last)) << c.name;
  }
}

TEST(StreamPolicyTest, RequestsAreCutAtTheRegionsEnds) {
  // The region starts 100 bytes into its mapping's first page and ends
  // 50 bytes into a page.
  StreamPolicy policy(Region(3 * kPage - 50, /*shift=*/100), StreamOptions{});
  const StreamStep step =
      policy.Announce({kPage, 10}, /*request_range=*/true, true, kNoLimit);
  ASSERT_EQ(step.requests.size(), 1u);
  // Mapping page 1 holds region bytes [4096 - 100, 8192 - 100).
  EXPECT_EQ(step.requests[0].range, (ByteRange{kPage - 100, kPage}));
  EXPECT_EQ(step.requests[0].page_bytes, kPage);
  // Nearly all of it: the four mapping pages it lies on, cut at both ends.
  StreamPolicy whole(Region(3 * kPage - 50, 100), StreamOptions{});
  const StreamStep all =
      whole.Announce({5, 3 * kPage - 60}, true, true, kNoLimit);
  ASSERT_EQ(all.requests.size(), 1u);
  EXPECT_EQ(all.requests[0].range, (ByteRange{0, 3 * kPage - 50}));
  EXPECT_EQ(all.requests[0].page_bytes, 4 * kPage);
}

TEST(StreamPolicyTest, MeasuresTheFirstReadThenOncePerMeasuredBytes) {
  StreamOptions options;
  options.measure_every_bytes = 16 * kKiB;
  StreamPolicy policy(Region(64 * kMiB), options);
  std::vector<bool> measured;
  for (const ByteRange& read : Every(0, 4 * kKiB, 4 * kKiB, 9)) {
    policy.Announce(read, false, true, kNoLimit);
    measured.push_back(policy.MeasureRead(read.length));
  }
  EXPECT_THAT(measured, ElementsAre(true, false, false, false, true, false,
                                    false, false, true));
}

}  // namespace
}  // namespace mmapio::internal
