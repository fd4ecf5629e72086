#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/async_engine.h"
#include "mmapio/detached_task.h"
#include "mmapio/event_loop.h"
#include "mmapio/region.h"
#include "tests/poll_until.h"
#include "tests/status_matchers.h"
#include "tests/test_util.h"

namespace mmapio {
namespace {

using ::mmapio::testing::IsOk;
using ::testing::HasSubstr;
using testing::PollUntil;

constexpr uint64_t kPage = 4096;

std::unique_ptr<AsyncEngine> MakeEngine(PrefetchBackend backend,
                                        PrefetchOptions options = {}) {
  options.backend = backend;
  return testing::OrFail(AsyncEngine::Create(options));
}

int64_t MajorFaultsOfThisThread() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_majflt;
}

// Stops a FUSE server while it lives, so that reads of its file wait.
class StoppedServer {
 public:
  explicit StoppedServer(int pid) : pid_(pid) { kill(pid_, SIGSTOP); }
  ~StoppedServer() { kill(pid_, SIGCONT); }

 private:
  int pid_;
};

class AsyncTest : public ::testing::TestWithParam<PrefetchBackend> {
 protected:
  // A cold pattern file of `pages` pages.
  std::string ColdFile(uint64_t pages, const std::string& name = "data") {
    const std::string path = absl::StrCat(dir_, "/", name);
    testing::WritePatternFile(path, pages * kPage);
    (void)testing::MakeResident(path, {});
    return path;
  }

  std::unique_ptr<AsyncEngine> Engine(PrefetchOptions options = {}) {
    return MakeEngine(GetParam(), options);
  }

