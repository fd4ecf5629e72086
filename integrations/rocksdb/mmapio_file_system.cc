#include "integrations/rocksdb/mmapio_file_system.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stop_token>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "mmapio/fault_info.h"
#include "mmapio/guarded.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"
#include "rocksdb/utilities/object_registry.h"

namespace mmapio::rocksdb_plugin {
namespace {

using ::rocksdb::FSReadRequest;
using ::rocksdb::IODebugContext;
using ::rocksdb::IOOptions;
using ::rocksdb::IOStatus;
using ::rocksdb::Slice;

// mmapio's messages name the operation, the file and the range.
IOStatus ToIOStatus(const absl::Status& status) {
  if (status.ok()) return IOStatus::OK();
  const std::string message = absl::StrCat("mmapio: ", status.message());
  if (status.code() == absl::StatusCode::kNotFound) {
    return IOStatus::PathNotFound(message);
  }
  return IOStatus::IOError(message);
}

// The part of [offset, offset + length) inside the region: RocksDB reads
// past the end of a file and expects a short result.
ByteRange Clip(const Region& region, uint64_t offset, size_t length) {
  if (offset >= region.size()) return {region.size(), 0};
  return {offset, std::min<uint64_t>(length, region.size() - offset)};
}

class MmapioRandomAccessFile;

// A ReadAsync request. Shared by RocksDB's handle and the engine's callback,
// which may run after RocksDB aborted the request and deleted its handle.
// (std::mutex rather than absl::Mutex here and below: ThreadSanitizer sees
// the pthread calls of the one, not the uninstrumented Abseil of the other.)
struct AsyncRead {
  FSReadRequest request;
  std::function<void(const FSReadRequest&, void*)> callback;
  void* callback_arg = nullptr;
  // RocksDB keeps the file open until it has polled or aborted the request.
  const MmapioRandomAccessFile* file = nullptr;
  ByteRange range;
  std::stop_source stop;

  std::mutex mutex;
  std::condition_variable ready_changed;
  bool ready = false;  // Guarded by mutex, as all below.
  absl::Status status;
  // Delivered to RocksDB, or aborted: the callback never runs again.
  bool finished = false;
};
using AsyncHandle = std::shared_ptr<AsyncRead>;

class MmapioRandomAccessFile : public rocksdb::FSRandomAccessFile {
 public:
  MmapioRandomAccessFile(Region region, AsyncEngine& engine)
      : region_(std::move(region)),
        engine_(engine),
        pages_read_(
            (PagesTouched(region_.offset(), region_.size(), region_.page_size())
                 .count +
             63) /
            64) {}

  // Waits for the prefetches RocksDB did not wait for: the region must
  // outlive its requests.
  ~MmapioRandomAccessFile() override {
    std::unique_lock<std::mutex> lock(mutex_);
    prefetched_.wait(lock, [this] { return prefetching_ == 0; });
  }

  IOStatus Read(uint64_t offset, size_t n, const IOOptions& /*options*/,
                Slice* result, char* scratch,
                IODebugContext* /*debug*/) const override {
    return CopyOut(Clip(region_, offset, n), scratch, result);
  }

  IOStatus MultiRead(FSReadRequest* requests, size_t count,
                     const IOOptions& /*options*/,
                     IODebugContext* /*debug*/) override {
    Stats().multi_reads.fetch_add(1, std::memory_order_relaxed);
    std::vector<ByteRange> ranges;
    ranges.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      ranges.push_back(Clip(region_, requests[i].offset, requests[i].len));
    }
    // All the batch's reads start at once, so the device works on them
    // together, before the first copy waits; the copies then find their
    // pages in flight or read.
    if (count > 1) {
      for (const ByteRange& range : ranges) {
        (void)region_.Advise(Advice::kWillNeed, range);
      }
    }
    for (size_t i = 0; i < count; ++i) {
      requests[i].status =
          CopyOut(ranges[i], requests[i].scratch, &requests[i].result);
    }
    return IOStatus::OK();
  }

  IOStatus Prefetch(uint64_t offset, size_t n, const IOOptions& /*options*/,
                    IODebugContext* /*debug*/) override {
    Stats().prefetches.fetch_add(1, std::memory_order_relaxed);
    const ByteRange range = Clip(region_, offset, n);
    // A hint, taken as the kernel's own readahead takes it: the reads start
    // now and RocksDB's next Read waits only for what has not arrived.
    // (Through the prefetch engine, whose workers also map the pages,
    // seekrandom ran at 0.66-0.71x of posix; this way at 0.91x:
    // bench/RESULTS.md.)
    if (range.length > 0) (void)region_.Advise(Advice::kWillNeed, range);
    return IOStatus::OK();
  }

