#include "mmapio/prefetch.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
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

// The backend to try first under kAuto, and what to fall back to.
constexpr PrefetchBackend kPreference[] = {PrefetchBackend::kIoUring,
                                           PrefetchBackend::kWorkers,
                                           PrefetchBackend::kMadvise};

absl::StatusOr<std::unique_ptr<internal::PrefetchBackendImpl>> MakeBackend(
    PrefetchBackend backend, const PrefetchOptions& options) {
  switch (backend) {
    case PrefetchBackend::kIoUring:
      return internal::MakeIoUringBackend(options);
    case PrefetchBackend::kWorkers:
      return internal::MakeWorkersBackend(options);
    case PrefetchBackend::kMadvise:
    case PrefetchBackend::kAuto:
      break;
  }
  return internal::MakeMadviseBackend();
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
  }
  return "unknown";
}

absl::StatusOr<PrefetchBackend> ParsePrefetchBackend(absl::string_view name) {
  for (PrefetchBackend backend :
       {PrefetchBackend::kAuto, PrefetchBackend::kIoUring,
        PrefetchBackend::kWorkers, PrefetchBackend::kMadvise}) {
    if (absl::AsciiStrToLower(name) == PrefetchBackendName(backend))
      return backend;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("prefetch backend \"", name,
                   "\" is none of auto, io_uring, workers, madvise"));
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
        "PrefetchEngine::Create: threads, io_workers, ring_entries and the "
        "in-flight bounds "
        "must be positive");
  }
  absl::StatusOr<PrefetchBackend> requested = RequestedBackend(options);
  if (!requested.ok()) return requested.status();
  const PrefetchBackend wanted = *requested;
  if (wanted != PrefetchBackend::kAuto) {
    absl::StatusOr<std::unique_ptr<internal::PrefetchBackendImpl>> impl =
        MakeBackend(wanted, options);
    if (!impl.ok()) return impl.status();
    return std::unique_ptr<PrefetchEngine>(
        new PrefetchEngine(options, wanted, "", *std::move(impl)));
  }
  std::string reasons;
  for (PrefetchBackend backend : kPreference) {
    absl::StatusOr<std::unique_ptr<internal::PrefetchBackendImpl>> impl =
        MakeBackend(backend, options);
    if (impl.ok()) {
      if (!reasons.empty()) {
        // Falling back is worth a line in the log: the engine is slower.
        fprintf(stderr, "mmapio: prefetching with %s: %s\n",
                std::string(PrefetchBackendName(backend)).c_str(),
                reasons.c_str());
      }
      return std::unique_ptr<PrefetchEngine>(
          new PrefetchEngine(options, backend, reasons, *std::move(impl)));
    }
    absl::StrAppend(&reasons, reasons.empty() ? "" : "; ",
                    PrefetchBackendName(backend), ": ",
                    impl.status().message());
  }
  return absl::UnavailableError(absl::StrCat("no prefetch backend: ", reasons));
}

PrefetchEngine::PrefetchEngine(
    PrefetchOptions options, PrefetchBackend backend,
    std::string fallback_reason,
    std::unique_ptr<internal::PrefetchBackendImpl> impl)
    : options_(options),
      backend_(backend),
      fallback_reason_(std::move(fallback_reason)),
      impl_(std::move(impl)) {}

PrefetchEngine::~PrefetchEngine() {
  std::unique_lock<std::mutex> lock(mutex_);
  room_.wait(lock, [this] { return requests_in_flight_ == 0; });
  lock.unlock();
  impl_.reset();
}

uint64_t PrefetchEngine::ChunkBytes(const Region& region) {
  const uint64_t page = region.page_size();
  uint64_t bytes = options_.chunk_bytes;
  if (bytes == 0) {
    const uint64_t window = internal::ReadaheadBytes(region.fd());
    bytes = window == 0 ? kMaxChunkBytes : std::min(window, kMaxChunkBytes);
  }
  return std::max(page, bytes / page * page);
}