  const std::string dir_ = testing::MakeTempDir();
};

TEST_P(AsyncTest, CallbackRunsOnThePollingThreadWithTheBytesResident) {
  const std::string path = ColdFile(256);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<AsyncEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  const ByteRange range{.offset = 100 * kPage + 5, .length = 3 * kPage};
  bool called = false;
  engine->EnsureResident(
      *region, range, [&](absl::StatusOr<ResidentView> view) {
        called = true;
        ASSERT_THAT(view, IsOk());
        EXPECT_EQ(view->range(), range);
        const std::vector<bool> pages = testing::MincorePages(path);
        for (uint64_t page = 100; page <= 103; ++page) EXPECT_TRUE(pages[page]);
        std::string copy(view->size(), '\0');
        ASSERT_THAT(
            view->CopyTo(
                    0, absl::MakeSpan(reinterpret_cast<std::byte*>(copy.data()),
                                      copy.size()))
                .status,
            IsOk());
        EXPECT_EQ(copy, testing::Pattern(range.offset, range.length));
        absl::StatusOr<uint8_t> first = view->Load<uint8_t>(0);
        ASSERT_THAT(first, IsOk());
        EXPECT_EQ(static_cast<char>(*first),
                  testing::PatternByte(range.offset));
        EXPECT_EQ(view->Load<uint64_t>(range.length - 4).status().code(),
                  absl::StatusCode::kOutOfRange);
      });
  EXPECT_FALSE(called) << "a cold range completed inline";
  PollUntil(*engine, [&] { return called; });
}

// A request that completes before its deadline leaves the deadline's timer
// set; once the timer has fired, a Poll sets it again, so that fd() does
// not stay readable with nothing to run (a loop would spin on it).
TEST_P(AsyncTest, FdIsQuietAfterTheDeadlineOfACompletedRequestPasses) {
  const std::string path = ColdFile(16);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<AsyncEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  const absl::Time deadline = absl::Now() + absl::Milliseconds(100);
  bool done = false;
  engine->EnsureResident(*region, {0, kPage},
                         [&](absl::StatusOr<ResidentView> view) {
                           EXPECT_THAT(view, IsOk());
                           done = true;
                         },
                         {.deadline = deadline});
  PollUntil(*engine, [&] { return done; });
  // Once the deadline has passed, the timer has fired.
  absl::SleepFor(deadline - absl::Now() + absl::Milliseconds(5));
  EXPECT_EQ(engine->Poll(), 0u);
  pollfd readable{engine->fd(), POLLIN, 0};
  EXPECT_EQ(poll(&readable, 1, 0), 0) << "fd() stays readable";
}

TEST_P(AsyncTest, ResidentRangeCompletesInlineWithoutSuspending) {
  const std::string path = ColdFile(64);
  testing::PinnedPages pinned = testing::MakeResident(path, {{0, 64}});
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<AsyncEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  const std::thread::id caller = std::this_thread::get_id();
  bool called = false;
  engine->EnsureResident(*region, {.offset = 0, .length = 64 * kPage},
                         [&](absl::StatusOr<ResidentView> view) {
                           EXPECT_THAT(view, IsOk());
                           EXPECT_EQ(std::this_thread::get_id(), caller);
                           called = true;
                         });
  EXPECT_TRUE(called);
  // The coroutine runs to its end before the call that starts it returns:
  // it never suspended.
  bool finished = false;
  [&]() -> DetachedTask {
    absl::StatusOr<ResidentView> view =
        co_await engine->Resident(*region, {.offset = 8 * kPage, .length = 8});
    EXPECT_THAT(view, IsOk());
    finished = true;
  }();
  EXPECT_TRUE(finished);
  EXPECT_EQ(engine->prefetch_engine().stats().requests, 0u)
      << "the fast path went to the prefetch engine";
}

TEST_P(AsyncTest, CoroutinesResumeOnTheEventLoop) {
  const std::string path = ColdFile(1024);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<AsyncEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_THAT(loop, IsOk());
  ASSERT_THAT((*loop)->Attach(*engine), IsOk());
  int running = 0;
  std::vector<std::string> read(16);
  std::thread::id loop_thread;
  const auto reader = [&](int task) -> DetachedTask {
    ++running;
    for (int step = 0; step < 4; ++step) {
      const ByteRange range{.offset = (task * 64 + step * 16) * kPage + 1,
                            .length = 100};
      absl::StatusOr<ResidentView> view =
          co_await engine->Resident(*region, range);
      EXPECT_EQ(std::this_thread::get_id(), loop_thread);
      if (!view.ok()) {
        ADD_FAILURE() << view.status();
        break;
      }
      const absl::Span<const std::byte> bytes = view->bytes();
      read[task].append(reinterpret_cast<const char*>(bytes.data()),
                        bytes.size());
    }
    if (--running == 0) (*loop)->Stop();
  };
  (*loop)->Post([&] {
    loop_thread = std::this_thread::get_id();
    for (int task = 0; task < 16; ++task) reader(task);
  });
  ASSERT_THAT((*loop)->Run(), IsOk());
  for (int task = 0; task < 16; ++task) {
    std::string expected;
    for (int step = 0; step < 4; ++step) {
      expected += testing::Pattern((task * 64 + step * 16) * kPage + 1, 100);
    }
    EXPECT_EQ(read[task], expected) << task;
  }
}

TEST_P(AsyncTest, BatchReportsEachRangeThenTheWhole) {
  const std::string path = ColdFile(512);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<AsyncEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  std::vector<ByteRange> ranges;
  for (uint64_t i = 0; i < 100; ++i) {
    ranges.push_back({.offset = (i * 37 % 500) * kPage + i, .length = 2000});
  }
  ranges[70] = {.offset = 512 * kPage - 10, .length = 11};  // Past the end.
  ranges[90] = {.offset = 600 * kPage, .length = 1};
  std::vector<int> calls(ranges.size());
  bool batch_done = false;
  absl::Status batch_status;
  engine->EnsureResidentBatch(
      *region, ranges,
      [&](size_t index, absl::StatusOr<ResidentView> view) {
        EXPECT_FALSE(batch_done) << "a range completed after its batch";
        ++calls[index];
        if (index == 70 || index == 90) {
          EXPECT_EQ(view.status().code(), absl::StatusCode::kOutOfRange);
          return;
        }
        ASSERT_THAT(view, IsOk()) << index << ": " << view.status();
        EXPECT_EQ(view->range(), ranges[index]);
        const absl::Span<const std::byte> bytes = view->bytes();
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()),
                              bytes.size()),
                  testing::Pattern(ranges[index].offset, 2000));
      },
      [&](absl::Status status) {
        batch_done = true;
        batch_status = status;
      });
  PollUntil(*engine, [&] { return batch_done; });
  for (size_t i = 0; i < ranges.size(); ++i) EXPECT_EQ(calls[i], 1) << i;
  EXPECT_EQ(batch_status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(batch_status.message(),
              HasSubstr("EnsureResident \"" + path + "\" [2097142, 2097153)"));

  bool empty_done = false;
  engine->EnsureResidentBatch(
      *region, {}, [](size_t, absl::StatusOr<ResidentView>) { FAIL(); },
      [&](absl::Status status) {
        EXPECT_THAT(status, IsOk());
        empty_done = true;
      });
  EXPECT_TRUE(empty_done);
}

