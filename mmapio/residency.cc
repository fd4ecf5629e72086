#include "mmapio/residency.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/platform.h"
#include "mmapio/internal/region_context.h"

namespace mmapio {
namespace {

// Pages asked of mincore at once: 64 MiB of 4 KiB pages, a 16 KiB vector.
constexpr uint64_t kWindowPages = 16384;

// The pages under a range of a region, in memory and in the file.
struct PageSpan {
  ByteRange range;  // Resolved, relative to the region.
  uint64_t page_size = 0;
  int64_t first_page_start = 0;  // Region offset of page 0's first byte.
  uint64_t count = 0;
  const std::byte* address = nullptr;  // Of page 0.
  uint64_t file_offset = 0;            // Of page 0.

  // Pages [first, first + n) as region bytes clipped to the range.
  PageRun Run(uint64_t first, uint64_t n, bool resident) const {
    const int64_t start =
        first_page_start + static_cast<int64_t>(first * page_size);
    const int64_t end = start + static_cast<int64_t>(n * page_size);
    const uint64_t clipped_start =
        std::max<int64_t>(start, static_cast<int64_t>(range.offset));
    const uint64_t clipped_end = std::min<uint64_t>(
        static_cast<uint64_t>(end), range.offset + range.length);
    return PageRun{clipped_start, clipped_end - clipped_start, resident};
  }
};

absl::StatusOr<PageSpan> SpanOf(const Region& region, ByteRange range,
                                absl::string_view operation) {
  absl::StatusOr<ByteRange> resolved =
      internal::ResolveInRegion(region, operation, range);
  if (!resolved.ok()) return resolved.status();
  PageSpan span;
  span.range = *resolved;
  span.page_size = region.page_size();
  if (resolved->length == 0) return span;
  const uint64_t delta = region.offset() % span.page_size;
  const PageInterval pages =
      PagesTouched(delta + resolved->offset, resolved->length, span.page_size);
  const uint64_t first_in_mapping = pages.first;
  span.first_page_start =
      static_cast<int64_t>(first_in_mapping * span.page_size) -
      static_cast<int64_t>(delta);
  span.count = pages.count;
  span.address =
      region.bytes().data() - delta + first_in_mapping * span.page_size;
  span.file_offset =
      region.offset() - delta + first_in_mapping * span.page_size;
  return span;
}

// A window of pages: either uniform (all resident or all missing, `pages`
// null) or one mincore byte per page.
struct Window {
  uint64_t first = 0;
  uint64_t count = 0;
  const unsigned char* pages = nullptr;
  bool all_resident = false;

  bool IsResident(uint64_t i) const {
    return pages == nullptr ? all_resident : (pages[i] & 1) != 0;
  }
};

internal::OpContext ContextOf(const Region& region, const PageSpan& span,
                              absl::string_view operation) {
  return internal::RegionContext(region, operation, span.range.offset,
                                 span.range.length);
}

// Where the per-page answers come from.
ResidencySource PerPageSource() {
  return internal::ResidencyIsWorkingSet() ? ResidencySource::kWorkingSet
                                           : ResidencySource::kMincore;
}

// PermissionDenied where mincore would report every page resident. (The
// working set is always this process's own to see.)
absl::Status CheckKernelTells(const Region& region, const PageSpan& span,
                              absl::string_view operation) {
  if (internal::ResidencyIsWorkingSet() || region.PageCacheVisible()) {
    return absl::OkStatus();
  }
  return internal::MakeError(
      absl::StatusCode::kPermissionDenied, ContextOf(region, span, operation),
      "the kernel hides the page cache of files the caller cannot write: "
      "cachestat refuses and mincore reports every page resident, so "
      "residency is unknown");
}

// Walks the span window by window; `visit` returns false to stop early.
absl::Status ScanWindows(const Region& region, const PageSpan& span,
                         absl::string_view operation,
                         absl::FunctionRef<bool(const Window&)> visit) {
  if (span.count == 0) return absl::OkStatus();
  if (absl::Status status = CheckKernelTells(region, span, operation);
      !status.ok()) {
    return status;
  }
  const internal::OpContext context = ContextOf(region, span, operation);
  // The page cache is what a shared mapping shows, so cachestat can answer
  // for it; a copy-on-write mapping also holds private pages.
  bool use_cachestat = region.mode() != AccessMode::kCopyOnWrite;
  std::vector<unsigned char> pages(std::min(kWindowPages, span.count));
  for (uint64_t done = 0; done < span.count;) {
    const uint64_t n = std::min<uint64_t>(pages.size(), span.count - done);
    if (use_cachestat) {
      absl::StatusOr<internal::CacheCounters> counters = internal::CacheStat(
          region.fd(), span.file_offset + done * span.page_size,
          n * span.page_size, context);
      if (counters.ok() && (counters->cached == 0 || counters->cached >= n)) {
        if (!visit(Window{done, n, nullptr, counters->cached > 0})) break;
        done += n;
        continue;
      }
      if (!counters.ok()) {
        if (counters.status().code() != absl::StatusCode::kUnimplemented &&
            counters.status().code() != absl::StatusCode::kPermissionDenied) {
          return counters.status();
        }
        use_cachestat = false;
      }
    }
    if (absl::Status status =
            internal::QueryResidency(span.address + done * span.page_size,
                                     n * span.page_size, pages.data(), context);
        !status.ok()) {
      return status;
    }
    if (!visit(Window{done, n, pages.data(), false})) break;
    done += n;
  }
  return absl::OkStatus();
}

// Joins windows into maximal runs of pages. `emit` is referenced, not
// copied: it must outlive the builder.
class RunBuilder {
 public:
  RunBuilder(const PageSpan& span, absl::FunctionRef<void(const PageRun&)> emit)
      : span_(span), emit_(emit) {}

