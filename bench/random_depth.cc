// random_depth: distinct cold 4 KiB pages read by one consuming thread with
// D requests in flight, for the mechanisms a program can use without mmapio
// (a plain fault, MADV_WILLNEED then touch, fio's O_DIRECT io_uring) and for
// mmapio's engines.
//
// Every variant reads a fresh slice of the file's page permutation, so no
// read finds a page an earlier read of the run brought in; every mapping is
// MADV_RANDOM, so no fault reads around its page. The variants that read
// through a mapping check each page with mincore right before asking for it
// and sum the stamps of the pages they read.
//
// Two more variants without mmapio bound what a design can reach here: a
// buffered io_uring read of each page, completed on the consuming thread
// itself (no other thread involved, but the consumer submits the I/O and may
// sleep doing so), and the same ring on a thread of its own, to which the
// consumer hands its pages (one wake-up each way, as any design that keeps
// I/O off the consumer needs).

#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/bench_support.h"
#include "bench/cold_bench.h"
#include "bench/cold_harness.h"
#include "mmapio/async_engine.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"
#include "tools/format.h"

extern char** environ;

namespace mmapio::bench {
namespace {

struct RandomState {
  RandomState(const RandomFile& file, uint64_t pages_per_run, uint64_t seed)
      : file(file),
        permutation(file.bytes / kPage, seed),
        pages_per_run(pages_per_run),
        fio_seed(seed) {}

  RandomFile file;
  PagePermutation permutation;
  uint64_t pages_per_run;
  uint64_t fio_seed;
  std::string fio_missing;   // Why fio cannot run, or empty.
  std::string ring_missing;  // Why the io_uring bounds cannot run, or empty.
  AsyncEngines async;
  std::unique_ptr<PrefetchEngine> prefetch_default;
  // The default engine with other numbers of waiting threads: the sweep
  // behind PrefetchOptions::threads.
  std::vector<std::pair<int, std::unique_ptr<AsyncEngine>>> by_threads;
};

// The result of a run that read `pages` and summed their stamps into `sum`.
RunResult PagesResult(const std::vector<uint64_t>& pages, uint64_t sum,
                      double seconds, const ResidentCounter& resident,
                      const CallTimes& times) {
  RunResult m;
  m.seconds = seconds;
  m.work = static_cast<double>(pages.size());
  m.checksum = sum;
  m.expected_checksum = StampSum(pages);
  m.pages_asked = pages.size();
  m.metrics.emplace_back("resident_share", resident.share());
  m.metrics.emplace_back("resident_checked",
                         static_cast<double>(resident.checked()));
  times.AddMetrics(m.metrics);
  return m;
}

// A Region over the file whose faults read no more than their page, as the
// raw mappings are advised.
Region RandomRegion(const std::string& path) {
  Region region = OpenRegion(path);
  if (absl::Status s = region.Advise(Advice::kRandom); !s.ok()) {
    Die(s.ToString());
  }
  return region;
}

const uint8_t* Base(const Region& region) {
  return reinterpret_cast<const uint8_t*>(region.bytes().data());
}

// Waits until `fd` is readable.
void WaitReadable(int fd) {
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, -1) < 0) {
    if (errno != EINTR) DieErrno("poll");
  }
}

// ---------------------------------------------------------------------------
// Without mmapio.

// Touches each page in order: one blocking fault at a time, whatever the
// depth.
RunResult MmapNaive(RandomState& s) {
  const std::vector<uint64_t> pages = s.permutation.Next(s.pages_per_run);
  Mapping map(s.file.path, s.file.bytes);
  map.Advise(MADV_RANDOM);
  ResidentCounter resident;
  CallTimes times(0);
  uint64_t sum = 0;
  const double start = Now();
  for (uint64_t page : pages) {
    const uint8_t* p = map.data() + page * kPage;
    resident.Check(p);
    sum += Load64(p);
  }
  return PagesResult(pages, sum, Now() - start, resident, times);
}