TEST_P(AsyncTest, ConsumingThousandsOfColdRangesTakesNoMajorFault) {
  // 8192 random 4 KiB ranges of a 128 MiB cold file, consumed by 64
  // coroutines on one event loop thread.
  constexpr uint64_t kPages = 32768;
  const std::string path = ColdFile(kPages);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  ASSERT_THAT(region->Advise(Advice::kRandom), IsOk());
  std::unique_ptr<AsyncEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_THAT(loop, IsOk());
  ASSERT_THAT((*loop)->Attach(*engine), IsOk());

  std::vector<uint64_t> pages(kPages);
  for (uint64_t i = 0; i < kPages; ++i) pages[i] = i;
  std::shuffle(pages.begin(), pages.end(), std::mt19937_64(42));
  pages.resize(8192);
  uint64_t next = 0;
  uint64_t sum = 0;
  uint64_t consumed = 0;
  int running = 0;
  const auto consumer = [&]() -> DetachedTask {
    ++running;
    while (next < pages.size()) {
      const uint64_t page = pages[next++];
      absl::StatusOr<ResidentView> view = co_await engine->Resident(
          *region, {.offset = page * kPage, .length = kPage});
      if (!view.ok()) {
        ADD_FAILURE() << view.status();
        break;
      }
      for (std::byte byte : view->bytes()) sum += static_cast<uint8_t>(byte);
      ++consumed;
    }
    if (--running == 0) (*loop)->Stop();
  };
  int64_t faults_before = 0;
  int64_t faults_after = 0;
  (*loop)->Post([&] {
    faults_before = MajorFaultsOfThisThread();
    for (int task = 0; task < 64; ++task) consumer();
  });
  ASSERT_THAT((*loop)->Run(), IsOk());
  faults_after = MajorFaultsOfThisThread();
  EXPECT_EQ(consumed, pages.size());
  uint64_t expected = 0;
  for (uint64_t page : pages) {
    for (char c : testing::Pattern(page * kPage, kPage))
      expected += static_cast<uint8_t>(c);
  }
  EXPECT_EQ(sum, expected);
  EXPECT_EQ(faults_after - faults_before, 0)
      << "the executor thread waited for the disk";

  // The measurement can see what it guards against: touching cold pages
  // directly does fault on this thread.
  ASSERT_THAT(region->Evict(), IsOk());
  const int64_t before = MajorFaultsOfThisThread();
  uint64_t direct = 0;
  for (uint64_t i = 0; i < 64; ++i) {
    direct += static_cast<uint8_t>(region->bytes()[pages[i] * kPage]);
  }
  EXPECT_GT(MajorFaultsOfThisThread() - before, 0) << direct;
}

