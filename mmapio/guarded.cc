#include "mmapio/guarded.h"

#include <atomic>
#include <cstdint>
#include <optional>

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
