// mmapio touch: load the missing pages of files, many reads in flight.

#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"
#include "tools/command.h"
#include "tools/format.h"

namespace mmapio::cli {
namespace {

// Requests are this large: big enough for the device to stream, small
// enough that a bad page costs only its own request before the retry.
constexpr uint64_t kRequestBytes = 2 << 20;

// One file's missing pages, loaded through the prefetch engine: all of them
// requested at once (the engine bounds what is in flight), then, for a
// request that failed, page by page, so that one bad page costs only itself.
class FileLoad {
 public:
  FileLoad(PrefetchEngine& engine, const Region& region)
      : engine_(engine), region_(region) {}

  void Request(ByteRange range) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++outstanding_;
    }
    engine_.Prefetch(region_, range, [this, range](absl::Status status) {
      // Notified under the lock: once Finish sees the last request done, it
      // may return and destroy this object, condition variable included.
      std::lock_guard<std::mutex> lock(mutex_);
      if (status.ok()) {
        loaded_bytes_ += range.length;
      } else {
        failed_.push_back(range);
      }
      --outstanding_;
      done_.notify_all();
    });
  }

  // Waits for every request, calling `tick(loaded_bytes)` about ten times
  // a second, then retries the failed ones a page at a time.
  template <typename Tick>
  void Finish(Tick tick) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!done_.wait_for(lock, std::chrono::milliseconds(100),
                           [this] { return outstanding_ == 0; })) {
      const uint64_t loaded = loaded_bytes_;
      lock.unlock();
      tick(loaded);
      lock.lock();
    }
    const std::vector<ByteRange> failed = std::move(failed_);
    lock.unlock();
    const uint64_t page = region_.page_size();
    for (const ByteRange& range : failed) {
      for (uint64_t at = range.offset; at < range.offset + range.length;) {
        const uint64_t end =
            std::min((at / page + 1) * page, range.offset + range.length);
        absl::Status status = engine_.PrefetchAndWait(region_, {at, end - at});
        if (status.ok()) {
          loaded_bytes_ += end - at;
        } else {
          ++failed_pages_;
          if (first_error_.ok()) first_error_ = std::move(status);
        }
        at = end;
      }
    }
  }

  uint64_t loaded_bytes() const { return loaded_bytes_; }
  uint64_t failed_pages() const { return failed_pages_; }
  // Names the first page that could not be read.
  const absl::Status& first_error() const { return first_error_; }

 private:
  PrefetchEngine& engine_;
  const Region& region_;
  std::mutex mutex_;
  std::condition_variable done_;
  uint64_t outstanding_ = 0;
  uint64_t loaded_bytes_ = 0;
  std::vector<ByteRange> failed_;
  uint64_t failed_pages_ = 0;
  absl::Status first_error_;
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
the missing runs are found first and handed to mmapio's prefetch engine in
2 MiB requests, whose readahead starts at once (MMAPIO_PREFETCH_BACKEND=
io_uring|madvise to choose another backend than workers).
Prints the pages loaded and the time taken. A page that cannot be read (an
I/O error, a file truncated underneath) is reported for its file with its
offset; the pages around it and the other files are still loaded.

options:
  --range=START-END  only these bytes of each file (4k-50M, 1G-, -8M)
  --jobs=N           threads waiting for reads (default 8)
  --json             one JSON object per file
  --bytes            exact byte counts
  and the path options of "mmapio stat --help"

examples:
  mmapio touch /var/lib/db/data.bin
  mmapio touch --range=0-1G --json /srv/index
)";

int RunTouch(const std::vector<std::string>& paths, const CliOptions& options) {
  FileLoop loop("touch", options);
  absl::StatusOr<std::unique_ptr<PrefetchEngine>> engine =
      PrefetchEngine::Create(
          {.threads = options.jobs, .io_workers = options.jobs});
  if (!engine.ok()) {
    loop.Report(engine.status());
    return loop.exit_code();
  }
  const bool progress = !options.json && isatty(STDERR_FILENO);
  uint64_t total_pages = 0;
  const absl::Time start = absl::Now();
  loop.RunOnRegions(
      paths, [&](Region& region, ByteRange range) -> absl::Status {
        const absl::Time file_start = absl::Now();
        uint64_t missing_bytes = 0;
        uint64_t missing_pages = 0;
        const uint64_t page = region.page_size();
        FileLoad load(**engine, region);
        absl::Status scan = ForEachRun(region, range, [&](const PageRun& run) {
          if (run.resident) return;
          missing_bytes += run.length;
          missing_pages += (run.length + page - 1) / page;
          for (uint64_t done = 0; done < run.length; done += kRequestBytes) {
            load.Request({run.offset + done,
                          std::min(kRequestBytes, run.length - done)});
          }
        });
        load.Finish([&](uint64_t loaded) {
          if (progress) DrawProgress(region.path(), loaded, missing_bytes);
        });
        if (progress) absl::FPrintF(stderr, "\r\033[K");
        if (!scan.ok()) return scan;
        const uint64_t loaded_pages = (load.loaded_bytes() + page - 1) / page;
        total_pages += loaded_pages;
        const double seconds = absl::ToDoubleSeconds(absl::Now() - file_start);
        if (options.json) {
          absl::PrintF("%s\n", JsonLine()
                                   .Add("path", region.path())
                                   .Add("missing_pages", missing_pages)
                                   .Add("loaded_pages", loaded_pages)
                                   .Add("failed_pages", load.failed_pages())
                                   .Add("seconds", seconds)
                                   .Build());
        } else {
          absl::PrintF("%s: loaded %d of %d missing pages (%s) in %.3f s%s\n",
                       region.path(), loaded_pages, missing_pages,
                       FormatBytes(loaded_pages * page, options.exact_bytes),
                       seconds,
                       load.failed_pages() == 0
                           ? ""
                           : absl::StrCat("; ", load.failed_pages(),
                                          " pages could not be read"));
        }
        return load.first_error();
      });
  if (!options.json) {
    absl::PrintF("total: loaded %d pages in %.3f s\n", total_pages,
                 absl::ToDoubleSeconds(absl::Now() - start));
  }
  return loop.exit_code();
}

}  // namespace mmapio::cli
