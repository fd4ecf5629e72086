#include "mmapio/region.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/page_failure.h"
#include "mmapio/internal/platform.h"
#include "mmapio/internal/region_context.h"

namespace mmapio {
namespace {

using internal::MakeError;
using internal::OpContext;

constexpr uint64_t kMaxFileOffset = std::numeric_limits<int64_t>::max();

uint64_t RoundUp(uint64_t value, uint64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

uint64_t RoundDown(uint64_t value, uint64_t multiple) {
  return value - value % multiple;
}

}  // namespace

absl::string_view AccessModeName(AccessMode mode) {
  switch (mode) {
    case AccessMode::kReadOnly:
      return "kReadOnly";
    case AccessMode::kReadWrite:
      return "kReadWrite";
    case AccessMode::kCopyOnWrite:
      return "kCopyOnWrite";
  }
  return "unknown";
}

absl::string_view AdviceName(Advice advice) {
  switch (advice) {
    case Advice::kNormal:
      return "kNormal";
    case Advice::kSequential:
      return "kSequential";
    case Advice::kRandom:
      return "kRandom";
    case Advice::kWillNeed:
      return "kWillNeed";
    case Advice::kDontNeed:
      return "kDontNeed";
    case Advice::kHugePage:
      return "kHugePage";
  }
  return "unknown";
}

absl::StatusOr<Region> Region::Open(const std::string& path,
                                    RegionOptions options) {
  const OpContext context{"Open", path, options.range.offset,
                          options.range.length};
  absl::StatusOr<internal::MappableFile> file =
      internal::OpenMappable(path, options.mode, context);
  if (!file.ok()) return file.status();
  return Create(*std::move(file), path, options, "Open");
}

absl::StatusOr<Region> Region::FromFd(int fd, RegionOptions options) {
  std::string path = internal::PathOfFd(fd);
  const OpContext context{"FromFd", path, options.range.offset,
                          options.range.length};
  absl::StatusOr<internal::MappableFile> file =
      internal::AdoptMappable(fd, options.mode, context);
  if (!file.ok()) return file.status();
  return Create(*std::move(file), std::move(path), options, "FromFd");
}

absl::StatusOr<Region> Region::Create(internal::MappableFile file,
                                      std::string path,
                                      const RegionOptions& options,
                                      absl::string_view operation) {
  const ByteRange range = options.range;
  const OpContext context{operation, path, range.offset, range.length};
  if (range.offset > kMaxFileOffset) {
    return MakeError(absl::StatusCode::kOutOfRange, context,
                     "the offset exceeds the largest file offset (2^63 - 1)");
  }
  if (range.length != ByteRange::kToEnd &&
      range.length > kMaxFileOffset - range.offset) {
    return MakeError(absl::StatusCode::kOutOfRange, context,
                     "offset + length overflows the largest file offset "
                     "(2^63 - 1)");
  }
  if (!ResolveWithin(range, file.size).has_value()) {
    return MakeError(absl::StatusCode::kOutOfRange, context,
                     absl::StrCat("the range ends past the end of the file (",
                                  file.size, " bytes)"));
  }
  Region region(std::move(file.fd), std::move(path), options.mode, range);
  if (absl::Status status = region.Follow(file.size, operation); !status.ok()) {
    return status;
  }
  return region;
}

Region::Region(internal::UniqueFd fd, std::string path, AccessMode mode,
               ByteRange range)
    : fd_(std::move(fd)),
      path_(std::move(path)),
      mode_(mode),
      offset_(range.offset),
      requested_length_(range.length) {}

Region::Region(Region&& other) noexcept
    : fd_(std::move(other.fd_)),
      path_(std::move(other.path_)),
      mode_(other.mode_),
      advice_(other.advice_),
      offset_(other.offset_),
      size_(std::exchange(other.size_, 0)),
      file_size_(std::exchange(other.file_size_, 0)),
      requested_length_(other.requested_length_),
      map_base_(std::exchange(other.map_base_, nullptr)),
      map_length_(std::exchange(other.map_length_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      page_cache_visible_(other.page_cache_visible_.load()) {}

Region& Region::operator=(Region&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = std::move(other.fd_);
    path_ = std::move(other.path_);
    mode_ = other.mode_;
    advice_ = other.advice_;
    offset_ = other.offset_;
    size_ = std::exchange(other.size_, 0);
    file_size_ = std::exchange(other.file_size_, 0);
    requested_length_ = other.requested_length_;
    map_base_ = std::exchange(other.map_base_, nullptr);
    map_length_ = std::exchange(other.map_length_, 0);
    data_ = std::exchange(other.data_, nullptr);
    page_cache_visible_.store(other.page_cache_visible_.load());
  }
  return *this;
}

Region::~Region() { Reset(); }

void Region::Reset() {
  internal::Unmap(map_base_, map_length_);
  map_base_ = nullptr;
  map_length_ = 0;
  data_ = nullptr;
  size_ = 0;
  fd_ = internal::UniqueFd();
}

OpContext Region::Context(absl::string_view operation) const {
  return OpContext{operation, path_, offset_, size_};
}

OpContext Region::Context(absl::string_view operation, ByteRange range) const {
  return internal::RegionContext(*this, operation, range.offset, range.length);
}

absl::StatusOr<Region::Pages> Region::PagesOf(absl::string_view operation,
                                              ByteRange range) const {
  absl::StatusOr<ByteRange> resolved =
      internal::ResolveInRegion(*this, operation, range);
  if (!resolved.ok()) return resolved.status();
  if (resolved->length == 0) return Pages{nullptr, 0, offset_};
  const uint64_t delta = offset_ - map_offset();
  const uint64_t first = RoundDown(delta + resolved->offset, page_size());
  const uint64_t end =
      RoundUp(delta + resolved->offset + resolved->length, page_size());
  return Pages{map_base_ + first, static_cast<size_t>(end - first),
               map_offset() + first};
}

absl::Status Region::Follow(uint64_t file_size, absl::string_view operation) {
  file_size_ = file_size;
  uint64_t wanted = requested_length_;
  if (follows_end_of_file()) {
    wanted = file_size > offset_ ? file_size - offset_ : 0;
  } else if (offset_ + wanted > file_size) {
    return MakeError(
        absl::StatusCode::kOutOfRange, Context(operation),
        absl::StrCat("the file has shrunk to ", file_size,
                     " bytes and no longer covers this fixed range; reading "
                     "past its end raises SIGBUS"));
  }
  const uint64_t delta = offset_ - map_offset();
  constexpr uint64_t kMaxMapping = std::numeric_limits<ptrdiff_t>::max() / 2;
  if (wanted > kMaxMapping - delta) {
    return MakeError(absl::StatusCode::kResourceExhausted,
                     OpContext{operation, path_, offset_, wanted},
                     "the range is larger than this process can map");
  }
  const size_t map_length =
      wanted == 0 ? 0
                  : static_cast<size_t>(RoundUp(delta + wanted, page_size()));
  if (map_length != map_length_) {
    const OpContext context{operation, path_, offset_, wanted};
    absl::StatusOr<std::byte*> base = nullptr;
    if (map_length == 0) {
      internal::Unmap(map_base_, map_length_);
    } else if (map_base_ == nullptr) {
      base = internal::MapFile(fd_.get(), map_offset(), map_length, mode_,
                               context);
    } else {
      base = internal::Remap(fd_.get(), map_offset(), map_base_, map_length_,
                             map_length, mode_, context);
    }
    if (!base.ok()) return base.status();
    map_base_ = *base;
    map_length_ = map_length;
    data_ = map_base_ == nullptr ? nullptr : map_base_ + delta;
  }
  size_ = wanted;
  return absl::OkStatus();
}

size_t Region::page_size() const { return internal::PageSize(); }

uint64_t Region::map_offset() const {
  return offset_ - offset_ % internal::MapGranularity();
}

bool Region::PageCacheVisible() const {
  int visible = page_cache_visible_.load(std::memory_order_relaxed);
  if (visible < 0) {
    visible = internal::MincoreSeesPageCache(fd_.get()) ? 1 : 0;
    page_cache_visible_.store(visible, std::memory_order_relaxed);
  }
  return visible == 1;
}

absl::StatusOr<absl::Span<std::byte>> Region::MutableBytes() {
  if (mode_ == AccessMode::kReadOnly) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Context("MutableBytes"),
                     "the region is read-only; open it kReadWrite or "
                     "kCopyOnWrite to write");
  }
  return absl::MakeSpan(data(), static_cast<size_t>(size_));
}

absl::Status Region::Refresh() {
  absl::StatusOr<uint64_t> file_size =
      internal::FileSize(fd_.get(), Context("Refresh"));
  if (!file_size.ok()) return file_size.status();
  return Follow(*file_size, "Refresh");
}

absl::Status Region::Grow(uint64_t new_file_size) {
  const OpContext context{"Grow", path_, 0, new_file_size};
  if (mode_ != AccessMode::kReadWrite) {
    return MakeError(
        absl::StatusCode::kFailedPrecondition, context,
        absl::StrCat("Grow needs a kReadWrite region; this one is ",
                     AccessModeName(mode_)));
  }
  if (new_file_size > kMaxFileOffset) {
    return MakeError(absl::StatusCode::kInvalidArgument, context,
                     "the new size exceeds the largest file size (2^63 - 1); "
                     "was a negative size converted?");
  }
  absl::StatusOr<uint64_t> file_size = internal::FileSize(fd_.get(), context);
  if (!file_size.ok()) return file_size.status();
  if (new_file_size < *file_size) {
    return MakeError(absl::StatusCode::kInvalidArgument, context,
                     absl::StrCat("Grow never shrinks; the file has ",
                                  *file_size, " bytes"));
  }
  if (new_file_size > *file_size) {
    if (absl::Status status =
            internal::Allocate(fd_.get(), *file_size, new_file_size, context);
        !status.ok()) {
      return status;
    }
  }
  return Follow(new_file_size, "Grow");
}

absl::Status Region::Advise(Advice advice, ByteRange range) {
  const std::string operation =
      absl::StrCat("Advise(", AdviceName(advice), ")");
  absl::StatusOr<Pages> pages = PagesOf(operation, range);
  if (!pages.ok() || pages->length == 0) return pages.status();
  absl::Status status = internal::AdviseMemory(
      pages->address, pages->length, advice, Context(operation, range));
  if (status.ok() && range.offset == 0 &&
      (range.length == ByteRange::kToEnd || range.length >= size_) &&
      advice != Advice::kWillNeed && advice != Advice::kDontNeed) {
    advice_ = advice;
    // GuardedRead's positioned reads follow the same access pattern.
    internal::AdviseFileReads(fd_.get(), advice);
  }
  return status;
}

absl::Status Region::Populate(ByteRange range) {
  absl::StatusOr<Pages> pages = PagesOf("Populate", range);
  if (!pages.ok() || pages->length == 0) return pages.status();
  return internal::PopulateFileMemory(fd_.get(), pages->address, pages->length,
                                      pages->file_offset,
                                      Context("Populate", range));
}

absl::Status Region::Lock(ByteRange range, LockMode mode) {
  absl::StatusOr<Pages> pages = PagesOf("Lock", range);
  if (!pages.ok() || pages->length == 0) return pages.status();
  return internal::LockMemory(pages->address, pages->length, mode,
                              Context("Lock", range));
}

absl::Status Region::Unlock(ByteRange range) {
  absl::StatusOr<Pages> pages = PagesOf("Unlock", range);
  if (!pages.ok() || pages->length == 0) return pages.status();
  return internal::UnlockMemory(pages->address, pages->length,
                                Context("Unlock", range));
}

absl::Status Region::Sync(SyncMode mode, ByteRange range) {
  if (mode_ == AccessMode::kCopyOnWrite) {
    return MakeError(absl::StatusCode::kFailedPrecondition,
                     Context("Sync", range),
                     "a kCopyOnWrite region never writes to its file");
  }
  absl::StatusOr<Pages> pages = PagesOf("Sync", range);
  if (!pages.ok() || pages->length == 0 || mode_ == AccessMode::kReadOnly) {
    return pages.status();
  }
  return internal::SyncMemory(fd_.get(), pages->address, pages->length, mode,
                              Context("Sync", range));
}

absl::Status Region::Evict(ByteRange range) {
  absl::StatusOr<Pages> pages = PagesOf("Evict", range);
  if (!pages.ok() || pages->length == 0) return pages.status();
  const OpContext context = Context("Evict", range);
  if (absl::Status status = internal::ReleaseMemory(
          pages->address, pages->length, mode_, context);
      !status.ok()) {
    return status;
  }
  return internal::DropFileCache(fd_.get(), pages->file_offset, pages->length,
                                 context);
}

namespace internal {

OpContext RegionContext(const Region& region, absl::string_view operation,
                        uint64_t offset, uint64_t length) {
  const uint64_t file_offset =
      offset > std::numeric_limits<uint64_t>::max() - region.offset()
          ? std::numeric_limits<uint64_t>::max()
          : region.offset() + offset;
  return OpContext{operation, region.path(), file_offset, length};
}

absl::StatusOr<ByteRange> ResolveInRegion(const Region& region,
                                          absl::string_view operation,
                                          ByteRange range) {
  const std::optional<ByteRange> resolved = ResolveWithin(range, region.size());
  if (resolved.has_value()) return *resolved;
  return MakeError(
      absl::StatusCode::kOutOfRange,
      RegionContext(region, operation, range.offset, range.length),
      absl::StrCat("the range ", FormatRange(range.offset, range.length),
                   " of the region is outside it: the region has ",
                   region.size(), " bytes, file bytes ",
                   FormatRange(region.offset(), region.size())));
}

}  // namespace internal
}  // namespace mmapio
