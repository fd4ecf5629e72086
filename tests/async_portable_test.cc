// PrefetchEngine, AsyncEngine and EventLoop through their public API on
// real files, with nothing but the C++ library around them, so that the
// same cases run on Linux and, under Wine, on Windows: completion exactly
// once, callbacks, coroutines, batches, blocking waits, cancellation,
// shutdown, timers and posted tasks.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/async_engine.h"
#include "mmapio/detached_task.h"
#include "mmapio/event_loop.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"
#include "tests/status_matchers.h"
#include "tests/test_directory.h"

namespace mmapio {
namespace {

using ::mmapio::testing::IsOk;
using ::mmapio::testing::StatusIs;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Eq;

namespace fs = std::filesystem;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPages = 256;

// A file whose page p holds the byte p % 251 throughout.
std::string MakeFile() {
  const fs::path dir = mmapio::testing::TestDirectory();
  const std::string path = (dir / "f").string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (uint64_t p = 0; p < kPages; ++p) {
    out << std::string(kPage, static_cast<char>(p % 251));
  }
  return path;
}

uint8_t ByteOfPage(uint64_t page) { return static_cast<uint8_t>(page % 251); }

class AsyncPortableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<Region> region = Region::Open(MakeFile());
    ASSERT_THAT(region, IsOk());
    region_ = std::make_unique<Region>(*std::move(region));
    absl::StatusOr<std::unique_ptr<AsyncEngine>> engine = AsyncEngine::Create();
    ASSERT_THAT(engine, IsOk());
    engine_ = *std::move(engine);
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
    ASSERT_THAT(loop, IsOk());
    loop_ = *std::move(loop);
    ASSERT_THAT(loop_->Attach(*engine_), IsOk());
  }

  std::unique_ptr<Region> region_;
  std::unique_ptr<AsyncEngine> engine_;
  std::unique_ptr<EventLoop> loop_;
};

TEST_F(AsyncPortableTest, PrefetchCompletesEachRequestOnce) {
  absl::StatusOr<std::unique_ptr<PrefetchEngine>> engine =
      PrefetchEngine::Create();
  ASSERT_THAT(engine, IsOk());
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  for (uint64_t page = 0; page < kPages; page += 16) {
    (*engine)->Prefetch(
        *region_, {page * kPage, 3 * kPage},
        [&](absl::Status status) { (status.ok() ? ok : failed).fetch_add(1); });
  }
  EXPECT_THAT((*engine)->PrefetchAndWait(*region_, {0, kPages * kPage}),
              IsOk());
  EXPECT_THAT((*engine)->PrefetchAndWait(*region_, {kPages * kPage, 1}),
              StatusIs(absl::StatusCode::kOutOfRange));
  engine->reset();  // Waits for every callback.
  EXPECT_EQ(ok.load(), static_cast<int>(kPages / 16));
  EXPECT_EQ(failed.load(), 0);
}

TEST_F(AsyncPortableTest, CallbacksRunOnThePollingLoop) {
  std::vector<uint8_t> seen(kPages, 0);
  int done = 0;
  const std::thread::id loop_thread = std::this_thread::get_id();
  for (uint64_t page = 0; page < kPages; ++page) {
    engine_->EnsureResident(
        *region_, {page * kPage + 7, 1},
        [&, page](absl::StatusOr<ResidentView> view) {
          EXPECT_EQ(std::this_thread::get_id(), loop_thread);
          ASSERT_THAT(view, IsOk());
          seen[page] =
              static_cast<uint8_t>(view->bytes()[0]) == ByteOfPage(page) ? 1
                                                                         : 2;
          if (++done == static_cast<int>(kPages)) loop_->Stop();
        });
  }
  if (done < static_cast<int>(kPages)) {
    ASSERT_THAT(loop_->Run(), IsOk());
  }
  EXPECT_THAT(seen, Each(Eq(1)));
}