TEST_P(AsyncTest, DeviceErrorsArriveAsDataLoss) {
  testing::ScopedEioFilesystem fs(64 * kPage, {20});
  if (fs.path().empty()) GTEST_SKIP() << fs.skip_reason();
  absl::StatusOr<Region> region = Region::Open(fs.path());
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<AsyncEngine> engine = Engine({.chunk_bytes = 4 * kPage});
  ASSERT_NE(engine, nullptr);
  absl::StatusOr<ResidentView> bad = engine->WaitResident(
      *region, {.offset = 18 * kPage, .length = 4 * kPage});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss) << bad.status();
  EXPECT_THAT(bad.status().message(), HasSubstr("\"" + fs.path() + "\""));
  std::optional<absl::StatusOr<ResidentView>> good;
  engine->EnsureResident(
      *region, {.offset = 0, .length = 16 * kPage},
      [&](absl::StatusOr<ResidentView> view) { good = std::move(view); });
  PollUntil(*engine, [&] { return good.has_value(); });
  ASSERT_TRUE(good->ok()) << good->status();
  EXPECT_EQ((*good)->Load<uint8_t>(5).value(),
            static_cast<uint8_t>(testing::PatternByte(5)));
}

TEST_P(AsyncTest, TruncationArrivesAsOutOfRange) {
  const std::string path = ColdFile(64);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  ASSERT_EQ(truncate(path.c_str(), 16 * kPage), 0);
  std::unique_ptr<AsyncEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  absl::StatusOr<ResidentView> gone =
      engine->WaitResident(*region, {.offset = 32 * kPage, .length = kPage});
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kOutOfRange)
      << gone.status();
  EXPECT_THAT(gone.status().message(),
              HasSubstr("EnsureResident \"" + path + "\" [131072, 135168)"));
  EXPECT_THAT(gone.status().message(), HasSubstr("65536 bytes now"));
  EXPECT_THAT(gone.status().message(), HasSubstr("truncated underneath"));
  EXPECT_THAT(
      engine->WaitResident(*region, {.offset = 0, .length = 16 * kPage}),
      IsOk());
}

// Reads of a FUSE file whose server is stopped: they wait, so requests stay
// pending until cancelled, past their deadline, or the server runs again.
class StalledReadTest : public AsyncTest {
 protected:
  void SetUp() override {
    fs_.emplace(64 * kPage, std::vector<uint64_t>{});
    if (fs_->path().empty()) GTEST_SKIP() << fs_->skip_reason();
    absl::StatusOr<Region> region = Region::Open(fs_->path());
    ASSERT_THAT(region, IsOk());
    region_.emplace(*std::move(region));
    engine_ = Engine({.chunk_bytes = 4 * kPage});
    ASSERT_NE(engine_, nullptr);
    stopped_.emplace(fs_->server_pid());
  }

  // The engine waits for the reads in flight: they must end first.
  void TearDown() override {
    ContinueServer();
    engine_.reset();
  }

  void ContinueServer() { stopped_.reset(); }
  const Region& region() const { return *region_; }
  AsyncEngine& engine() { return *engine_; }

  std::optional<testing::ScopedEioFilesystem> fs_;
  std::optional<Region> region_;
  std::unique_ptr<AsyncEngine> engine_;
  std::optional<StoppedServer> stopped_;
};