  void Hint(AccessPattern pattern) override {
    switch (pattern) {
      case kSequential:
        (void)region_.Advise(Advice::kSequential);
        break;
      case kRandom:
        (void)region_.Advise(Advice::kRandom);
        break;
      case kWillNeed:
        Stats().prefetches.fetch_add(1, std::memory_order_relaxed);
        if (region_.size() > 0) PrefetchInBackground(ByteRange::All());
        break;
      default:
        break;
    }
  }

  IOStatus ReadAsync(FSReadRequest& request, const IOOptions& /*options*/,
                     std::function<void(const FSReadRequest&, void*)> callback,
                     void* callback_arg, void** io_handle,
                     rocksdb::IOHandleDeleter* deleter,
                     IODebugContext* /*debug*/) override {
    Stats().async_reads.fetch_add(1, std::memory_order_relaxed);
    auto read = std::make_shared<AsyncRead>();
    read->request = request;
    read->callback = std::move(callback);
    read->callback_arg = callback_arg;
    read->range = Clip(region_, request.offset, request.len);
    read->file = this;
    *io_handle = new AsyncHandle(read);
    *deleter = [](void* handle) { delete static_cast<AsyncHandle*>(handle); };
    if (read->range.length == 0) {
      std::lock_guard<std::mutex> lock(read->mutex);
      read->ready = true;
      return IOStatus::OK();
    }
    engine_.EnsureResident(region_, read->range,
                           [read](absl::StatusOr<ResidentView> view) {
                             std::lock_guard<std::mutex> lock(read->mutex);
                             read->ready = true;
                             read->status = view.status();
                             read->ready_changed.notify_all();
                           },
                           {.cancel = read->stop.get_token()});
    return IOStatus::OK();
  }

  // Copies `range` into `scratch` (GuardedRead): a range with a page this
  // file has never read is read from the file, as posix would, without
  // asking the kernel first; the others are copied from the mapping when
  // they are resident. Blocks RocksDB reads once (no block cache, scans)
  // thus cost one pread each, and blocks it reads again one mincore and,
  // once mapped, no fault. This holds for ReadAsync's blocks too, though the
  // engine made them resident: copying those from the mapping when the file
  // had not read them measured slower (async seekrandom 0.92-0.97x of posix
  // against 0.98-1.08x).
  IOStatus CopyOut(
      ByteRange range, char* scratch, Slice* result,
      ExpectedResidency expected = ExpectedResidency::kUnknown) const {
    PluginStats& stats = Stats();
    stats.reads.fetch_add(1, std::memory_order_relaxed);
    if (!MarkRead(range)) expected = ExpectedResidency::kMissing;
    const CopyResult copied = GuardedRead(
        region_, range.offset,
        absl::MakeSpan(reinterpret_cast<std::byte*>(scratch), range.length),
        expected);
    if (!copied.status.ok()) {
      if (GetFaultInfo(copied.status).has_value()) {
        stats.faults.fetch_add(1, std::memory_order_relaxed);
      }
      *result = Slice(scratch, 0);
      return ToIOStatus(copied.status);
    }
    stats.bytes.fetch_add(range.length, std::memory_order_relaxed);
    *result = Slice(scratch, range.length);
    return IOStatus::OK();
  }

 private:
  // Marks the pages of `range` read; whether all of them were already.
  bool MarkRead(ByteRange range) const {
    if (range.length == 0) return true;
    const PageInterval pages = PagesTouched(region_.offset() + range.offset,
                                            range.length, region_.page_size());
    const uint64_t first = pages.first - region_.offset() / region_.page_size();
    bool all = true;
    for (uint64_t page = first; page < first + pages.count; ++page) {
      const uint64_t bit = uint64_t{1} << (page % 64);
      all &= (pages_read_[page / 64].fetch_or(bit, std::memory_order_relaxed) &
              bit) != 0;
    }
    return all;
  }

  void PrefetchInBackground(ByteRange range) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++prefetching_;
    }
    engine_.prefetch_engine().Prefetch(region_, range, [this](absl::Status) {
      // Notified under the lock: the destructor may return once it sees 0.
      std::lock_guard<std::mutex> lock(mutex_);
      --prefetching_;
      prefetched_.notify_all();
    });
  }

  // Mutable for Advise, which records the advice given, from RocksDB's
  // const Read.
  mutable Region region_;
  AsyncEngine& engine_;
  std::mutex mutex_;
  std::condition_variable prefetched_;
  int prefetching_ = 0;  // Guarded by mutex_.
  // One bit per page of the region: read at least once through this file.
  mutable std::vector<std::atomic<uint64_t>> pages_read_;
};

}  // namespace

PluginStats& Stats() {
  static PluginStats* const stats = new PluginStats;
  return *stats;
}

