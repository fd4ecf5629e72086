// mmapio touch: load the missing pages of files, many reads in flight.

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"
#include "tools/command.h"
#include "tools/console.h"
#include "tools/file_system.h"
#include "tools/file_walk.h"
#include "tools/format.h"
#include "tools/output.h"
#include "tools/progress.h"
#include "tools/report.h"

namespace mmapio::cli {
namespace {

// Requests are this large: big enough for the device to stream, small
// enough that a bad page costs only its own request before the retry.
constexpr uint64_t kRequestBytes = 2 << 20;

// Requests in flight for one file at most (128 MiB), so that what the engine
// holds for them stays bounded however large the file.
constexpr uint64_t kMaxRequestsInFlight = 64;

// One file's pages, loaded through the prefetch engine: up to
// kMaxRequestsInFlight requests at a time, then, for a request that failed,
// page by page, so that one bad page costs only itself. `tick(loaded_bytes)`
// is called about ten times a second while requests are waited for.
class FileLoad {
 public:
  FileLoad(PrefetchEngine& engine, const Region& region,
           std::function<void(uint64_t)> tick)
      : engine_(engine), region_(region), tick_(std::move(tick)) {}

  // Requests `range` in kRequestBytes pieces.
  void Request(ByteRange range) {
    for (uint64_t done = 0; done < range.length; done += kRequestBytes) {
      RequestPiece(
          {range.offset + done, std::min(kRequestBytes, range.length - done)});
    }
  }

