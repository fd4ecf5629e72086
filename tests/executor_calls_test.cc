// What an executor thread may call: nothing that can wait for the disk.
// The calls the engines make on the requesting thread are checked against
// the real kernel with a seccomp filter on that thread alone, and the
// engine's queueing against a FUSE server that does not answer.

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/async_engine.h"
#include "mmapio/prefetch.h"
#include "mmapio/prefetch_stream.h"
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

// The system call numbers the filter trapped, for the test to report.
std::atomic<int> trapped_calls{0};
std::atomic<int> last_trapped{-1};

void OnTrappedCall(int, siginfo_t* info, void*) {
  trapped_calls.fetch_add(1);
  last_trapped.store(info->si_syscall);
}

// Makes the calling thread (and threads it creates later) raise SIGSYS
// instead of making a system call that can sleep on I/O or on the device's
// request queue: MADV_WILLNEED and MADV_POPULATE_READ/WRITE, fadvise,
// readahead and io_uring_enter. Returns false (with a reason) when seccomp
// is not available.
bool TrapCallsThatCanWait(std::string* why) {
  struct sigaction action {};
  action.sa_sigaction = OnTrappedCall;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGSYS, &action, nullptr);
  const uint32_t kTrap = SECCOMP_RET_TRAP;
  const uint32_t kAllow = SECCOMP_RET_ALLOW;
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, kAllow),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fadvise64, 9, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_readahead, 8, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 7, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_madvise, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, kAllow),
      // madvise: which advice (the low word of the third argument).
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[2])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_WILLNEED, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_POPULATE_READ, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_POPULATE_WRITE, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, kAllow),
      BPF_STMT(BPF_RET | BPF_K, kTrap),
  };
  sock_fprog filter{.len = sizeof(program) / sizeof(program[0]),
                    .filter = program};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) != 0) {
    *why = absl::StrCat("seccomp: ", strerror(errno));
    return false;
  }
  return true;
}

// A region over a cold pattern file of `pages` pages, in a directory of its
// own.
absl::StatusOr<Region> ColdRegion(uint64_t pages) {
  const std::string path = testing::MakeTempDir() + "/data";
  testing::WritePatternFile(path, pages * kPage);
  (void)testing::MakeResident(path, {});
  return Region::Open(path);
}

TEST(ExecutorCallsTest, NoCallOnTheRequestingThreadCanWaitForTheDisk) {
  absl::StatusOr<Region> region = ColdRegion(2048);
  ASSERT_THAT(region, IsOk());
  // The engines' threads exist before the filter: only the requesting
  // thread is watched.
  std::unique_ptr<AsyncEngine> engine = testing::OrFail(AsyncEngine::Create());
  std::unique_ptr<PrefetchEngine> prefetch =
      testing::OrFail(PrefetchEngine::Create());

  std::string skip;
  int failures = 0;
  std::atomic<int> prefetched{0};
  std::thread executor([&] {
    if (!TrapCallsThatCanWait(&skip)) return;
    int completed = 0;
    const auto count = [&](const absl::StatusOr<ResidentView>& view) {
      if (!view.ok()) ++failures;
      ++completed;
    };
    // Single requests, each a distinct cold page.
    for (uint64_t page = 0; page < 256; page += 2) {
      engine->EnsureResident(*region, {.offset = page * kPage, .length = 10},
                             count);
    }
    // A batch, and a large range of many chunks.
    std::vector<ByteRange> ranges;
    for (uint64_t page = 257; page < 512; page += 2) {
      ranges.push_back({.offset = page * kPage, .length = kPage});
    }
    bool batch_done = false;
    engine->EnsureResidentBatch(
        *region, ranges,
        [&](size_t, absl::StatusOr<ResidentView> view) {
          if (!view.ok()) ++failures;
        },
        [&](absl::Status) { batch_done = true; });
    engine->EnsureResident(
        *region, {.offset = 512 * kPage, .length = 768 * kPage}, count);
    // The prefetch engine itself, and a stream over it.
    for (uint64_t page = 1280; page < 1536; page += 4) {
      prefetch->Prefetch(*region, {.offset = page * kPage, .length = kPage},
                         [&](absl::Status status) {
                           if (status.ok()) ++prefetched;
                         });
    }
    {
      PrefetchStream stream(*prefetch, *region);
      for (uint64_t page = 1536; page < 1600; ++page) {
        stream.WillRead({.offset = page * kPage, .length = kPage});
      }
    }
    PollUntil(*engine, [&] { return completed == 129 && batch_done; });
  });
  executor.join();
  if (!skip.empty()) GTEST_SKIP() << skip;
  prefetch.reset();
  EXPECT_EQ(trapped_calls.load(), 0) << "system call " << last_trapped.load()
                                     << " made on the requesting thread";
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(prefetched.load(), 64);
}

TEST(ExecutorCallsTest, BothEnginesDefaultToTheSameBackend) {
  std::unique_ptr<AsyncEngine> engine = testing::OrFail(AsyncEngine::Create());
  std::unique_ptr<PrefetchEngine> prefetch =
      testing::OrFail(PrefetchEngine::Create());
  EXPECT_EQ(engine->prefetch_engine().backend(), prefetch->backend());
}

