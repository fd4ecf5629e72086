#include "mmapio/guarded.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "mmapio/fault.h"
#include "mmapio/internal/fast_load.h"
#include "mmapio/internal/fault_guard.h"
#include "mmapio/internal/page_failure.h"
#include "mmapio/internal/platform.h"
#include "mmapio/internal/region_context.h"

// Set by the fault handler of each OS (internal/fault_*.cc), read by the
// inline fast path of GuardedLoad (internal/fast_load.h).
std::atomic<int> mmapio_fault_handler_state{0};

namespace mmapio {
namespace {

// The region bytes [offset, offset + length), or OutOfRange.
absl::Status CheckRange(const Region& region, absl::string_view operation,
                        uint64_t offset, uint64_t length) {
  return internal::ResolveInRegion(region, operation, {offset, length})
      .status();
}

// Why the page at `fault.address` could not be provided.
absl::Status FaultStatus(const Region& region, absl::string_view operation,
                         uint64_t offset, uint64_t length,
                         const internal::FaultRecord& fault, bool write) {
  return internal::PageFailureStatus(
      internal::FaultedPage(region.fd(), region.bytes().data(), region.offset(),
                            fault.address, fault.si_code, region.path(), write),
      internal::PageFaultName(),
      internal::RegionContext(region, operation, offset, length));
}

CopyResult Copy(const Region& region, absl::string_view operation,
                uint64_t offset, std::byte* destination,
                const std::byte* source, size_t n, bool write) {
  if (absl::Status status = CheckRange(region, operation, offset, n);
      !status.ok()) {
    return {status, 0};
  }
  if (absl::Status status = internal::EnsureFaultHandler(); !status.ok()) {
    return {status, 0};
  }
  if (n == 0) return {absl::OkStatus(), 0};
  const size_t left =
      internal::CopyGuarded(destination, source, n,
                            write ? internal::MappedSide::kDestination
                                  : internal::MappedSide::kSource);
  if (left == 0) return {absl::OkStatus(), n};
  return {
      FaultStatus(region, operation, offset, n, internal::LastFault(), write),
      n - left};
}

}  // namespace

CopyResult GuardedCopy(const Region& region, uint64_t offset,
                       absl::Span<std::byte> destination) {
  const std::byte* source = region.bytes().data();
  return Copy(region, "GuardedCopy", offset, destination.data(),
              source == nullptr ? nullptr : source + offset, destination.size(),
              /*write=*/false);
}

namespace {

// Whether every page of region bytes [offset, offset + length) is resident
// (false when that cannot be told).
bool AllResident(const Region& region, uint64_t offset, size_t length) {
  const size_t page = region.page_size();
  const auto first =
      reinterpret_cast<uintptr_t>(region.bytes().data() + offset);
  const auto* start = reinterpret_cast<const std::byte*>(first / page * page);
  const auto* end = reinterpret_cast<const std::byte*>(
      (first + length + page - 1) / page * page);
  const absl::StatusOr<const std::byte*> missing =
      internal::FirstNonResidentPage(start, end, {});
  return missing.ok() && *missing == end;
}

}  // namespace

CopyResult GuardedRead(const Region& region, uint64_t offset,
                       absl::Span<std::byte> destination,
                       ExpectedResidency expected) {
  const size_t n = destination.size();
  if (absl::Status status = CheckRange(region, "GuardedRead", offset, n);
      !status.ok()) {
    return {status, 0};
  }
  const bool resident = expected == ExpectedResidency::kResident ||
                        (expected == ExpectedResidency::kUnknown &&
                         AllResident(region, offset, n));
  if (n == 0 || resident) {
    return Copy(region, "GuardedRead", offset, destination.data(),
                region.bytes().data() + offset, n, /*write=*/false);
  }
  const internal::OpContext context =
      internal::RegionContext(region, "GuardedRead", offset, n);
  internal::FileRead read = internal::ReadFileAt(
      region.fd(), region.offset() + offset, destination, context);
  if (read.device_failed) {
    // One read of several pages fails as a whole: page by page, the first
    // one that fails is the one to name, and the ones before it are copied.
    const size_t page = region.page_size();
    for (;;) {
      const uint64_t at = region.offset() + offset + read.bytes_read;
      const size_t chunk =
          std::min<size_t>(n - read.bytes_read, page - at % page);
      const internal::FileRead one = internal::ReadFileAt(
          region.fd(), at, destination.subspan(read.bytes_read, chunk),
          context);
      read.bytes_read += one.bytes_read;
      read.status = one.status;
      read.device_failed = one.device_failed;
      if (one.bytes_read < chunk || read.bytes_read == n) break;
    }
  }
  if (read.bytes_read == n) return {absl::OkStatus(), n};
  if (!read.status.ok() && !read.device_failed) {
    return {read.status, read.bytes_read};
  }
  const uint64_t failed_offset = offset + read.bytes_read;
  const uintptr_t failed_address =
      reinterpret_cast<uintptr_t>(region.bytes().data() + failed_offset);
  if (read.status.ok()) {
    // The read met the end of the file inside the region.
    absl::Status status = internal::MakeError(
        absl::StatusCode::kOutOfRange, context,
        absl::StrCat(internal::FileReadName(), " at file offset ",
                     region.offset() + failed_offset,
                     ": the file ends there now: truncated underneath"));
    internal::AttachFaultInfo(
        status, FaultInfo{region.offset() + failed_offset, failed_address,
                          /*si_code=*/0, region.path()});
    return {status, read.bytes_read};
  }
  // The device failed: a look at the page says how, as for a fault.
  return {internal::PageFailureStatus(
              internal::FaultedPage(region.fd(), region.bytes().data(),
                                    region.offset(), failed_address,
                                    /*si_code=*/0, region.path(),
                                    /*write=*/false),
              internal::FileReadName(), context),
          read.bytes_read};
}

CopyResult GuardedWrite(Region& region, uint64_t offset,
                        absl::Span<const std::byte> source) {
  absl::StatusOr<absl::Span<std::byte>> bytes = region.MutableBytes();
  if (!bytes.ok()) return {bytes.status(), 0};
  return Copy(region, "GuardedWrite", offset,
              bytes->data() == nullptr ? nullptr : bytes->data() + offset,
              source.data(), source.size(), /*write=*/true);
}

absl::Status GuardedVisit(
    const Region& region, ByteRange range,
    absl::FunctionRef<void(absl::Span<const std::byte>)> visit) {
  const std::optional<ByteRange> resolved = ResolveWithin(range, region.size());
  if (!resolved.has_value()) {
    return CheckRange(region, "GuardedVisit", range.offset, range.length);
  }
  if (absl::Status status = internal::EnsureFaultHandler(); !status.ok())
    return status;
  const absl::Span<const std::byte> bytes =
      region.bytes().subspan(resolved->offset, resolved->length);
  const std::optional<internal::FaultRecord> fault =
      internal::RunGuarded(bytes.data(), bytes.size(), [&] { visit(bytes); });
  if (fault.has_value()) {
    return FaultStatus(region, "GuardedVisit", resolved->offset,
                       resolved->length, *fault, /*write=*/false);
  }
  return absl::OkStatus();
}

absl::Status GuardedLoadBytes(const Region& region, uint64_t offset,
                              absl::Span<std::byte> out_bytes) {
  void* out = out_bytes.data();
  const size_t size = out_bytes.size();
  if (offset > region.size() || size > region.size() - offset) {
    return CheckRange(region, "GuardedLoad", offset, size);
  }
  if (absl::Status status = internal::EnsureFaultHandler(); !status.ok())
    return status;
  const std::byte* source = region.bytes().data() + offset;
  if (size == 1 || size == 2 || size == 4 || size == 8) {
    const internal::LoadResult result = internal::LoadGuarded(source, size);
    if (result.faulted == 0) {
      std::memcpy(out, &result.value, size);
      return absl::OkStatus();
    }
  } else if (internal::CopyGuarded(out, source, size,
                                   internal::MappedSide::kSource) == 0) {
    return absl::OkStatus();
  }
  return FaultStatus(region, "GuardedLoad", offset, size, internal::LastFault(),
                     /*write=*/false);
}

}  // namespace mmapio