  // Waits for every request, then retries the failed ones a page at a time.
  void Finish() {
    std::unique_lock<std::mutex> lock(mutex_);
    WaitUntil(lock, [this] { return outstanding_ == 0; });
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
  void RequestPiece(ByteRange range) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      WaitUntil(lock, [this] { return outstanding_ < kMaxRequestsInFlight; });
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

  // Waits under `lock` for `ready`, ticking meanwhile.
  template <typename Ready>
  void WaitUntil(std::unique_lock<std::mutex>& lock, Ready ready) {
    while (!done_.wait_for(lock, std::chrono::milliseconds(100), ready)) {
      const uint64_t loaded = loaded_bytes_;
      lock.unlock();
      tick_(loaded);
      lock.lock();
    }
  }

  PrefetchEngine& engine_;
  const Region& region_;
  const std::function<void(uint64_t)> tick_;
  std::mutex mutex_;
  std::condition_variable done_;
  uint64_t outstanding_ = 0;
  uint64_t loaded_bytes_ = 0;
  std::vector<ByteRange> failed_;
  uint64_t failed_pages_ = 0;
  absl::Status first_error_;
};

// The bytes of `path` missing from the page cache (all of them where the
// kernel hides it), by one cachestat or mincore: what touch will load.
uint64_t MissingBytes(const std::string& path, const CliOptions& options) {
  absl::StatusOr<FileResidency> file =
      SummarizeFile(path, options.range.value_or(ByteRange::All()));
  if (file.ok()) {
    return (file->summary.pages - file->summary.resident_pages) *
           file->page_size;
  }
  absl::StatusOr<Region> region = Region::Open(path);
  return region.ok() ? region->size() : 0;
}

enum TouchColumn { kPath, kMissing, kLoaded, kLoadedSize, kFailed, kSeconds };

std::vector<Column> TouchColumns() {
  return {
      Column::Path(),
      Column::Number("MISSING", "missing_pages"),
      Column::Number("LOADED", "loaded_pages"),
      Column::Number("LOADED-SIZE", "loaded_bytes", Unit::kBytes),
      Column::Number("FAILED", "failed_pages"),
      Column::Number("SECONDS", "seconds", Unit::kSeconds),
  };
}

}  // namespace

const char kTouchHelp[] =
    R"(usage: mmapio touch [OPTIONS] PATH...

Loads the pages of each file that are not in the page cache, and only those:
the missing runs are found first and handed to mmapio's prefetch engine in
2 MiB requests, whose readahead starts at once (MMAPIO_PREFETCH_BACKEND=
io_uring|madvise to choose another backend than workers).
Prints, per file that needed loading, its missing pages, the pages loaded
(count and size), those that could not be read and the seconds taken, then
a total line. A page that cannot be read (an I/O error, a file truncated
underneath) is reported for its file with its offset; the pages around it
and the other files are still loaded. On a terminal, stderr shows progress:
bytes loaded of those missing, rate, time left and the current file.

The holes of sparse files are skipped: they read as zeros without any I/O
(--holes loads them too). A file whose data, with what the run loaded
before it, is more than the memory available (MemAvailable; on Windows,
the available physical memory) is refused,
since its first pages would be evicted to make room for its last
(--force loads it anyway). The kernel hides which pages are cached of files
you cannot write (Windows, of every file); of those, every page is loaded,
and stderr says so once.

options:
  --range=START-END  only these bytes of each file (4k-50M, 1G-, -8M)
  --jobs=N           threads waiting for reads (default 8)
  --holes            load the holes of sparse files too
  --force            load files larger than the memory available
  --summary          print only the total, on one line
  --verbose          list the files that needed nothing too
  --progress         show progress even when stderr is not a terminal
  --no-progress      never show progress
  --json             one JSON object per file, then {"total": {...}}; with
                     --summary, one object
  --bytes            exact byte counts

JSON fields: path, missing_pages (null where the kernel hides the page
cache), loaded_pages, loaded_bytes, failed_pages, seconds.
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
  const bool show_progress = ShowProgress(options);
  const Plan plan =
      show_progress ? PlanFiles(paths, options, MissingBytes) : Plan{paths};
  Progress progress(show_progress, plan.bytes, plan.files.size());
  // Anything printed goes on a line of its own, the progress line erased.
  Report report(TouchColumns(), options.report,
                [&progress](absl::string_view text) {
                  progress.Erase();
                  Print(text);
                });
  loop.set_before_error([&progress] { progress.Erase(); });
  const std::optional<AvailableMemory> available = MemoryAvailable();
  uint64_t planned_bytes = 0;  // Data of the files taken so far.
  bool said_hidden = false;
  const absl::Time start = absl::Now();
  loop.RunOnRegions(
      plan.files, [&](Region& region, ByteRange range) -> absl::Status {
        const absl::Time file_start = absl::Now();
        const uint64_t page = region.page_size();
        // The data of the file, once: the holes of a sparse file read as
        // zeros without I/O, unless --holes.
        std::vector<ByteRange> extents;
        if (options.holes) {
          extents.push_back(range);
        } else if (absl::Status status = ForEachDataExtent(
                       region, range,
                       [&](ByteRange extent) { extents.push_back(extent); });
                   !status.ok()) {
          return status;
        }
        uint64_t data_bytes = 0;
        for (const ByteRange& extent : extents) data_bytes += extent.length;
        if (!options.force && available.has_value() &&
            planned_bytes + data_bytes > available->bytes) {
          return absl::FailedPreconditionError(absl::StrCat(
              "\"", region.path(), "\" ",
              FormatRange(range.offset, range.length), ": ",
              HumanBytes(data_bytes), " to load",
              planned_bytes == 0
                  ? ""
                  : absl::StrCat(" after ", HumanBytes(planned_bytes),
                                 " of the files before it"),
              " is more than the ", HumanBytes(available->bytes),
              " of memory available (", available->name,
              "); --force loads it anyway"));
        }
        planned_bytes += data_bytes;
        // Where the page cache is hidden (files the caller cannot write;
        // every file on Windows), every page is loaded, as vmtouch does,
        // rather than none.
        const bool visible = region.PageCacheVisible();
        if (!visible && !said_hidden) {
          said_hidden = true;
          progress.Erase();
          absl::FPrintF(stderr,
                        "mmapio touch: %s; loading every page of those\n",
                        kHiddenPageCache);
        }
        progress.StartFile(region.path());
        uint64_t missing_pages = 0;
        FileLoad load(**engine, region,
                      [&](uint64_t loaded) { progress.SetFileDone(loaded); });
        absl::Status scan;
        for (const ByteRange& extent : extents) {
          if (!visible) {
            load.Request(extent);
            continue;
          }
          absl::Status runs =
              ForEachRun(region, extent, [&](const PageRun& run) {
                if (run.resident) return;
                missing_pages +=
                    PagesTouched(region.offset() + run.offset, run.length, page)
                        .count;
                load.Request({run.offset, run.length});
              });
          if (scan.ok()) scan = std::move(runs);
        }
        load.Finish();
        progress.SetFileDone(load.loaded_bytes());
        if (!scan.ok()) return scan;
        const uint64_t loaded_pages = (load.loaded_bytes() + page - 1) / page;
        std::vector<Value> record(kSeconds + 1);
        record[kPath] = region.path();
        record[kMissing] =
            visible ? Value(missing_pages) : Value(std::monostate{});
        record[kLoaded] = loaded_pages;
        record[kLoadedSize] = loaded_pages * page;
        record[kFailed] = load.failed_pages();
        record[kSeconds] = absl::ToDoubleSeconds(absl::Now() - file_start);
        // A file that needed nothing is only counted, unless --verbose.
        if (options.verbose || loaded_pages > 0 || load.failed_pages() > 0) {
          report.Add(std::move(record));
        } else {
          report.AddToTotals(record);
        }
        return load.first_error();
      });
  progress.Erase();
  report.SetTotal(kSeconds, absl::ToDoubleSeconds(absl::Now() - start));
  report.Finish();
  SuggestSummary("touch", report, options);
  return loop.exit_code();
}

}  // namespace mmapio::cli