TEST_P(StalledReadTest, DeadlinesAndCancellationCompleteWaitingRequests) {
  {
    std::optional<absl::Status> timed_out;
    engine().EnsureResident(
        region(), {.offset = 0, .length = kPage},
        [&](absl::StatusOr<ResidentView> view) { timed_out = view.status(); },
        {.deadline = absl::Now() + absl::Milliseconds(20)});
    std::stop_source cancel;
    std::optional<absl::Status> cancelled;
    engine().EnsureResident(
        region(), {.offset = 8 * kPage, .length = kPage},
        [&](absl::StatusOr<ResidentView> view) { cancelled = view.status(); },
        {.cancel = cancel.get_token()});
    PollUntil(engine(), [&] { return timed_out.has_value(); });
    EXPECT_EQ(timed_out->code(), absl::StatusCode::kDeadlineExceeded)
        << *timed_out;
    EXPECT_THAT(timed_out->message(),
                HasSubstr("EnsureResident \"" + fs_->path() + "\" [0, 4096)"));
    EXPECT_FALSE(cancelled.has_value());
    std::thread([&] { cancel.request_stop(); }).join();
    PollUntil(engine(), [&] { return cancelled.has_value(); });
    EXPECT_EQ(cancelled->code(), absl::StatusCode::kCancelled) << *cancelled;

    // The blocking form, from this thread and cancelled from another.
    absl::StatusOr<ResidentView> waited = engine().WaitResident(
        region(), {.offset = 16 * kPage, .length = kPage},
        {.deadline = absl::Now() + absl::Milliseconds(20)});
    EXPECT_EQ(waited.status().code(), absl::StatusCode::kDeadlineExceeded);
    std::stop_source stop;
    std::thread canceller([&] {
      absl::SleepFor(absl::Milliseconds(20));
      stop.request_stop();
    });
    waited =
        engine().WaitResident(region(), {.offset = 24 * kPage, .length = kPage},
                              {.cancel = stop.get_token()});
    canceller.join();
    EXPECT_EQ(waited.status().code(), absl::StatusCode::kCancelled);
  }
  // The reads still in flight end once the server runs again, and nothing
  // completes twice.
  ContinueServer();
  EXPECT_EQ(engine().Poll(), 0u);
  EXPECT_THAT(engine().WaitResident(region(), {.offset = 0, .length = kPage}),
              IsOk());
}

// Threads of this process waiting in the kernel, uninterruptibly (state D):
// for a page from the stopped server.
int ThreadsBlockedInTheKernel() {
  int blocked = 0;
  for (const std::filesystem::directory_entry& task :
       std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // "tid (comm) S ...": the state follows the last ')'.
    const size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() &&
        line[paren + 2] == 'D') {
      ++blocked;
    }
  }
  return blocked;
}

