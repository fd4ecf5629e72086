#include "mmapio/prefetch.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/platform.h"
#include "mmapio/internal/prefetch_backend.h"
#include "mmapio/internal/region_context.h"

namespace mmapio {
namespace {

constexpr uint64_t kMaxChunkBytes = uint64_t{2} << 20;

// The Batch open on this thread, if any, and whether a request made in it
// found the dispatch thread waiting.
struct ThisThreadBatch {
  PrefetchEngine* engine = nullptr;
  bool wake = false;
};
thread_local ThisThreadBatch this_thread_batch;

// Requests no larger than this are one chunk: every readahead window is at
// least this large by default, and asking the device for its window costs a
// system call.
constexpr uint64_t kOneChunkBytes = uint64_t{128} << 10;

absl::StatusOr<std::unique_ptr<internal::PrefetchBackendImpl>> MakeBackend(
    PrefetchBackend backend, const PrefetchOptions& options,
    internal::RequestFinisher finish) {
  switch (backend) {
    case PrefetchBackend::kIoUring:
      return internal::MakeIoUringBackend(options, std::move(finish));
    case PrefetchBackend::kWorkers:
      return internal::MakeWorkersBackend(options, std::move(finish));
    case PrefetchBackend::kWindows:
      return internal::MakeWindowsBackend(options, std::move(finish));
    case PrefetchBackend::kMadvise:
    case PrefetchBackend::kAuto:
      break;
  }
  return internal::MakeMadviseBackend(std::move(finish));
}

}  // namespace

absl::string_view PrefetchBackendName(PrefetchBackend backend) {
  switch (backend) {
    case PrefetchBackend::kAuto:
      return "auto";
    case PrefetchBackend::kIoUring:
      return "io_uring";
    case PrefetchBackend::kWorkers:
      return "workers";
    case PrefetchBackend::kMadvise:
      return "madvise";
    case PrefetchBackend::kWindows:
      return "windows";
  }
  return "unknown";
}

absl::StatusOr<PrefetchBackend> ParsePrefetchBackend(absl::string_view name) {
  for (PrefetchBackend backend :
       {PrefetchBackend::kAuto, PrefetchBackend::kIoUring,
        PrefetchBackend::kWorkers, PrefetchBackend::kMadvise,
        PrefetchBackend::kWindows}) {
    if (absl::AsciiStrToLower(name) == PrefetchBackendName(backend))
      return backend;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("prefetch backend \"", name,
                   "\" is none of auto, io_uring, workers, madvise, windows"));
}

absl::StatusOr<PrefetchBackend> RequestedBackend(
    const PrefetchOptions& options) {
  if (options.backend != PrefetchBackend::kAuto) return options.backend;
  const char* forced = getenv("MMAPIO_PREFETCH_BACKEND");
  if (forced == nullptr || *forced == '\0') return PrefetchBackend::kAuto;
  absl::StatusOr<PrefetchBackend> parsed = ParsePrefetchBackend(forced);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("MMAPIO_PREFETCH_BACKEND: ", parsed.status().message()));
  }
  return *parsed;
}

absl::StatusOr<std::unique_ptr<PrefetchEngine>> PrefetchEngine::Create(
    PrefetchOptions options) {
  if (options.threads < 1 || options.io_workers < 1 ||
      options.ring_entries < 1 || options.max_bytes_in_flight == 0) {
    return absl::InvalidArgumentError(
        "PrefetchEngine::Create: threads, io_workers, ring_entries and "
        "max_bytes_in_flight must be positive");
  }
  absl::StatusOr<PrefetchBackend> requested = RequestedBackend(options);
  if (!requested.ok()) return requested.status();
  const PrefetchBackend backend = *requested == PrefetchBackend::kAuto
                                      ? internal::DefaultPrefetchBackend()
                                      : *requested;
  // The engine exists first: the backend's finisher calls it.
  std::unique_ptr<PrefetchEngine> engine(new PrefetchEngine(options, backend));
  absl::StatusOr<std::unique_ptr<internal::PrefetchBackendImpl>> impl =
      MakeBackend(backend, options,
                  [engine = engine.get()](internal::PrefetchRequest* request,
                                          absl::Status status) {
                    engine->Finish(request, std::move(status));
                  });
  if (!impl.ok()) return impl.status();
  engine->impl_ = *std::move(impl);
  engine->dispatcher_ = std::thread([e = engine.get()] { e->Dispatch(); });
  return engine;
}

PrefetchEngine::PrefetchEngine(PrefetchOptions options, PrefetchBackend backend)
    : options_(options), backend_(backend) {}