// The fast path's mincore is a system call per request; while requests keep
// missing it is asked for one in kSampleEvery, and for every request again
// once one is found resident. Where a request completed tells: at once on
// the calling thread after a mincore that found it resident, else on an
// engine thread.
TEST(ExecutorCallsTest, TheResidentCheckIsSampledWhileRequestsMiss) {
  absl::StatusOr<Region> region = ColdRegion(256);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine =
      testing::OrFail(PrefetchEngine::Create());
  // Whether a request for `page` completed on this thread.
  const auto inline_completion = [&](uint64_t page) {
    const std::thread::id caller = std::this_thread::get_id();
    std::thread::id completed_on;
    std::promise<void> done;
    engine->Prefetch(*region, {.offset = page * kPage, .length = kPage},
                     [&](absl::Status status) {
                       EXPECT_THAT(status, IsOk());
                       completed_on = std::this_thread::get_id();
                       done.set_value();
                     });
    done.get_future().wait();
    return completed_on == caller;
  };
  // Cold pages: the first kMissesBeforeSampling misses make the check a
  // sample, and the next request is the first sampled (a miss too).
  uint64_t cold = 0;
  for (; cold <= PrefetchEngine::kMissesBeforeSampling; ++cold) {
    EXPECT_FALSE(inline_completion(cold));
  }
  // Pages 0 to 2 are resident now (and kept so: this kernel reclaims idle
  // page cache; the sanitizers stub mlock), but only the sample finds it so.
  ASSERT_EQ(syscall(__NR_mlock, region->bytes().data(), 3 * kPage), 0);
  for (uint32_t i = 1; i < PrefetchEngine::kSampleEvery; ++i) {
    EXPECT_FALSE(inline_completion(0)) << "request " << i << " was asked";
  }
  EXPECT_TRUE(inline_completion(0));
  // A hit: every request is asked again.
  EXPECT_TRUE(inline_completion(1));
  EXPECT_TRUE(inline_completion(2));
  syscall(__NR_munlock, region->bytes().data(), 3 * kPage);
}

// Requests made inside a PrefetchEngine::Batch wake the dispatch thread once,
// at its end; waiting inside one flushes it instead of waiting for ever.
TEST(ExecutorCallsTest, ABatchWakesTheDispatcherAtItsEndOrWhenWaitedIn) {
  absl::StatusOr<Region> region = ColdRegion(256);
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine =
      testing::OrFail(PrefetchEngine::Create());
  std::atomic<int> ok{0};
  {
    PrefetchEngine::Batch batch(*engine);
    for (uint64_t page = 0; page < 64; page += 4) {
      engine->Prefetch(*region, {.offset = page * kPage, .length = kPage},
                       [&](absl::Status status) {
                         if (status.ok()) ++ok;
                       });
    }
    // A hang here is the failure.
    EXPECT_THAT(
        engine->PrefetchAndWait(*region, {.offset = 100 * kPage, .length = 1}),
        IsOk());
    for (uint64_t page = 128; page < 192; page += 4) {
      engine->Prefetch(*region, {.offset = page * kPage, .length = kPage},
                       [&](absl::Status status) {
                         if (status.ok()) ++ok;
                       });
    }
  }
  engine.reset();  // Waits for every request.
  EXPECT_EQ(ok.load(), 32);
}

// A request beyond the in-flight bound queues in the engine instead of
// blocking its caller, and one abandoned while queued reads nothing.
TEST(ExecutorCallsTest,
     PrefetchQueuesBeyondTheBoundAndAbandonedRequestsReadNothing) {
  testing::ScopedEioFilesystem fs(64 * kPage, {});
  if (fs.path().empty()) GTEST_SKIP() << fs.skip_reason();
  absl::StatusOr<Region> region = Region::Open(fs.path());
  ASSERT_THAT(region, IsOk());
  std::unique_ptr<PrefetchEngine> engine =
      testing::OrFail(PrefetchEngine::Create({.max_bytes_in_flight = kPage}));
  std::atomic<int> ok{0};
  std::atomic<int> cancelled{0};
  const auto count = [&](absl::Status status) {
    if (status.ok()) ++ok;
    if (status.code() == absl::StatusCode::kCancelled) {
      EXPECT_THAT(status.message(), HasSubstr("Prefetch \"" + fs.path()));
      ++cancelled;
    }
  };
  std::stop_source abandon;
  kill(fs.server_pid(), SIGSTOP);
  // Page 0 takes the whole bound and waits for the stopped server; every
  // call after it returns at once (a hang here is the failure).
  engine->Prefetch(*region, {.offset = 0, .length = kPage}, count);
  for (uint64_t page = 8; page < 16; ++page) {
    engine->Prefetch(*region, {.offset = page * kPage, .length = kPage}, count,
                     abandon.get_token());
  }
  engine->Prefetch(*region, {.offset = 32 * kPage, .length = kPage}, count);
  abandon.request_stop();
  kill(fs.server_pid(), SIGCONT);
  engine.reset();  // Waits for every request.
  EXPECT_EQ(ok.load(), 2);
  EXPECT_EQ(cancelled.load(), 8);
  // Through the region's own mapping: opening the FUSE file again would drop
  // its page cache.
  std::vector<unsigned char> resident(64);
  ASSERT_EQ(mincore(const_cast<std::byte*>(region->bytes().data()), 64 * kPage,
                    resident.data()),
            0);
  for (uint64_t page = 8; page < 16; ++page) {
    EXPECT_FALSE(resident[page] & 1)
        << "abandoned page " << page << " was read";
  }
  EXPECT_TRUE(resident[0] & 1);
  EXPECT_TRUE(resident[32] & 1);
}

}  // namespace
}  // namespace mmapio