TEST_P(StalledReadTest, DestroyingTheEngineDoesNotWaitForBlockedReads) {
  std::vector<std::optional<absl::Status>> outcomes(8);
  for (size_t i = 0; i < outcomes.size(); ++i) {
    engine().EnsureResident(region(),
                            {.offset = i * 8 * kPage, .length = kPage},
                            [&outcomes, i](absl::StatusOr<ResidentView> view) {
                              outcomes[i] = view.status();
                            });
  }
  // Wait until reads are blocked in the kernel, not just queued.
  while (ThreadsBlockedInTheKernel() == 0) {
    engine().Poll();
    absl::SleepFor(absl::Milliseconds(1));
  }
  // A destructor that waited for the blocked reads would never return; the
  // watchdog then lets the server run, so the test fails instead of hanging.
  std::atomic<bool> destroyed{false};
  std::atomic<bool> rescued{false};
  std::thread watchdog([&] {
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (!destroyed.load() && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    if (!destroyed.load()) {
      rescued = true;
      kill(fs_->server_pid(), SIGCONT);
    }
  });
  engine_.reset();
  destroyed = true;
  watchdog.join();
  EXPECT_FALSE(rescued.load())
      << "the destructor waited for reads blocked in the kernel";
  for (const std::optional<absl::Status>& outcome : outcomes) {
    ASSERT_TRUE(outcome.has_value());
    EXPECT_EQ(outcome->code(), absl::StatusCode::kCancelled) << *outcome;
  }
}

TEST_P(StalledReadTest, CompletionsRunInTheOrderTheyBecameReady) {
  // Nothing can be read, so each request becomes ready when it is
  // cancelled: in the order of the cancellations.
  std::vector<std::stop_source> sources(4);
  std::vector<int> order;
  for (int i = 0; i < 3; ++i) {
    engine().EnsureResident(
        region(), {.offset = i * 8 * kPage, .length = kPage},
        [&, i](absl::StatusOr<ResidentView> view) {
          EXPECT_EQ(view.status().code(), absl::StatusCode::kCancelled);
          order.push_back(i);
        },
        {.cancel = sources[i].get_token()});
  }
  // A batch shares one token: every range and the batch end Cancelled.
  std::vector<ByteRange> ranges = {{.offset = 40 * kPage, .length = 10},
                                   {.offset = 48 * kPage, .length = 10}};
  std::vector<absl::StatusCode> batch_codes;
  engine().EnsureResidentBatch(
      region(), ranges,
      [&](size_t, absl::StatusOr<ResidentView> view) {
        batch_codes.push_back(view.status().code());
      },
      [&](absl::Status status) {
        batch_codes.push_back(status.code());
        order.push_back(3);
      },
      {.cancel = sources[3].get_token()});
  // And a coroutine, with a deadline.
  std::optional<absl::Status> awaited;
  const auto awaiter = [&]() -> DetachedTask {
    absl::StatusOr<ResidentView> view = co_await engine().Resident(
        region(), {.offset = 56 * kPage, .length = kPage},
        {.deadline = absl::Now() + absl::Milliseconds(10)});
    awaited = view.status();
  };
  awaiter();
  for (int i : {2, 0, 3, 1}) sources[i].request_stop();
  PollUntil(engine(), [&] { return order.size() == 4 && awaited.has_value(); });
  EXPECT_THAT(order, ::testing::ElementsAre(2, 0, 3, 1));
  EXPECT_THAT(batch_codes,
              ::testing::Each(::testing::Eq(absl::StatusCode::kCancelled)));
  EXPECT_EQ(batch_codes.size(), 3u);
  EXPECT_EQ(awaited->code(), absl::StatusCode::kDeadlineExceeded) << *awaited;
}

TEST_P(StalledReadTest, PollRunsAtMostItsBudget) {
  std::stop_source cancel;
  int completed = 0;
  for (int i = 0; i < 3; ++i) {
    engine().EnsureResident(region(),
                            {.offset = i * 8 * kPage, .length = kPage},
                            [&](absl::StatusOr<ResidentView>) { ++completed; },
                            {.cancel = cancel.get_token()});
  }
  cancel.request_stop();
  pollfd descriptor{.fd = engine().fd(), .events = POLLIN, .revents = 0};
  for (int turn = 1; turn <= 3; ++turn) {
    ASSERT_EQ(poll(&descriptor, 1, 0), 1) << "completions left, not readable";
    EXPECT_EQ(engine().Poll(1), 1u);
    EXPECT_EQ(completed, turn);
  }
  EXPECT_EQ(engine().Poll(5), 0u);
  EXPECT_EQ(poll(&descriptor, 1, 0), 0);
}

TEST_P(AsyncTest, RequestsRefusedAtOnce) {
  const std::string path = ColdFile(16);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<AsyncEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  std::vector<absl::Status> results;
  const auto record = [&](absl::StatusOr<ResidentView> view) {
    results.push_back(view.status());
  };
  engine->EnsureResident(*region, {.offset = 10 * kPage, .length = 7 * kPage},
                         record);
  engine->EnsureResident(*region, {.offset = 1, .length = ~uint64_t{0} - 1},
                         record);
  std::stop_source stopped;
  stopped.request_stop();
  engine->EnsureResident(*region, {.offset = 0, .length = kPage}, record,
                         {.cancel = stopped.get_token()});
  engine->EnsureResident(*region, {.offset = 0, .length = kPage}, record,
                         {.deadline = absl::Now() - absl::Seconds(1)});
  ASSERT_EQ(results.size(), 4u) << "a refusal did not complete inline";
  EXPECT_EQ(results[0].code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(results[0].message(),
              HasSubstr("EnsureResident \"" + path + "\" [40960, 69632)"));
  EXPECT_EQ(results[1].code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(results[2].code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(results[3].code(), absl::StatusCode::kDeadlineExceeded);

  const std::string empty_path = dir_ + "/empty";
  testing::WritePatternFile(empty_path, 0);
  absl::StatusOr<Region> empty = Region::Open(empty_path);
  ASSERT_THAT(empty, IsOk());
  absl::StatusOr<ResidentView> nothing =
      engine->WaitResident(*empty, ByteRange::All());
  ASSERT_THAT(nothing, IsOk());
  EXPECT_EQ(nothing->size(), 0u);
}

TEST_P(AsyncTest, CancelRacingCompletionCallsBackExactlyOnce) {
  const std::string path = ColdFile(4096);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<AsyncEngine> engine =
      Engine({.max_bytes_in_flight = 64 * kPage});
  ASSERT_NE(engine, nullptr);
  constexpr int kRequests = 2048;
  std::vector<std::stop_source> sources(kRequests);
  std::vector<int> calls(kRequests);
  int ok = 0;
  int cancelled = 0;
  int completed = 0;
  for (int i = 0; i < kRequests; ++i) {
    const uint64_t offset = (i * 2 % 4096) * kPage;
    engine->EnsureResident(
        *region, {.offset = offset, .length = kPage},
        [&, i, offset](absl::StatusOr<ResidentView> view) {
          ++calls[i];
          ++completed;
          if (view.ok()) {
            ++ok;
            EXPECT_EQ(view->Load<uint8_t>(7).value(),
                      static_cast<uint8_t>(testing::PatternByte(offset + 7)));
          } else {
            EXPECT_EQ(view.status().code(), absl::StatusCode::kCancelled)
                << view.status();
            ++cancelled;
          }
        },
        {.cancel = sources[i].get_token()});
  }
  std::thread canceller([&] {
    for (int i = 0; i < kRequests; i += 2) sources[i].request_stop();
  });
  PollUntil(*engine, [&] { return completed == kRequests; });
  canceller.join();
  EXPECT_EQ(engine->Poll(), 0u);
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(calls[i], 1) << i;
  EXPECT_EQ(ok + cancelled, kRequests);
  EXPECT_GE(ok, kRequests / 2) << "a request that was never cancelled failed";
}

TEST_P(AsyncTest, DestroyingTheEngineCompletesEveryRequest) {
  const std::string path = ColdFile(8192);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  // Only the pages asked for are read: a request that finds its pages
  // brought in around an earlier one would complete at once, before the
  // destructor.
  ASSERT_THAT(region->Advise(Advice::kRandom), IsOk());
  std::unique_ptr<AsyncEngine> engine =
      Engine({.max_bytes_in_flight = 256 * kPage});
  ASSERT_NE(engine, nullptr);
  // Callbacks run inside the destructor, after `engine` has let go.
  AsyncEngine* const raw = engine.get();
  bool destroying = false;
  int callbacks = 0;
  int resumed = 0;
  int made_during_shutdown = 0;
  int refused_during_shutdown = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    raw->EnsureResident(
        *region, {.offset = i * 8 * kPage, .length = 2 * kPage},
        [&](absl::StatusOr<ResidentView> view) {
          // Nothing is polled, so a callback runs inline (its pages were
          // found resident) or inside the destructor.
          ++callbacks;
          EXPECT_TRUE(view.ok() ||
                      view.status().code() == absl::StatusCode::kCancelled)
              << view.status();
          if (!destroying) return;
          // A request made while the engine shuts down ends at once, even
          // for pages that are resident.
          ++made_during_shutdown;
          raw->EnsureResident(
              *region, {.offset = 0, .length = kPage},
              [&](absl::StatusOr<ResidentView> again) {
                if (again.status().code() == absl::StatusCode::kCancelled)
                  ++refused_during_shutdown;
              });
        });
  }
  const auto awaiter = [&](uint64_t i) -> DetachedTask {
    absl::StatusOr<ResidentView> view = co_await raw->Resident(
        *region, {.offset = (i * 8 + 4) * kPage, .length = kPage});
    EXPECT_TRUE(view.ok() ||
                view.status().code() == absl::StatusCode::kCancelled);
    ++resumed;
  };
  for (uint64_t i = 0; i < 100; ++i) awaiter(i);
  destroying = true;
  engine.reset();
  EXPECT_EQ(callbacks, 1000);
  EXPECT_EQ(resumed, 100);
  // The file is cold and read without readahead, so most requests were
  // still pending, whatever the timing.
  EXPECT_GT(made_during_shutdown, 0);
  EXPECT_EQ(refused_during_shutdown, made_during_shutdown);
}

TEST_P(AsyncTest, TheDescriptorPlugsIntoEpoll) {
  const std::string path = ColdFile(64);
  absl::StatusOr<Region> region = Region::Open(path);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<AsyncEngine> engine = Engine();
  ASSERT_NE(engine, nullptr);
  pollfd descriptor{.fd = engine->fd(), .events = POLLIN, .revents = 0};
  EXPECT_EQ(poll(&descriptor, 1, 0), 0) << "readable with nothing to do";
  bool called = false;
  engine->EnsureResident(*region, {.offset = 0, .length = 64 * kPage},
                         [&](absl::StatusOr<ResidentView> view) {
                           EXPECT_THAT(view, IsOk());
                           called = true;
                         });
  // Readable once the completion is ready: Poll runs it.
  ASSERT_EQ(poll(&descriptor, 1, 60'000), 1);
  EXPECT_EQ(engine->Poll(), 1u);
  EXPECT_TRUE(called);
  EXPECT_EQ(poll(&descriptor, 1, 0), 0) << "still readable after Poll";
}

std::string BackendTestName(
    const ::testing::TestParamInfo<PrefetchBackend>& info) {
  std::string name(PrefetchBackendName(info.param));
  name.erase(std::remove(name.begin(), name.end(), '_'), name.end());
  return name;
}

INSTANTIATE_TEST_SUITE_P(Backends, AsyncTest,
                         ::testing::Values(PrefetchBackend::kIoUring,
                                           PrefetchBackend::kWorkers),
                         BackendTestName);
INSTANTIATE_TEST_SUITE_P(Backends, StalledReadTest,
                         ::testing::Values(PrefetchBackend::kIoUring,
                                           PrefetchBackend::kWorkers),
                         BackendTestName);

TEST(AsyncEngineTest, RefusesABackendThatCannotTellCompletion) {
  absl::StatusOr<std::unique_ptr<AsyncEngine>> engine =
      AsyncEngine::Create({.backend = PrefetchBackend::kMadvise});
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(engine.status().message(), HasSubstr("madvise"));
}

TEST(EventLoopTest, RunsPostedTasksTimersAndWatchedDescriptors) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_THAT(loop, IsOk());
  std::vector<std::string> order;
  const absl::Time start = absl::Now();
  (*loop)->RunAt(start + absl::Milliseconds(2), [&] { order.push_back("t2"); });
  (*loop)->RunAt(start + absl::Milliseconds(1), [&] { order.push_back("t1"); });
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  ASSERT_THAT((*loop)->Watch(pipe_fds[0],
                             [&] {
                               char byte;
                               ASSERT_EQ(read(pipe_fds[0], &byte, 1), 1);
                               order.push_back("fd");
                               EXPECT_TRUE((*loop)->Unwatch(pipe_fds[0]).ok());
                               (*loop)->Stop();
                             }),
              IsOk());
  EXPECT_EQ((*loop)->Watch(pipe_fds[0], [] {}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*loop)->Unwatch(pipe_fds[1]).code(),
            absl::StatusCode::kInvalidArgument);
  const auto sleeper = [&]() -> DetachedTask {
    co_await (*loop)->Sleep(absl::Milliseconds(3));
    order.push_back("slept");
    co_await (*loop)->Yield();
    order.push_back("yielded");
    // From another thread, as a completion would.
    std::thread([&] {
      (*loop)->Post([&] {
        order.push_back("posted");
        ASSERT_EQ(write(pipe_fds[1], "x", 1), 1);
      });
    }).join();
  };
  sleeper();
  ASSERT_THAT((*loop)->Run(), IsOk());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(3));
  EXPECT_THAT(order, ::testing::ElementsAre("t1", "t2", "slept", "yielded",
                                            "posted", "fd"));
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

}  // namespace
}  // namespace mmapio