PrefetchEngine::~PrefetchEngine() {
  if (!dispatcher_.joinable()) return;  // Never started.
  {
    internal::MutexLock lock(&mutex_);
    stopping_ = true;
    if (dispatcher_waiting_) dispatch_.Signal();
    while (unfinished_ != 0) all_finished_.Wait(&mutex_);
  }
  dispatcher_.join();
  impl_.reset();
}

uint64_t PrefetchEngine::ChunkBytes(const Region& region,
                                    uint64_t request_bytes) {
  const uint64_t page = region.page_size();
  uint64_t bytes = options_.chunk_bytes;
  if (bytes == 0) {
    if (request_bytes <= kOneChunkBytes) return request_bytes;
    const uint64_t window = internal::ReadaheadBytes(region.fd());
    bytes = window == 0 ? kMaxChunkBytes : std::min(window, kMaxChunkBytes);
  }
  return std::max(page, bytes / page * page);
}

bool PrefetchEngine::HasRoom(uint64_t bytes) const {
  return bytes_in_flight_ == 0 ||
         bytes_in_flight_ + bytes <= options_.max_bytes_in_flight;
}

bool PrefetchEngine::CanDispatchFront() const {
  // An abandoned request needs no room: it completes without reading.
  return !queue_.empty() &&
         (HasRoom(queue_.front()->bytes()) || queue_.front()->abandoned());
}