// MADV_WILLNEED for each page of a batch of `depth`, then touches them: the
// kernel's best single mechanism for a mapped reader. Its "calls" are the
// madvise calls.
RunResult WillneedTouch(RandomState& s, int depth) {
  const std::vector<uint64_t> pages = s.permutation.Next(s.pages_per_run);
  Mapping map(s.file.path, s.file.bytes);
  map.Advise(MADV_RANDOM);
  ResidentCounter resident;
  CallTimes times(pages.size());
  ThreadCallTimes on_this_thread(times);
  uint64_t sum = 0;
  const size_t d = static_cast<size_t>(depth);
  const double start = Now();
  for (size_t i = 0; i < pages.size(); i += d) {
    const size_t end = std::min(pages.size(), i + d);
    for (size_t j = i; j < end; ++j) {
      uint8_t* p = const_cast<uint8_t*>(map.data()) + pages[j] * kPage;
      resident.Check(p);
      CallScope call("madvise");
      if (madvise(p, kPage, MADV_WILLNEED) != 0) {
        DieErrno("madvise(MADV_WILLNEED)");
      }
    }
    for (size_t j = i; j < end; ++j) {
      sum += Load64(map.data() + pages[j] * kPage);
    }
  }
  return PagesResult(pages, sum, Now() - start, resident, times);
}

// ---------------------------------------------------------------------------
// io_uring buffered reads: what completing on the consumer costs, against
// handing the I/O to another thread.

// A ring of buffered 8-byte reads, one per page: a read completes once its
// page is in the page cache. Single issuer with deferred task work, so a
// completion runs on the ring's thread when it asks for completions, and
// nothing interrupts it before.
class PageReadRing {
 public:
  // Why a ring cannot be made here, or empty.
  static std::string Unavailable() {
    io_uring ring;
    const int error = io_uring_queue_init(
        8, &ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
    if (error < 0) {
      return absl::StrCat("io_uring with DEFER_TASKRUN: ", strerror(-error));
    }
    io_uring_queue_exit(&ring);
    return "";
  }

  PageReadRing(int fd, unsigned entries) : fd_(fd) {
    const int error = io_uring_queue_init(
        entries, &ring_,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
    if (error < 0) {
      errno = -error;
      DieErrno("io_uring_queue_init");
    }
  }
  ~PageReadRing() { io_uring_queue_exit(&ring_); }
  PageReadRing(const PageReadRing&) = delete;
  PageReadRing& operator=(const PageReadRing&) = delete;

  io_uring* ring() { return &ring_; }

  void Read(uint64_t page) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) Die("io_uring: no free submission entry");
    // Every read lands in the same word: only its completion matters.
    io_uring_prep_read(sqe, fd_, &sink_, sizeof(sink_), page * kPage);
    io_uring_sqe_set_data64(sqe, page);
  }

  // Submits what was queued; timed as a call, since it is where a consumer
  // that submits may sleep.
  void Submit() {
    CallScope call("io_uring_submit");
    const int submitted = io_uring_submit(&ring_);
    if (submitted < 0) {
      errno = -submitted;
      DieErrno("io_uring_submit");
    }
  }

  // Waits for at least one completion, then calls done(page) for each.
  template <typename Done>
  void Complete(Done done) {
    io_uring_cqe* cqe;
    int error;
    while ((error = io_uring_wait_cqe(&ring_, &cqe)) == -EINTR) {
    }
    if (error < 0) {
      errno = -error;
      DieErrno("io_uring_wait_cqe");
    }
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      if (cqe->user_data == kWake) continue;
      if (cqe->res != static_cast<int>(sizeof(uint64_t))) {
        Die(absl::StrCat("io_uring read of page ", cqe->user_data, " returned ",
                         cqe->res));
      }
      done(cqe->user_data);
    }
    io_uring_cq_advance(&ring_, seen);
  }

  static constexpr uint64_t kWake = ~uint64_t{0};

 private:
  const int fd_;
  io_uring ring_;
  uint64_t sink_ = 0;
};