TEST_F(AsyncPortableTest, CoroutinesResumeWithTheirViews) {
  int running = 8;
  uint64_t sum = 0;
  const auto reader = [&](uint64_t first) -> DetachedTask {
    for (uint64_t page = first; page < kPages; page += 8) {
      absl::StatusOr<ResidentView> view =
          co_await engine_->Resident(*region_, {page * kPage, kPage});
      EXPECT_THAT(view, IsOk());
      if (view.ok()) sum += static_cast<uint8_t>(view->bytes()[kPage - 1]);
    }
    if (--running == 0) loop_->Stop();
  };
  for (uint64_t task = 0; task < 8; ++task) reader(task);
  if (running > 0) {
    ASSERT_THAT(loop_->Run(), IsOk());
  }
  uint64_t expected = 0;
  for (uint64_t page = 0; page < kPages; ++page) expected += ByteOfPage(page);
  EXPECT_EQ(sum, expected);
}

TEST_F(AsyncPortableTest, BatchCallsEachRangeThenTheBatch) {
  const std::vector<ByteRange> ranges = {
      {0, kPage}, {100 * kPage, 2 * kPage}, {kPages * kPage - 1, 1}};
  std::vector<size_t> order;
  absl::Status batch = absl::UnknownError("not run");
  engine_->EnsureResidentBatch(
      *region_, ranges,
      [&](size_t index, absl::StatusOr<ResidentView> view) {
        EXPECT_THAT(view, IsOk());
        order.push_back(index);
      },
      [&](absl::Status status) {
        batch = status;
        loop_->Stop();
      });
  if (!batch.ok()) {
    ASSERT_THAT(loop_->Run(), IsOk());
  }
  EXPECT_THAT(batch, IsOk());
  std::sort(order.begin(), order.end());
  EXPECT_THAT(order, ElementsAre(0, 1, 2));
}

TEST_F(AsyncPortableTest, BadRangesAndCancelledRequestsEndAtOnce) {
  absl::Status status;
  engine_->EnsureResident(
      *region_, {kPages * kPage, 1},
      [&](absl::StatusOr<ResidentView> view) { status = view.status(); });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kOutOfRange));
  std::stop_source stop;
  stop.request_stop();
  engine_->EnsureResident(
      *region_, {0, kPage},
      [&](absl::StatusOr<ResidentView> view) { status = view.status(); },
      {.cancel = stop.get_token()});
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(AsyncPortableTest, WaitResidentBlocksUntilTheRangeIsThere) {
  absl::StatusOr<ResidentView> view =
      engine_->WaitResident(*region_, {200 * kPage, kPage});
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(static_cast<uint8_t>(view->bytes()[0]), ByteOfPage(200));
}

TEST_F(AsyncPortableTest, DestroyingTheEngineCompletesEveryRequestOnce) {
  std::vector<int> calls(kPages, 0);
  for (uint64_t page = 0; page < kPages; ++page) {
    engine_->EnsureResident(
        *region_, {page * kPage, kPage},
        [&calls, page](absl::StatusOr<ResidentView> view) {
          ++calls[page];
          if (!view.ok()) {
            EXPECT_THAT(view, StatusIs(absl::StatusCode::kCancelled));
          }
        });
  }
  ASSERT_THAT(loop_->Unwatch(engine_->fd()), IsOk());
  engine_.reset();
  EXPECT_THAT(calls, Each(Eq(1)));
}

TEST(EventLoopPortableTest, RunsPostedTasksAndTimersInOrder) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_THAT(loop, IsOk());
  std::vector<std::string> events;
  absl::Time slept_from;
  // Every event is ordered by the loop's own rules, not by how fast this
  // thread gets here: posted tasks in the order posted, timers by time,
  // and the sleep starts only after the timer it must follow is set.
  (*loop)->RunAt(absl::Now() + absl::Milliseconds(10),
                 [&] { events.push_back("early"); });
  std::thread poster(
      [&] { (*loop)->Post([&] { events.push_back("posted"); }); });
  poster.join();
  const auto sleeper = [&]() -> DetachedTask {
    slept_from = absl::Now();
    co_await (*loop)->Sleep(absl::Milliseconds(50));
    EXPECT_GE(absl::Now() - slept_from, absl::Milliseconds(50));
    events.push_back("slept");
    (*loop)->Stop();
  };
  (*loop)->Post([&] {
    events.push_back("sleeping");
    sleeper();
  });
  ASSERT_THAT((*loop)->Run(), IsOk());
  EXPECT_THAT(events, ElementsAre("posted", "sleeping", "early", "slept"));
}

}  // namespace
}  // namespace mmapio