void PrefetchEngine::Dispatch() {
  std::vector<internal::PrefetchRequest*> batch;
  while (true) {
    {
      internal::MutexLock lock(&mutex_);
      while (!CanDispatchFront()) {
        if (stopping_ && queue_.empty()) return;
        dispatcher_waiting_ = true;
        dispatch_.Wait(&mutex_);
      }
      dispatcher_waiting_ = false;
      // Everything that fits, in one turn of the lock.
      while (CanDispatchFront()) {
        bytes_in_flight_ += queue_.front()->bytes();
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    for (internal::PrefetchRequest* request : batch) {
      if (request->abandoned()) {
        Finish(request, internal::MakeError(absl::StatusCode::kCancelled,
                                            request->Context(),
                                            "cancelled before it was read"));
      } else {
        impl_->Submit(request);
      }
    }
    batch.clear();
  }
}

void PrefetchEngine::Finish(internal::PrefetchRequest* request,
                            absl::Status status) {
  if (status.ok()) {
    counters_.AddCompleted(request->bytes());
  } else {
    counters_.AddError();
  }
  {
    // Before the callback, which may want the room for a request.
    internal::MutexLock lock(&mutex_);
    bytes_in_flight_ -= request->bytes();
    WakeDispatcherLocked();
  }
  request->RunCallback(std::move(status));
  delete request;
  internal::MutexLock lock(&mutex_);
  // Last: the destructor may proceed once this is zero.
  if (--unfinished_ == 0 && stopping_) all_finished_.SignalAll();
}

PrefetchEngine::Pages PrefetchEngine::PagesOf(const Region& region,
                                              ByteRange range) {
  // Whole pages of the mapping, never past the end of the region.
  const uint64_t page = region.page_size();
  const auto data = reinterpret_cast<uintptr_t>(region.bytes().data());
  const uintptr_t first = (data + range.offset) / page * page;
  const uintptr_t end =
      (data + range.offset + range.length + page - 1) / page * page;
  return Pages{reinterpret_cast<std::byte*>(first), end - first,
               region.offset() + range.offset - (data + range.offset - first)};
}

bool PrefetchEngine::AlreadyResident(const Region& region, const Pages& pages) {
  // A copy-on-write region also has private pages: it takes the ordinary
  // path, as do ranges too large for one mincore here.
  if (region.mode() == AccessMode::kCopyOnWrite ||
      pages.bytes > kMaxChunkBytes) {
    return false;
  }
  if (misses_in_a_row_.load(std::memory_order_relaxed) >=
          kMissesBeforeSampling &&
      unasked_.fetch_add(1, std::memory_order_relaxed) % kSampleEvery != 0) {
    return false;
  }
  const bool resident = AskMincore(region, pages);
  if (resident) {
    misses_in_a_row_.store(0, std::memory_order_relaxed);
  } else if (misses_in_a_row_.load(std::memory_order_relaxed) <
             kMissesBeforeSampling) {
    misses_in_a_row_.fetch_add(1, std::memory_order_relaxed);
  }
  return resident;
}

bool PrefetchEngine::AskMincore(const Region& region, const Pages& pages) {
  // mincore says whether each page is cached and up to date (cachestat
  // would also count pages whose read is still in flight), provided the
  // kernel shows this caller the page cache at all: for a file the caller
  // cannot write, mincore claims every page.
  const uint64_t page = region.page_size();
  const internal::OpContext context{"Prefetch", region.path(),
                                    pages.file_offset, pages.bytes};
  unsigned char residency[kMaxChunkBytes / 4096];
  if (pages.bytes / page > sizeof(residency) ||
      !internal::QueryResidency(pages.first, pages.bytes, residency, context)
           .ok()) {
    return false;
  }
  for (uint64_t i = 0; i < pages.bytes / page; ++i) {
    if ((residency[i] & 1) == 0) return false;
  }
  return region.PageCacheVisible();
}

bool PrefetchEngine::KnownResident(const Region& region, ByteRange range) {
  const std::optional<ByteRange> resolved = ResolveWithin(range, region.size());
  if (!resolved.has_value()) return false;
  if (resolved->length == 0) return true;
  return AlreadyResident(region, PagesOf(region, *resolved));
}

void PrefetchEngine::Prefetch(const Region& region, ByteRange range,
                              Callback done, std::stop_token cancel) {
  Start(region, range, std::move(done), std::move(cancel),
        /*check_resident=*/true, "Prefetch");
}

void PrefetchEngine::PrefetchMissing(const Region& region, ByteRange range,
                                     Callback done, std::stop_token cancel,
                                     absl::string_view operation) {
  Start(region, range, std::move(done), std::move(cancel),
        /*check_resident=*/false, operation);
}

void PrefetchEngine::Start(const Region& region, ByteRange range, Callback done,
                           std::stop_token cancel, bool check_resident,
                           absl::string_view operation) {
  absl::StatusOr<ByteRange> resolved =
      internal::ResolveInRegion(region, operation, range);
  if (!resolved.ok()) {
    counters_.AddError();
    done(resolved.status());
    return;
  }
  if (resolved->length == 0) {
    counters_.AddRequest(0);
    done(absl::OkStatus());
    return;
  }
  const Pages pages = PagesOf(region, *resolved);
  counters_.AddRequest(pages.bytes);
  if (check_resident && AlreadyResident(region, pages)) {
    counters_.AddCompleted(pages.bytes);
    done(absl::OkStatus());
    return;
  }
  const uint64_t chunk_bytes = ChunkBytes(region, pages.bytes);
  internal::PrefetchChunks chunks;
  for (uint64_t at = 0; at < pages.bytes; at += chunk_bytes) {
    chunks.push_back(
        {pages.first + at,
         static_cast<size_t>(std::min(chunk_bytes, pages.bytes - at)),
         pages.file_offset + at});
  }
  // MADV_WILLNEED reads into single-page folios: for a large range that
  // costs ~20 times the CPU time of the fault path's readahead, which reads
  // large folios (bench/RESULTS.md). So a large request is read by its
  // waiting fault alone, with the kernel's readahead, unless the region is
  // advised kRandom, where a fault reads only its own page.
  const bool advise =
      pages.bytes < kMaxChunkBytes || region.advice() == Advice::kRandom;
  auto* request = new internal::PrefetchRequest(
      std::move(chunks), operation, region.path(), pages.bytes, advise,
      static_cast<uint64_t>(region.fd()), std::move(done), std::move(cancel));
  internal::MutexLock lock(&mutex_);
  ++unfinished_;
  queue_.push_back(request);
  // Inside a Batch the wake-up waits for the Batch's end.
  if (this_thread_batch.engine == this) {
    this_thread_batch.wake |= dispatcher_waiting_;
  } else {
    WakeDispatcherLocked();
  }
}

void PrefetchEngine::WakeDispatcher() {
  internal::MutexLock lock(&mutex_);
  WakeDispatcherLocked();
}

void PrefetchEngine::WakeDispatcherLocked() {
  // Only a dispatcher that waits needs waking, and only if the queue's
  // front can go; a busy one looks at the queue again before it waits.
  if (dispatcher_waiting_ && CanDispatchFront()) {
    dispatcher_waiting_ = false;
    dispatch_.Signal();
  }
}

PrefetchEngine::Batch::Batch(PrefetchEngine& engine)
    : engine_(this_thread_batch.engine == nullptr ? &engine : nullptr) {
  if (engine_ != nullptr) this_thread_batch.engine = engine_;
}

PrefetchEngine::Batch::~Batch() {
  if (engine_ == nullptr) return;
  this_thread_batch.engine = nullptr;
  if (std::exchange(this_thread_batch.wake, false)) engine_->WakeDispatcher();
}

void PrefetchEngine::Batch::Flush() {
  if (this_thread_batch.engine != nullptr &&
      std::exchange(this_thread_batch.wake, false)) {
    this_thread_batch.engine->WakeDispatcher();
  }
}

absl::Status PrefetchEngine::PrefetchAndWait(const Region& region,
                                             ByteRange range) {
  std::promise<absl::Status> result;
  std::future<absl::Status> future = result.get_future();
  Prefetch(region, range, [&result](absl::Status status) {
    result.set_value(std::move(status));
  });
  Batch::Flush();
  return future.get();
}

}  // namespace mmapio