// The consuming thread keeps D reads in flight on its own ring and sums each
// page when its read completes.
RunResult UringInline(RandomState& s, int depth) {
  const std::vector<uint64_t> pages = s.permutation.Next(s.pages_per_run);
  Mapping map(s.file.path, s.file.bytes);
  map.Advise(MADV_RANDOM);
  const int fd = open(s.file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) DieErrno("open " + s.file.path);
  ResidentCounter resident;
  CallTimes times(pages.size() + 64);
  ThreadCallTimes on_this_thread(times);
  uint64_t sum = 0;
  size_t next = 0;
  size_t done = 0;
  const double start = Now();
  {
    PageReadRing ring(fd, static_cast<unsigned>(std::max(depth, 8)));
    while (done < pages.size()) {
      for (; next < pages.size() && next - done < static_cast<size_t>(depth);
           ++next) {
        resident.Check(map.data() + pages[next] * kPage);
        ring.Read(pages[next]);
      }
      ring.Submit();
      ring.Complete([&](uint64_t page) {
        sum += Load64(map.data() + page * kPage);
        ++done;
      });
    }
  }
  const double seconds = Now() - start;
  close(fd);
  return PagesResult(pages, sum, seconds, resident, times);
}

// The same ring, owned by a thread of its own: the consumer hands it pages
// and is woken through an eventfd when some have been read.
class RingThread {
 public:
  RingThread(int fd, unsigned entries)
      : fd_(fd),
        entries_(entries),
        to_ring_(eventfd(0, EFD_CLOEXEC)),
        to_consumer_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (to_ring_ < 0 || to_consumer_ < 0) DieErrno("eventfd");
    thread_ = std::thread([this] { Run(); });
  }
  ~RingThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    (void)eventfd_write(to_ring_, 1);
    thread_.join();
    close(to_ring_);
    close(to_consumer_);
  }

  // Queues `pages` for reading: one wake-up of the ring's thread.
  void Read(const std::vector<uint64_t>& pages) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      asked_.insert(asked_.end(), pages.begin(), pages.end());
    }
    (void)eventfd_write(to_ring_, 1);
  }

  // Waits until some pages have been read, and moves them to `read`.
  void Wait(std::vector<uint64_t>& read) {
    WaitReadable(to_consumer_);
    uint64_t count;
    (void)eventfd_read(to_consumer_, &count);
    std::lock_guard<std::mutex> lock(mutex_);
    read.swap(read_);
  }

 private:
  void Run() {
    PageReadRing ring(fd_, entries_);
    uint64_t wake_count = 0;
    const auto listen = [&] {
      io_uring_sqe* sqe = io_uring_get_sqe(ring.ring());
      io_uring_prep_read(sqe, to_ring_, &wake_count, sizeof(wake_count), 0);
      io_uring_sqe_set_data64(sqe, PageReadRing::kWake);
    };
    listen();
    std::vector<uint64_t> asked;
    std::vector<uint64_t> read;
    while (true) {
      ring.Submit();
      ring.Complete([&](uint64_t page) { read.push_back(page); });
      // Complete skips the wake-up's completion: its count says it came.
      const bool woken = std::exchange(wake_count, 0) != 0;
      if (!read.empty()) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          read_.insert(read_.end(), read.begin(), read.end());
        }
        read.clear();
        (void)eventfd_write(to_consumer_, 1);
      }
      if (!woken) continue;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
        asked.swap(asked_);
      }
      for (uint64_t page : asked) ring.Read(page);
      asked.clear();
      listen();
    }
  }

  const int fd_;
  const unsigned entries_;
  const int to_ring_;
  const int to_consumer_;
  std::mutex mutex_;
  std::vector<uint64_t> asked_;
  std::vector<uint64_t> read_;
  bool stopping_ = false;
  std::thread thread_;
};

RunResult UringHandoff(RandomState& s, int depth) {
  const std::vector<uint64_t> pages = s.permutation.Next(s.pages_per_run);
  Mapping map(s.file.path, s.file.bytes);
  map.Advise(MADV_RANDOM);
  const int fd = open(s.file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) DieErrno("open " + s.file.path);
  ResidentCounter resident;
  CallTimes times(0);
  uint64_t sum = 0;
  size_t next = 0;
  size_t done = 0;
  std::vector<uint64_t> asked;
  std::vector<uint64_t> read;
  const double start = Now();
  {
    // Room for every page in flight and the wake-up's read.
    RingThread ring(fd, static_cast<unsigned>(std::max(depth, 8)) * 2);
    while (done < pages.size()) {
      for (; next < pages.size() && next - done < static_cast<size_t>(depth);
           ++next) {
        resident.Check(map.data() + pages[next] * kPage);
        asked.push_back(pages[next]);
      }
      if (!asked.empty()) ring.Read(asked);
      asked.clear();
      ring.Wait(read);
      for (uint64_t page : read) {
        sum += Load64(map.data() + page * kPage);
        ++done;
      }
      read.clear();
    }
  }
  const double seconds = Now() - start;
  close(fd);
  return PagesResult(pages, sum, seconds, resident, times);
}