  void Add(uint64_t first, uint64_t n, bool resident) {
    if (length_ > 0 && resident != resident_) Flush();
    if (length_ == 0) {
      first_ = first;
      resident_ = resident;
    }
    length_ += n;
  }

  void AddWindow(const Window& window) {
    if (window.pages == nullptr)
      return Add(window.first, window.count, window.all_resident);
    uint64_t i = 0;
    while (i < window.count) {
      const bool resident = window.IsResident(i);
      uint64_t j = i + 1;
      while (j < window.count && window.IsResident(j) == resident) ++j;
      Add(window.first + i, j - i, resident);
      i = j;
    }
  }

  void Flush() {
    if (length_ > 0) emit_(span_.Run(first_, length_, resident_));
    length_ = 0;
  }

 private:
  const PageSpan& span_;
  absl::FunctionRef<void(const PageRun&)> emit_;
  uint64_t first_ = 0;
  uint64_t length_ = 0;
  bool resident_ = false;
};

}  // namespace

absl::string_view ResidencySourceName(ResidencySource source) {
  switch (source) {
    case ResidencySource::kCachestat:
      return "cachestat";
    case ResidencySource::kMincore:
      return "mincore";
    case ResidencySource::kWorkingSet:
      return "working_set";
  }
  return "unknown";
}

// The summary of `pages` pages from cachestat, or nullopt where the kernel
// has no cachestat or refuses it (the caller then falls back to mincore).
absl::StatusOr<std::optional<ResidencySummary>> SummaryFromCachestat(
    int fd, uint64_t file_offset, uint64_t pages, uint64_t page_size,
    const internal::OpContext& context) {
  // Where residency is the working set (Windows), no file cache is asked.
  if (internal::ResidencyIsWorkingSet()) return std::nullopt;
  ResidencySummary summary;
  summary.pages = pages;
  summary.source = ResidencySource::kCachestat;
  if (pages == 0) {
    // Nothing to ask the kernel: no page is dirty or evicted either.
    summary.dirty_pages = summary.writeback_pages = summary.evicted_pages =
        summary.recently_evicted_pages = 0;
    return summary;
  }
  absl::StatusOr<internal::CacheCounters> counters =
      internal::CacheStat(fd, file_offset, pages * page_size, context);
  if (!counters.ok()) {
    if (counters.status().code() == absl::StatusCode::kUnimplemented ||
        counters.status().code() == absl::StatusCode::kPermissionDenied) {
      return std::nullopt;
    }
    return counters.status();
  }
  summary.resident_pages = std::min(counters->cached, pages);
  summary.dirty_pages = counters->dirty;
  summary.writeback_pages = counters->writeback;
  summary.evicted_pages = counters->evicted;
  summary.recently_evicted_pages = counters->recently_evicted;
  return summary;
}

absl::StatusOr<ResidencySummary> SummarizeResidency(const Region& region,
                                                    ByteRange range) {
  absl::StatusOr<PageSpan> span = SpanOf(region, range, "SummarizeResidency");
  if (!span.ok()) return span.status();
  if (region.mode() != AccessMode::kCopyOnWrite || span->count == 0) {
    absl::StatusOr<std::optional<ResidencySummary>> fast = SummaryFromCachestat(
        region.fd(), span->file_offset, span->count, span->page_size,
        ContextOf(region, *span, "SummarizeResidency"));
    if (!fast.ok()) return fast.status();
    if (fast->has_value()) return **fast;
  }
  ResidencySummary summary;
  summary.pages = span->count;
  summary.source = PerPageSource();
  absl::Status status = ScanWindows(
      region, *span, "SummarizeResidency", [&summary](const Window& window) {
        if (window.pages == nullptr) {
          summary.resident_pages += window.all_resident ? window.count : 0;
        } else {
          for (uint64_t i = 0; i < window.count; ++i) {
            summary.resident_pages += window.pages[i] & 1;
          }
        }
        return true;
      });
  if (!status.ok()) return status;
  return summary;
}

absl::StatusOr<FileResidency> SummarizeFile(const std::string& path,
                                            ByteRange range) {
  const internal::OpContext context{"SummarizeFile", path, range.offset,
                                    range.length};
  absl::StatusOr<internal::MappableFile> file =
      internal::OpenMappable(path, AccessMode::kReadOnly, context);
  if (!file.ok()) return file.status();
  if (range.offset > file->size) {
    return internal::MakeError(
        absl::StatusCode::kOutOfRange, context,
        absl::StrCat("the range starts past the end of the file (", file->size,
                     " bytes)"));
  }
  FileResidency result;
  result.file_size = file->size;
  result.range = {range.offset,
                  std::min(range.length, file->size - range.offset)};
  const uint64_t page = internal::PageSize();
  result.page_size = page;
  const PageInterval pages =
      PagesTouched(result.range.offset, result.range.length, page);
  absl::StatusOr<std::optional<ResidencySummary>> fast = SummaryFromCachestat(
      file->fd.get(), pages.first * page, pages.count, page, context);
  if (!fast.ok()) return fast.status();
  if (fast->has_value()) {
    result.summary = **fast;
    return result;
  }
  // No cachestat: map the file and ask page by page.
  absl::StatusOr<Region> region =
      Region::FromFd(file->fd.get(), {.range = result.range});
  if (!region.ok()) return region.status();
  absl::StatusOr<ResidencySummary> summary = SummarizeResidency(*region);
  if (!summary.ok()) return summary.status();
  result.summary = *summary;
  return result;
}

absl::Status ForEachRun(const Region& region, ByteRange range,
                        absl::FunctionRef<void(const PageRun&)> visit) {
  absl::StatusOr<PageSpan> span = SpanOf(region, range, "ForEachRun");
  if (!span.ok()) return span.status();
  RunBuilder runs(*span, visit);
  absl::Status status =
      ScanWindows(region, *span, "ForEachRun", [&runs](const Window& window) {
        runs.AddWindow(window);
        return true;
      });
  if (status.ok()) runs.Flush();
  return status;
}

absl::StatusOr<uint64_t> ResidentPrefix(const Region& region, ByteRange range) {
  absl::StatusOr<PageSpan> span = SpanOf(region, range, "ResidentPrefix");
  if (!span.ok()) return span.status();
  uint64_t resident = 0;
  absl::Status status = ScanWindows(
      region, *span, "ResidentPrefix", [&resident](const Window& window) {
        uint64_t i = 0;
        while (i < window.count && window.IsResident(i)) ++i;
        resident += i;
        return i == window.count;
      });
  if (!status.ok()) return status;
  if (resident == 0) return 0;
  return span->Run(0, resident, true).length;
}

absl::StatusOr<ResidencyMap> ResidencyMap::Capture(const Region& region,
                                                   ByteRange range) {
  absl::StatusOr<PageSpan> span =
      SpanOf(region, range, "ResidencyMap::Capture");
  if (!span.ok()) return span.status();
  ResidencyMap map;
  map.range_ = span->range;
  map.page_size_ = span->page_size;
  map.first_page_start_ = span->first_page_start;
  map.page_count_ = span->count;
  map.bits_.assign((span->count + 63) / 64, 0);
  absl::Status status = ScanWindows(
      region, *span, "ResidencyMap::Capture", [&map](const Window& window) {
        for (uint64_t i = 0; i < window.count; ++i) {
          if (!window.IsResident(i)) continue;
          const uint64_t page = window.first + i;
          map.bits_[page / 64] |= uint64_t{1} << (page % 64);
          ++map.resident_pages_;
        }
        return true;
      });
  if (!status.ok()) return status;
  return map;
}

namespace {

// The geometry of a captured map, without its memory: enough to turn page
// indices back into region bytes.
PageSpan SpanOfMap(ByteRange range, uint64_t page_size,
                   int64_t first_page_start, uint64_t count) {
  PageSpan span;
  span.range = range;
  span.page_size = page_size;
  span.first_page_start = first_page_start;
  span.count = count;
  return span;
}

}  // namespace

std::vector<PageRun> ResidencyMap::Runs() const {
  const PageSpan span =
      SpanOfMap(range_, page_size_, first_page_start_, page_count_);
  std::vector<PageRun> runs;
  const auto collect = [&runs](const PageRun& run) { runs.push_back(run); };
  RunBuilder builder(span, collect);
  for (uint64_t i = 0; i < page_count_; ++i) builder.Add(i, 1, IsResident(i));
  builder.Flush();
  return runs;
}

uint64_t ResidencyMap::ResidentPrefix() const {
  uint64_t pages = 0;
  while (pages < page_count_ && IsResident(pages)) ++pages;
  if (pages == 0) return 0;
  return SpanOfMap(range_, page_size_, first_page_start_, page_count_)
      .Run(0, pages, true)
      .length;
}

}  // namespace mmapio
