#include "mmapio/guarded.h"

#include <setjmp.h>
#include <signal.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "mmapio/fault.h"
#include "mmapio/internal/errors.h"
#include "mmapio/internal/fault_guard.h"
#include "mmapio/internal/platform.h"
#include "mmapio/internal/region_context.h"

namespace mmapio {
namespace {

using internal::MakeError;
using internal::OpContext;

constexpr absl::string_view kFaultPayload = "mmapio/FaultInfo";

absl::Cord EncodeFault(const FaultInfo& fault) {
  return absl::Cord(absl::StrCat(fault.file_offset, "\n", fault.address, "\n",
                                 fault.si_code, "\n", fault.path));
}

// The region bytes [offset, offset + length), or OutOfRange.
absl::Status CheckRange(const Region& region, absl::string_view operation,
                        uint64_t offset, uint64_t length) {
  return internal::ResolveInRegion(region, operation, {offset, length})
      .status();
}

// Why the page at `fault.address` could not be provided, as a Status with
// the fault attached. SIGBUS says only "no page here"; the file and the
// filesystem say why.
absl::Status FaultStatus(const Region& region, absl::string_view operation,
                         uint64_t offset, uint64_t length,
                         const internal::FaultRecord& fault, bool write) {
  const OpContext context =
      internal::RegionContext(region, operation, offset, length);
  const uintptr_t data = reinterpret_cast<uintptr_t>(region.bytes().data());
  const FaultInfo info{region.offset() + (fault.address - data), fault.address,
                       fault.si_code, region.path()};
  const uint64_t page = region.page_size();
  absl::Status status;
  if (fault.si_code == BUS_MCEERR_AR || fault.si_code == BUS_MCEERR_AO) {
    status =
        MakeError(absl::StatusCode::kDataLoss, context,
                  absl::StrCat("SIGBUS at file offset ", info.file_offset,
                               ": the memory is poisoned (hardware error)"));
  } else {
    std::byte* page_address =
        reinterpret_cast<std::byte*>(fault.address / page * page);
    // SIGBUS says only that the page could not be provided. A page past the
    // end of the file, or one that reads now (the file has grown back since
    // the fault), was truncated away; a full filesystem had no space for it;
    // a page inside the file that keeps failing is a device error. A file
    // being truncated and restored meanwhile can fool one look, not three.
    absl::StatusOr<uint64_t> file_size;
    bool truncated = false;
    for (int attempt = 0; attempt < 3 && !truncated; ++attempt) {
      file_size = internal::FileSize(region.fd(), context);
      truncated = (file_size.ok() &&
                   info.file_offset >= (*file_size + page - 1) / page * page) ||
                  internal::PopulateMemory(page_address, page, context).ok();
      if (!truncated && attempt == 0 &&
          internal::NoSpaceForPage(region.fd(), write)) {
        break;
      }
    }
    if (truncated) {
      status = MakeError(
          absl::StatusCode::kOutOfRange, context,
          absl::StrCat("SIGBUS at file offset ", info.file_offset,
                       ": the page was past the end of the file (",
                       file_size.ok() ? absl::StrCat(*file_size, " bytes now")
                                      : "size unknown",
                       "): truncated underneath the mapping?"));
    } else if (internal::NoSpaceForPage(region.fd(), write)) {
      status =
          MakeError(absl::StatusCode::kResourceExhausted, context,
                    absl::StrCat("SIGBUS at file offset ", info.file_offset,
                                 ": no space left on the filesystem for the "
                                 "page (ENOSPC)"));
    } else {
      status =
          MakeError(absl::StatusCode::kDataLoss, context,
                    absl::StrCat("SIGBUS at file offset ", info.file_offset,
                                 ": the device could not read the page (EIO)"));
    }
  }
  status.SetPayload(kFaultPayload, EncodeFault(info));
  return status;
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
  const size_t left = internal::CopyGuarded(
      destination, source, n,
      write ? internal::MappedSide::kDestination : internal::MappedSide::kSource);
  if (left == 0) return {absl::OkStatus(), n};
  return {
      FaultStatus(region, operation, offset, n, internal::LastFault(), write),
      n - left};
}

}  // namespace

std::optional<FaultInfo> GetFaultInfo(const absl::Status& status) {
  const auto payload = status.GetPayload(kFaultPayload);
  if (!payload.has_value()) return std::nullopt;
  const std::string text(*payload);
  std::vector<absl::string_view> fields =
      absl::StrSplit(text, absl::MaxSplits('\n', 3));
  FaultInfo info;
  if (fields.size() != 4 || !absl::SimpleAtoi(fields[0], &info.file_offset) ||
      !absl::SimpleAtoi(fields[1], &info.address) ||
      !absl::SimpleAtoi(fields[2], &info.si_code)) {
    return std::nullopt;
  }
  info.path = std::string(fields[3]);
  return info;
}

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
  const auto begin = reinterpret_cast<uintptr_t>(bytes.data());
  internal::VisitScope scope(begin, begin + bytes.size());
  if (sigsetjmp(scope.jump, 0) != 0) {
    internal::AfterVisitFault();
    return FaultStatus(region, "GuardedVisit", resolved->offset,
                       resolved->length, scope.fault, /*write=*/false);
  }
  scope.Enter();
  visit(bytes);
  scope.Leave();
  return absl::OkStatus();
}

namespace internal {

absl::Status GuardedLoadBytes(const Region& region, uint64_t offset, void* out,
                              size_t size) {
  if (offset > region.size() || size > region.size() - offset) {
    return CheckRange(region, "GuardedLoad", offset, size);
  }
  if (absl::Status status = EnsureFaultHandler(); !status.ok()) return status;
  const std::byte* source = region.bytes().data() + offset;
  if (size == 1 || size == 2 || size == 4 || size == 8) {
    const LoadResult result = LoadGuarded(source, size);
    if (result.faulted == 0) {
      std::memcpy(out, &result.value, size);
      return absl::OkStatus();
    }
  } else if (CopyGuarded(out, source, size, MappedSide::kSource) == 0) {
    return absl::OkStatus();
  }
  return FaultStatus(region, "GuardedLoad", offset, size, LastFault(),
                     /*write=*/false);
}

}  // namespace internal
}  // namespace mmapio