// ---------------------------------------------------------------------------
// fio: the device's limit with no page cache in the way.

// The number after "key" : in `json`, searching from `from`.
std::optional<double> NumberAfter(const std::string& json, size_t from,
                                  const std::string& key) {
  const size_t at = json.find(absl::StrCat("\"", key, "\""), from);
  if (at == std::string::npos) return std::nullopt;
  const size_t colon = json.find(':', at);
  if (colon == std::string::npos) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(json.c_str() + colon + 1, &end);
  if (end == json.c_str() + colon + 1) return std::nullopt;
  return value;
}

bool FioInstalled() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    if (access(absl::StrCat(dir, "/fio").c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Runs fio on the data file: pages_per_run random 4 KiB O_DIRECT reads
// through io_uring at `depth`. fio's random map (on by default) reads each
// block at most once, so the blocks are distinct as the other variants'
// pages are. fio reads into its own buffers: no checksum.
RunResult FioDirect(RandomState& s, int depth) {
  const uint64_t seed = s.fio_seed++;
  std::vector<std::string> args = {
      "fio",
      "--name=randread",
      absl::StrCat("--filename=", s.file.path),
      "--readonly",
      "--direct=1",
      "--ioengine=io_uring",
      "--rw=randread",
      "--bs=4k",
      absl::StrCat("--iodepth=", depth),
      absl::StrCat("--size=", s.file.bytes),
      absl::StrCat("--io_size=", s.pages_per_run * kPage),
      absl::StrCat("--randseed=", seed),
      "--output-format=json",
  };
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) DieErrno("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  pid_t pid;
  const int error =
      posix_spawnp(&pid, "fio", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (error != 0) {
    errno = error;
    DieErrno("spawn fio");
  }
  std::string json;
  char buffer[65536];
  for (ssize_t n; (n = read(out[0], buffer, sizeof(buffer))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) DieErrno("read fio's output");
    json.append(buffer, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) DieErrno("waitpid fio");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Die(absl::StrCat("fio failed (status ", status, "): ", args[2]));
  }
  const size_t read_section = json.find("\"read\"");
  const std::optional<double> iops =
      read_section == std::string::npos
          ? std::nullopt
          : NumberAfter(json, read_section, "iops");
  const std::optional<double> io_bytes =
      read_section == std::string::npos
          ? std::nullopt
          : NumberAfter(json, read_section, "io_bytes");
  if (!iops.has_value() || !io_bytes.has_value() || *iops <= 0) {
    Die(absl::StrCat("cannot find the read IOPS in fio's output: ",
                     json.substr(0, 2000)));
  }
  const double reads = *io_bytes / kPage;
  if (reads != static_cast<double>(s.pages_per_run)) {
    Die(absl::StrFormat("fio read %.0f blocks, asked for %d", reads,
                        s.pages_per_run));
  }
  RunResult m;
  m.work = reads;
  m.seconds = reads / *iops;
  m.pages_asked = s.pages_per_run;
  return m;
}

// ---------------------------------------------------------------------------
// mmapio.

// Keeps `depth` EnsureResident requests in flight. Each callback, run by
// Poll on this thread, sums its page and asks for the next one.
class AsyncSingle {
 public:
  AsyncSingle(AsyncEngine& engine, const Region& region,
              const std::vector<uint64_t>& pages, ResidentCounter& resident)
      : engine_(engine), region_(region), pages_(pages), resident_(resident) {}

  uint64_t Run(int depth) {
    for (int i = 0; i < depth && next_ < pages_.size(); ++i) Issue();
    while (done_ < pages_.size()) {
      size_t ran;
      {
        CallScope call("Poll");
        ran = engine_.Poll();
      }
      if (ran == 0 && done_ < pages_.size()) WaitReadable(engine_.fd());
    }
    return sum_;
  }

 private:
  void Issue() {
    const uint64_t offset = pages_[next_++] * kPage;
    resident_.Check(Base(region_) + offset);
    CallScope call("EnsureResident");
    engine_.EnsureResident(region_, {offset, kPage},
                           [this](absl::StatusOr<ResidentView> view) {
                             UserScope user;
                             if (!view.ok()) Die(view.status().ToString());
                             sum_ += Load64(view->bytes().data());
                             ++done_;
                             if (next_ < pages_.size()) Issue();
                           });
  }

  AsyncEngine& engine_;
  const Region& region_;
  const std::vector<uint64_t>& pages_;
  ResidentCounter& resident_;
  size_t next_ = 0;
  size_t done_ = 0;
  uint64_t sum_ = 0;
};

RunResult AsyncSingleRun(RandomState& s, AsyncEngine& engine, int depth) {
  const std::vector<uint64_t> pages = s.permutation.Next(s.pages_per_run);
  Region region = RandomRegion(s.file.path);
  ResidentCounter resident;
  // A Poll per completion at most, and one per wait that found none.
  CallTimes times(3 * pages.size() + 64);
  ThreadCallTimes on_this_thread(times);
  AsyncSingle run(engine, region, pages, resident);
  const double start = Now();
  const uint64_t sum = run.Run(depth);
  return PagesResult(pages, sum, Now() - start, resident, times);
}

// EnsureResidentBatch of `depth` pages, waits for the batch, then the next.
RunResult AsyncBatchRun(RandomState& s, AsyncEngine& engine, int depth) {
  const std::vector<uint64_t> pages = s.permutation.Next(s.pages_per_run);
  Region region = RandomRegion(s.file.path);
  ResidentCounter resident;
  CallTimes times(3 * pages.size() + 64);
  ThreadCallTimes on_this_thread(times);
  uint64_t sum = 0;
  const size_t d = static_cast<size_t>(depth);
  std::vector<ByteRange> ranges;
  ranges.reserve(d);
  const double start = Now();
  for (size_t i = 0; i < pages.size(); i += d) {
    ranges.clear();
    for (size_t j = i; j < std::min(pages.size(), i + d); ++j) {
      resident.Check(Base(region) + pages[j] * kPage);
      ranges.push_back({pages[j] * kPage, kPage});
    }
    bool finished = false;
    {
      CallScope call("EnsureResidentBatch");
      engine.EnsureResidentBatch(
          region, ranges,
          [&sum](size_t, absl::StatusOr<ResidentView> view) {
            UserScope user;
            if (!view.ok()) Die(view.status().ToString());
            sum += Load64(view->bytes().data());
          },
          [&finished](absl::Status status) {
            UserScope user;
            if (!status.ok()) Die(status.ToString());
            finished = true;
          });
    }
    while (!finished) {
      size_t ran;
      {
        CallScope call("Poll");
        ran = engine.Poll();
      }
      if (ran == 0 && !finished) WaitReadable(engine.fd());
    }
  }
  return PagesResult(pages, sum, Now() - start, resident, times);
}

// Keeps `depth` Prefetch requests in flight. Their callbacks run on the
// engine's threads and queue the page; this thread waits on the queue,
// sums each page and asks for the next.
RunResult EnginePrefetchRun(RandomState& s, PrefetchEngine& engine, int depth) {
  const std::vector<uint64_t> pages = s.permutation.Next(s.pages_per_run);
  Region region = RandomRegion(s.file.path);
  ResidentCounter resident;
  CallTimes times(pages.size() + 64);
  ThreadCallTimes on_this_thread(times);
  struct Queue {
    std::mutex mutex;
    std::condition_variable ready_cv;
    std::vector<uint64_t> ready;
    absl::Status error;
  };
  auto queue = std::make_shared<Queue>();
  queue->ready.reserve(static_cast<size_t>(depth));
  size_t next = 0;
  const auto issue = [&] {
    const uint64_t page = pages[next++];
    resident.Check(Base(region) + page * kPage);
    CallScope call("Prefetch");
    engine.Prefetch(region, {page * kPage, kPage},
                    [queue, page](absl::Status status) {
                      std::lock_guard<std::mutex> lock(queue->mutex);
                      if (!status.ok() && queue->error.ok()) {
                        queue->error = status;
                      }
                      queue->ready.push_back(page);
                      queue->ready_cv.notify_one();
                    });
  };
  uint64_t sum = 0;
  size_t done = 0;
  std::vector<uint64_t> ready;
  ready.reserve(static_cast<size_t>(depth));
  const double start = Now();
  for (int i = 0; i < depth && next < pages.size(); ++i) issue();
  while (done < pages.size()) {
    {
      std::unique_lock<std::mutex> lock(queue->mutex);
      queue->ready_cv.wait(lock, [&] { return !queue->ready.empty(); });
      if (!queue->error.ok()) Die(queue->error.ToString());
      ready.swap(queue->ready);
    }
    for (uint64_t page : ready) {
      sum += Load64(Base(region) + page * kPage);
      ++done;
      if (next < pages.size()) issue();
    }
    ready.clear();
  }
  return PagesResult(pages, sum, Now() - start, resident, times);
}

}  // namespace

Workload RandomDepthWorkload(const ColdConfig& config, const RandomFile& file) {
  auto state =
      std::make_shared<RandomState>(file, config.random_pages, config.seed);
  RandomState* s = state.get();
  if (!FioInstalled()) s->fio_missing = "fio is not installed";
  s->ring_missing = PageReadRing::Unavailable();
  s->async = AsyncEngines::Create();
  s->prefetch_default = CreateOrDie<PrefetchEngine>();
  const int default_threads = PrefetchOptions{}.threads;
  for (int threads : {1, 2, 4}) {
    if (threads == default_threads) continue;
    PrefetchOptions options;
    options.threads = threads;
    s->by_threads.emplace_back(threads, CreateOrDie<AsyncEngine>(options));
  }
  const std::string default_backend = s->async.default_backend();
  const std::string prefetch_backend(
      PrefetchBackendName(s->prefetch_default->backend()));

  Workload w;
  w.name = "random_depth";
  w.unit = "reads/s";
  w.state = state;
  w.files = {file.path};
  w.description = absl::StrFormat(
      "Distinct cold 4 KiB pages of a %.1f GiB file, %d per run (a fresh "
      "slice of a seeded permutation for every run), read by one consuming "
      "thread with D requests in flight. Every mapping is MADV_RANDOM (a "
      "Region advised kRandom), so a fault reads only its page. The variants "
      "that read through a mapping check one page in %d with mincore right "
      "before asking for it, and sum the stamps of the pages they read; the "
      "sum must match the page list.",
      static_cast<double>(file.bytes) / (1 << 30), config.random_pages,
      ResidentCounter::SamplingInterval());
  w.metric_notes = {
      {"resident_share",
       "share of requests whose page was already resident when asked "
       "(mincore right before asking, on a sample of the requests); must be "
       "~0"},
      {"resident_checked", "requests checked for resident_share"},
      {"amplification",
       "pages of the file cached after the run (cachestat) per page asked; "
       "1.0 means nothing was read around the pages, ~0 for O_DIRECT"},
  };
  for (auto& note : CallMetricNotes(
           "time inside each mmapio call of the consuming thread "
           "(EnsureResident, EnsureResidentBatch, Poll, Prefetch), without the "
           "callbacks they run; for willneed_touch, its madvise calls")) {
    w.metric_notes.push_back(std::move(note));
  }
  w.config = {
      {"file_bytes", absl::StrCat(file.bytes)},
      {"pages_per_run", absl::StrCat(config.random_pages)},
      {"seed", absl::StrCat(config.seed)},
      {"async_default_backend", cli::JsonString(default_backend)},
      {"prefetch_default_backend", cli::JsonString(prefetch_backend)},
  };

  w.variants.push_back(
      {"mmap_naive", "baseline",
       "mmap + MADV_RANDOM, touch each page in order: one fault at a time, "
       "depth does not apply",
       [s] { return MmapNaive(*s); }, ""});
  for (int depth : config.depths) {
    const std::vector<std::pair<std::string, std::string>> params = {
        {"depth", absl::StrCat(depth)}};
    w.variants.push_back(
        {"willneed_touch", "baseline",
         "mmap + MADV_RANDOM; MADV_WILLNEED each page of a batch of D, then "
         "touch them",
         [s, depth] { return WillneedTouch(*s, depth); }, "", params});
    w.variants.push_back({"fio_direct", "reference",
                          "fio: O_DIRECT io_uring random 4 KiB reads at "
                          "iodepth D, distinct blocks, no page cache; fio "
                          "reads into its own buffers, so no checksum",
                          [s, depth] { return FioDirect(*s, depth); },
                          s->fio_missing, params});
    w.variants.push_back(
        {"uring_inline", "reference",
         "mmap + MADV_RANDOM; the consuming thread keeps D buffered 8-byte "
         "io_uring reads in flight (single issuer, deferred task work) and "
         "touches each page when its read completes: no other thread, but "
         "the consumer submits the I/O and may sleep in io_uring_submit",
         [s, depth] { return UringInline(*s, depth); }, s->ring_missing,
         params});
    w.variants.push_back(
        {"uring_handoff", "reference",
         "uring_inline with the ring on a thread of its own: the consumer "
         "hands it pages and is woken by an eventfd when some are read (one "
         "wake-up each way, the least a design that keeps I/O off the "
         "consumer needs)",
         [s, depth] { return UringHandoff(*s, depth); }, s->ring_missing,
         params});
    w.variants.push_back(
        {"async_single", "mmapio",
         absl::StrCat("AsyncEngine::Create() (", default_backend,
                      "): D EnsureResident in flight; each callback, run by "
                      "Poll on this thread, sums its page and asks for the "
                      "next; poll() on fd() when nothing is ready"),
         [s, depth] {
           return AsyncSingleRun(*s, *s->async.default_engine, depth);
         },
         "", params});
    w.variants.push_back(
        {"async_batch", "mmapio",
         absl::StrCat("AsyncEngine::Create() (", default_backend,
                      "): EnsureResidentBatch of D pages, wait for it, then "
                      "the next"),
         [s, depth] {
           return AsyncBatchRun(*s, *s->async.default_engine, depth);
         },
         "", params});
    w.variants.push_back(
        {"engine_prefetch", "mmapio",
         absl::StrCat("PrefetchEngine::Create() (", prefetch_backend,
                      "): D Prefetch in flight; callbacks on the engine's "
                      "threads queue the page, this thread sums it and asks "
                      "for the next"),
         [s, depth] {
           return EnginePrefetchRun(*s, *s->prefetch_default, depth);
         },
         "", params});
    for (auto& [threads, engine_ptr] : s->by_threads) {
      AsyncEngine* engine = engine_ptr.get();
      w.variants.push_back(
          {absl::StrCat("async_single_threads_", threads), "mmapio",
           absl::StrCat("async_single with PrefetchOptions::threads = ",
                        threads, " (default ", default_threads, ")"),
           [s, engine, depth] { return AsyncSingleRun(*s, *engine, depth); },
           "", params});
    }
    for (auto& [backend, made] : s->async.forced) {
      const std::string name(PrefetchBackendName(backend));
      // The default backend forced is async_single again.
      if (name == default_backend) continue;
      AsyncEngine* engine = made.engine.get();
      w.variants.push_back(
          {absl::StrCat("async_single_", name), "mmapio",
           absl::StrCat("async_single with the ", name, " backend forced"),
           [s, engine, depth] { return AsyncSingleRun(*s, *engine, depth); },
           made.failure, params});
    }
  }
  w.engines = [s] {
    std::vector<std::pair<std::string, std::string>> engines = s->async.Stats();
    engines.emplace_back(
        "prefetch_default",
        cli::JsonString(s->prefetch_default->stats().ToString()));
    return engines;
  };
  return w;
}

}  // namespace mmapio::bench