bool PrefetchEngine::Acquire(const Region* region, uint64_t bytes,
                             bool wait_for_room) {
  std::unique_lock<std::mutex> lock(mutex_);
  // A request larger than a whole budget goes alone.
  const auto has_room = [&] {
    const auto mine = region_bytes_in_flight_.find(region);
    return (bytes_in_flight_ == 0 ||
            bytes_in_flight_ + bytes <= options_.max_bytes_in_flight) &&
           (mine == region_bytes_in_flight_.end() ||
            mine->second + bytes <= options_.max_bytes_in_flight_per_region);
  };
  if (wait_for_room) {
    room_.wait(lock, has_room);
  } else if (!has_room()) {
    return false;
  }
  bytes_in_flight_ += bytes;
  region_bytes_in_flight_[region] += bytes;
  ++requests_in_flight_;
  return true;
}

void PrefetchEngine::Release(const Region* region, uint64_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bytes_in_flight_ -= bytes;
    if ((region_bytes_in_flight_[region] -= bytes) == 0) {
      region_bytes_in_flight_.erase(region);
    }
  }
  room_.notify_all();
}

void PrefetchEngine::Retire() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --requests_in_flight_;
  }
  room_.notify_all();
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
  // mincore says whether each page is cached and up to date (cachestat
  // would also count pages whose read is still in flight), provided the
  // kernel shows this caller the page cache at all: for a file the caller
  // cannot write, mincore claims every page. A copy-on-write region also
  // has private pages: it takes the ordinary path.
  const uint64_t page = region.page_size();
  if (region.mode() == AccessMode::kCopyOnWrite ||
      pages.bytes > kMaxChunkBytes) {
    return false;
  }
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
                              Callback done) {
  Start(region, range, done, Caller::kPrefetch);
}

bool PrefetchEngine::TryPrefetch(const Region& region, ByteRange range,
                                 Callback& done) {
  return Start(region, range, done, Caller::kTryPrefetch);
}

bool PrefetchEngine::Start(const Region& region, ByteRange range,
                           Callback& done, Caller caller) {
  absl::StatusOr<ByteRange> resolved =
      internal::ResolveInRegion(region, "Prefetch", range);
  if (!resolved.ok()) {
    counters_.AddError();
    std::exchange(done, nullptr)(resolved.status());
    return true;
  }
  if (resolved->length == 0) {
    counters_.AddRequest(0);
    std::exchange(done, nullptr)(absl::OkStatus());
    return true;
  }
  const Pages pages = PagesOf(region, *resolved);
  if (caller == Caller::kPrefetch && AlreadyResident(region, pages)) {
    counters_.AddRequest(pages.bytes);
    counters_.AddCompleted(pages.bytes);
    std::exchange(done, nullptr)(absl::OkStatus());
    return true;
  }
  if (!Acquire(&region, pages.bytes,
               /*wait_for_room=*/caller == Caller::kPrefetch)) {
    return false;
  }
  counters_.AddRequest(pages.bytes);
  const uint64_t chunk_bytes = ChunkBytes(region);
  std::vector<internal::PrefetchChunk> chunks;
  for (uint64_t at = 0; at < pages.bytes; at += chunk_bytes) {
    chunks.push_back(
        {pages.first + at,
         static_cast<size_t>(std::min(chunk_bytes, pages.bytes - at)),
         pages.file_offset + at});
  }
  impl_->Submit(std::move(chunks), region.path(),
                [this, bytes = pages.bytes, region = &region,
                 done = std::exchange(done, nullptr)](absl::Status status) {
                  if (status.ok()) {
                    counters_.AddCompleted(bytes);
                  } else {
                    counters_.AddError();
                  }
                  // Before `done`, which may want the room for a request.
                  Release(region, bytes);
                  done(std::move(status));
                  // Last: the destructor may proceed once this returns.
                  Retire();
                });
  return true;
}

absl::Status PrefetchEngine::PrefetchAndWait(const Region& region,
                                             ByteRange range) {
  std::promise<absl::Status> result;
  std::future<absl::Status> future = result.get_future();
  Prefetch(region, range, [&result](absl::Status status) {
    result.set_value(std::move(status));
  });
  return future.get();
}

}  // namespace mmapio
