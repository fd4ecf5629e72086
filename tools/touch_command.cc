// mmapio touch: load the missing pages of files, many reads in flight.

#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"
#include "tools/command.h"
#include "tools/format.h"

namespace mmapio::cli {
namespace {

// Each read is split into chunks this large: big enough for the device to
// stream, small enough to spread over the workers.
constexpr uint64_t kChunkBytes = 2 << 20;
// Chunks whose readahead is started but not yet waited for.
constexpr size_t kMaxQueued = 64;

// Worker threads that populate chunks of a region. The submitting thread
// starts readahead (MADV_WILLNEED) for each chunk as it queues it, so many
// reads are in flight; the workers wait for them (MADV_POPULATE_READ).
class LoadPool {
 public:
  explicit LoadPool(int threads) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }

  ~LoadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  void Submit(Region& region, ByteRange chunk) {
    // Readahead is a hint: where it fails, Populate reads and reports.
    (void)region.Advise(Advice::kWillNeed, chunk);
    std::unique_lock<std::mutex> lock(mutex_);
    room_.wait(lock, [this] { return queue_.size() < kMaxQueued; });
    queue_.push_back(Task{&region, chunk});
    ++pending_;
    ready_.notify_one();
  }

  struct Progress {
    uint64_t loaded_bytes = 0;
    uint64_t failed_pages = 0;
    absl::Status first_error;  // Names the first page that failed.
  };

  // Waits for every submitted chunk, calling `tick` about ten times a second
  // meanwhile; returns what was done since the last Finish.
  template <typename Tick>
  Progress Finish(Tick tick) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (pending_ > 0) {
      if (done_.wait_for(lock, std::chrono::milliseconds(100),
                         [this] { return pending_ == 0; })) {
        break;
      }
      const uint64_t loaded = progress_.loaded_bytes;
      lock.unlock();
      tick(loaded);
      lock.lock();
    }
    Progress result = std::move(progress_);
    progress_ = Progress();
    return result;
  }

 private:
  struct Task {
    Region* region;
    ByteRange chunk;
  };

  void Work() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      const Task task = queue_.front();
      queue_.pop_front();
      room_.notify_one();
      lock.unlock();
      Progress done = Load(*task.region, task.chunk);
      lock.lock();
      progress_.loaded_bytes += done.loaded_bytes;
      progress_.failed_pages += done.failed_pages;
      if (progress_.first_error.ok())
        progress_.first_error = std::move(done.first_error);
      if (--pending_ == 0) done_.notify_all();
    }
  }

  // Populates `chunk`; when a page in it fails, loads the rest page by page
  // so that one bad page costs only itself.
  static Progress Load(Region& region, ByteRange chunk) {
    Progress done;
    if (absl::Status status = region.Populate(chunk); status.ok()) {
      done.loaded_bytes = chunk.length;
      return done;
    }
    const uint64_t page = region.page_size();
    for (uint64_t offset = chunk.offset;
         offset < chunk.offset + chunk.length;) {
      const uint64_t end =
          std::min((offset / page + 1) * page, chunk.offset + chunk.length);
      absl::Status status = region.Populate({offset, end - offset});
      if (status.ok()) {
        done.loaded_bytes += end - offset;
      } else {
        ++done.failed_pages;
        if (done.first_error.ok()) done.first_error = std::move(status);
      }
      offset = end;
    }
    return done;
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable room_;
  std::condition_variable done_;
  std::deque<Task> queue_;
  uint64_t pending_ = 0;
  bool stopping_ = false;
  Progress progress_;
  std::vector<std::thread> workers_;
};

void DrawProgress(const std::string& path, uint64_t done, uint64_t total) {
  constexpr int kBar = 30;
  const int filled = total == 0 ? kBar : static_cast<int>(kBar * done / total);
  absl::FPrintF(stderr, "\r[%s%s] %s / %s  %s\033[K", std::string(filled, '#'),
                std::string(kBar - filled, ' '), HumanBytes(done),
                HumanBytes(total), path);
}

}  // namespace

const char kTouchHelp[] =
    R"(usage: mmapio touch [OPTIONS] PATH...

Loads the pages of each file that are not in the page cache, and only those:
the missing runs are found first, split into 2 MiB chunks, their readahead
started together, and --jobs workers wait for them with MADV_POPULATE_READ.
Prints the pages loaded and the time taken. A page that cannot be read (an
I/O error, a file truncated underneath) is reported for its file with its
offset; the pages around it and the other files are still loaded.

options:
  --range=START-END  only these bytes of each file (4k-50M, 1G-, -8M)
  --jobs=N           reads waited for at once (default 8)
  --json             one JSON object per file
  --bytes            exact byte counts
  and the path options of "mmapio stat --help"

examples:
  mmapio touch /var/lib/db/data.bin
  mmapio touch --range=0-1G --json /srv/index
)";

int RunTouch(const std::vector<std::string>& paths, const CliOptions& options) {
  FileLoop loop("touch", options);
  LoadPool pool(std::max(1, options.jobs));
  const bool progress = !options.json && isatty(STDERR_FILENO);
  uint64_t total_pages = 0;
  const absl::Time start = absl::Now();
  loop.RunOnRegions(
      paths, [&](Region& region, ByteRange range) -> absl::Status {
        const absl::Time file_start = absl::Now();
        uint64_t missing_bytes = 0;
        uint64_t missing_pages = 0;
        const uint64_t page = region.page_size();
        absl::Status scan = ForEachRun(region, range, [&](const PageRun& run) {
          if (run.resident) return;
          missing_bytes += run.length;
          missing_pages += (run.length + page - 1) / page;
          for (uint64_t done = 0; done < run.length; done += kChunkBytes) {
            pool.Submit(region,
                        ByteRange{run.offset + done,
                                  std::min(kChunkBytes, run.length - done)});
          }
        });
        LoadPool::Progress result = pool.Finish([&](uint64_t loaded) {
          if (progress) DrawProgress(region.path(), loaded, missing_bytes);
        });
        if (progress) absl::FPrintF(stderr, "\r\033[K");
        if (!scan.ok()) return scan;
        const uint64_t loaded_pages = (result.loaded_bytes + page - 1) / page;
        total_pages += loaded_pages;
        const double seconds = absl::ToDoubleSeconds(absl::Now() - file_start);
        if (options.json) {
          absl::PrintF("%s\n", JsonLine()
                                   .Add("path", region.path())
                                   .Add("missing_pages", missing_pages)
                                   .Add("loaded_pages", loaded_pages)
                                   .Add("failed_pages", result.failed_pages)
                                   .Add("seconds", seconds)
                                   .Build());
        } else {
          absl::PrintF("%s: loaded %d of %d missing pages (%s) in %.3f s%s\n",
                       region.path(), loaded_pages, missing_pages,
                       FormatBytes(loaded_pages * page, options.exact_bytes),
                       seconds,
                       result.failed_pages == 0
                           ? ""
                           : absl::StrCat("; ", result.failed_pages,
                                          " pages could not be read"));
        }
        return result.first_error;
      });
  if (!options.json) {
    absl::PrintF("total: loaded %d pages in %.3f s\n", total_pages,
                 absl::ToDoubleSeconds(absl::Now() - start));
  }
  return loop.exit_code();
}

}  // namespace mmapio::cli