std::string StatsLine() {
  const PluginStats& stats = Stats();
  return absl::StrCat(
      "mmapio-rocksdb: files=", stats.files.load(),
      " reads=", stats.reads.load(), " bytes=", stats.bytes.load(),
      " multi_reads=", stats.multi_reads.load(),
      " async_reads=", stats.async_reads.load(),
      " prefetches=", stats.prefetches.load(), " faults=", stats.faults.load());
}

IOStatus MmapioFileSystem::Create(
    const std::shared_ptr<rocksdb::FileSystem>& target,
    std::unique_ptr<MmapioFileSystem>* result) {
  absl::StatusOr<std::unique_ptr<AsyncEngine>> engine = AsyncEngine::Create();
  if (!engine.ok()) return ToIOStatus(engine.status());
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) return ToIOStatus(loop.status());
  if (absl::Status attached = (*loop)->Attach(**engine); !attached.ok()) {
    return ToIOStatus(attached);
  }
  result->reset(
      new MmapioFileSystem(target, *std::move(engine), *std::move(loop)));
  return IOStatus::OK();
}

MmapioFileSystem::MmapioFileSystem(
    const std::shared_ptr<rocksdb::FileSystem>& target,
    std::unique_ptr<AsyncEngine> engine, std::unique_ptr<EventLoop> loop)
    : FileSystemWrapper(target),
      engine_(std::move(engine)),
      loop_(std::move(loop)),
      loop_thread_([this] { (void)loop_->Run(); }) {}

MmapioFileSystem::~MmapioFileSystem() {
  loop_->Stop();
  loop_thread_.join();
}

IOStatus MmapioFileSystem::NewRandomAccessFile(
    const std::string& path, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
    IODebugContext* debug) {
  // Direct I/O bypasses the page cache, which a mapping cannot.
  if (options.use_direct_reads) {
    return target()->NewRandomAccessFile(path, options, result, debug);
  }
  absl::StatusOr<Region> region = Region::Open(path);
  if (!region.ok()) return ToIOStatus(region.status());
  Stats().files.fetch_add(1, std::memory_order_relaxed);
  *result =
      std::make_unique<MmapioRandomAccessFile>(*std::move(region), *engine_);
  return IOStatus::OK();
}

IOStatus MmapioFileSystem::Poll(std::vector<void*>& io_handles,
                                size_t /*min_completions*/) {
  // Every request is waited for: RocksDB polls for what it needs now.
  for (void* handle : io_handles) {
    const AsyncHandle& read = *static_cast<AsyncHandle*>(handle);
    absl::Status status;
    {
      std::unique_lock<std::mutex> lock(read->mutex);
      read->ready_changed.wait(lock, [&] { return read->ready; });
      if (read->finished) continue;
      read->finished = true;
      status = read->status;
    }
    FSReadRequest& request = read->request;
    if (status.ok()) {
      request.status =
          read->file->CopyOut(read->range, request.scratch, &request.result,
                              ExpectedResidency::kResident);
    } else {
      request.result = Slice(request.scratch, 0);
      request.status = ToIOStatus(status);
    }
    read->callback(request, read->callback_arg);
  }
  return IOStatus::OK();
}

IOStatus MmapioFileSystem::AbortIO(std::vector<void*>& io_handles) {
  for (void* handle : io_handles) {
    const AsyncHandle& read = *static_cast<AsyncHandle*>(handle);
    {
      std::lock_guard<std::mutex> lock(read->mutex);
      read->finished = true;
    }
    read->stop.request_stop();
  }
  return IOStatus::OK();
}

namespace {

void PrintStats() { std::fprintf(stderr, "%s\n", StatsLine().c_str()); }

// Registers "mmapio" when the library is loaded (LD_PRELOAD, dlopen or a
// link), so that RocksDB programs select it by name.
const bool kRegistered = [] {
  rocksdb::ObjectLibrary::Default()->AddFactory<rocksdb::FileSystem>(
      MmapioFileSystem::kClassName(),
      [](const std::string& /*uri*/,
         std::unique_ptr<rocksdb::FileSystem>* guard,
         std::string* error) -> rocksdb::FileSystem* {
        std::unique_ptr<MmapioFileSystem> file_system;
        const IOStatus status = MmapioFileSystem::Create(
            rocksdb::FileSystem::Default(), &file_system);
        if (!status.ok()) {
          *error = status.ToString();
          return nullptr;
        }
        guard->reset(file_system.release());
        return guard->get();
      });
  const char* stats = std::getenv("MMAPIO_ROCKSDB_STATS");
  if (stats != nullptr && std::strcmp(stats, "1") == 0) {
    std::atexit(PrintStats);
  }
  return true;
}();

}  // namespace
}  // namespace mmapio::rocksdb_plugin
