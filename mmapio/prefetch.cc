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

absl::StatusOr<std::unique_ptr<PrefetchEngine>> PrefetchEngine::Create(
    PrefetchOptions options) {
  if (options.threads < 1 || options.io_workers < 1 ||
      options.ring_entries < 1 || options.max_bytes_in_flight == 0) {
    return absl::InvalidArgumentError(
        "PrefetchEngine::Create: threads, io_workers, ring_entries and the "
        "in-flight bounds "
        "must be positive");
  }
  PrefetchBackend wanted = options.backend;
  if (wanted == PrefetchBackend::kAuto) {
    if (const char* forced = getenv("MMAPIO_PREFETCH_BACKEND");
        forced != nullptr && *forced != '\0') {
      absl::StatusOr<PrefetchBackend> parsed = ParsePrefetchBackend(forced);
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "MMAPIO_PREFETCH_BACKEND: ", parsed.status().message()));
      }
      wanted = *parsed;
    }
  }
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

void PrefetchEngine::Acquire(const Region* region, uint64_t bytes) {
  std::unique_lock<std::mutex> lock(mutex_);
  // A request larger than a whole budget goes alone.
  room_.wait(lock, [&] {
    const uint64_t mine = region_bytes_in_flight_[region];
    return (bytes_in_flight_ == 0 ||
            bytes_in_flight_ + bytes <= options_.max_bytes_in_flight) &&
           (mine == 0 ||
            mine + bytes <= options_.max_bytes_in_flight_per_region);
  });
  bytes_in_flight_ += bytes;
  region_bytes_in_flight_[region] += bytes;
  ++requests_in_flight_;
}

void PrefetchEngine::Release(const Region* region, uint64_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bytes_in_flight_ -= bytes;
    if ((region_bytes_in_flight_[region] -= bytes) == 0) {
      region_bytes_in_flight_.erase(region);
    }
    --requests_in_flight_;
  }
  room_.notify_all();
}

bool PrefetchEngine::AlreadyResident(const Region& region, std::byte* address,
                                     uint64_t file_offset, uint64_t bytes) {
  // mincore says whether each page is cached and up to date (cachestat
  // would also count pages whose read is still in flight), provided the
  // kernel shows this caller the page cache at all: for a file the caller
  // cannot write, mincore claims every page. A copy-on-write region also
  // has private pages: it takes the ordinary path.
  const uint64_t page = region.page_size();
  if (region.mode() == AccessMode::kCopyOnWrite || bytes > kMaxChunkBytes)
    return false;
  const internal::OpContext context{"Prefetch", region.path(), file_offset,
                                    bytes};
  unsigned char pages[kMaxChunkBytes / 4096];
  if (bytes / page > sizeof(pages) ||
      !internal::QueryResidency(address, bytes, pages, context).ok()) {
    return false;
  }
  for (uint64_t i = 0; i < bytes / page; ++i) {
    if ((pages[i] & 1) == 0) return false;
  }
  return region.PageCacheVisible();
}

void PrefetchEngine::Prefetch(const Region& region, ByteRange range,
                              Callback done) {
  absl::StatusOr<ByteRange> resolved =
      internal::ResolveInRegion(region, "Prefetch", range);
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
  // Whole pages of the mapping, never past the end of the region.
  const uint64_t page = region.page_size();
  const auto data = reinterpret_cast<uintptr_t>(region.bytes().data());
  const uintptr_t first = (data + resolved->offset) / page * page;
  const uintptr_t end =
      (data + resolved->offset + resolved->length + page - 1) / page * page;
  // The file offset of the page at `first`.
  const uint64_t file_base =
      region.offset() + resolved->offset - (data + resolved->offset - first);
  const uint64_t bytes = end - first;
  counters_.AddRequest(bytes);
  if (AlreadyResident(region, reinterpret_cast<std::byte*>(first), file_base,
                      bytes)) {
    counters_.AddCompleted(bytes);
    done(absl::OkStatus());
    return;
  }
  const uint64_t chunk_bytes = ChunkBytes(region);
  std::vector<internal::PrefetchChunk> chunks;
  for (uintptr_t at = first; at < end; at += chunk_bytes) {
    chunks.push_back(
        {reinterpret_cast<std::byte*>(at),
         static_cast<size_t>(std::min<uintptr_t>(chunk_bytes, end - at)),
         file_base + (at - first)});
  }
  Acquire(&region, bytes);
  impl_->Submit(std::move(chunks), region.path(),
                [this, bytes, region = &region,
                 done = std::move(done)](absl::Status status) {
                  if (status.ok()) {
                    counters_.AddCompleted(bytes);
                  } else {
                    counters_.AddError();
                  }
                  done(std::move(status));
                  // Last: the destructor may proceed once this returns.
                  Release(region, bytes);
                });
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
