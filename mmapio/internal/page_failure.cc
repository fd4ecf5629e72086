#include "mmapio/internal/page_failure.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "mmapio/internal/platform.h"

namespace mmapio {
namespace {

constexpr absl::string_view kFaultPayload = "mmapio/FaultInfo";

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

namespace internal {
namespace {

// The first page of [at, end) that is not resident, or `at` when mincore
// cannot tell. MADV_POPULATE_READ maps pages in order and stops at the
// first it cannot read, so the pages before that one are resident.
std::byte* FirstNotResident(std::byte* at, std::byte* end,
                            const OpContext& context) {
  const absl::StatusOr<const std::byte*> first =
      FirstNonResidentPage(at, end, context);
  if (!first.ok() || *first == end) return at;
  return const_cast<std::byte*>(*first);
}

}  // namespace

absl::StatusOr<const std::byte*> FirstNonResidentPage(
    const std::byte* at, const std::byte* end, const OpContext& context) {
  const size_t page = PageSize();
  constexpr size_t kWindowPages = 1024;
  unsigned char resident[kWindowPages];
  for (const std::byte* window = at; window < end;) {
    const size_t pages = std::min<size_t>(
        kWindowPages, static_cast<size_t>(end - window) / page);
    if (absl::Status status =
            QueryResidency(window, pages * page, resident, context);
        !status.ok()) {
      return status;
    }
    for (size_t i = 0; i < pages; ++i) {
      if ((resident[i] & 1) == 0) return window + i * page;
    }
    window += pages * page;
  }
  return end;
}

void AttachFaultInfo(absl::Status& status, const FaultInfo& fault) {
  status.SetPayload(kFaultPayload, absl::Cord(absl::StrCat(
                                       fault.file_offset, "\n", fault.address,
                                       "\n", fault.si_code, "\n", fault.path)));
}

PageFailureKind ClassifyPageFailure(const PageFailureFacts& facts) {
  if (facts.poisoned) return PageFailureKind::kPoisoned;
  if (facts.past_end_of_file) return PageFailureKind::kTruncated;
  if (facts.reads_now && !facts.write) return PageFailureKind::kTruncated;
  if (facts.no_space) return PageFailureKind::kNoSpace;
  return PageFailureKind::kUnreadable;
}

FailedPage FaultedPage(int fd, const std::byte* mapped, uint64_t mapped_offset,
                       uintptr_t address, int si_code, absl::string_view path,
                       bool write) {
  const auto base = reinterpret_cast<uintptr_t>(mapped);
  const uintptr_t page_address = address / PageSize() * PageSize();
  FailedPage failed;
  failed.fd = fd;
  failed.page = reinterpret_cast<std::byte*>(page_address);
  // Unsigned arithmetic: the page may start before `mapped`.
  failed.page_file_offset = mapped_offset + (page_address - base);
  failed.fault = FaultInfo{mapped_offset + (address - base), address, si_code,
                           std::string(path)};
  failed.poisoned = IsPoisonFault(si_code);
  failed.write = write;
  return failed;
}

absl::Status PageFailureStatus(const FailedPage& failed,
                               absl::string_view cause,
                               const OpContext& context) {
  const size_t page = PageSize();
  PageFailureFacts facts{.poisoned = failed.poisoned, .write = failed.write};
  absl::StatusOr<uint64_t> file_size;
  const auto past_end = [&] {
    file_size = FileSize(failed.fd, context);
    return file_size.ok() &&
           failed.page_file_offset >= (*file_size + page - 1) / page * page;
  };
  for (int look = 0; look < 3 && !facts.poisoned; ++look) {
    // The size on both sides of the retry: to fool a look, the file must
    // be truncated below the page and grow back over it in between.
    facts.past_end_of_file = past_end();
    facts.reads_now = !facts.past_end_of_file && !failed.write &&
                      PopulateRead(failed.page, page) == 0;
    if (!facts.past_end_of_file && !facts.reads_now) {
      facts.past_end_of_file = past_end();
    }
    facts.no_space = NoSpaceForPage(failed.fd, failed.write);
    if (ClassifyPageFailure(facts) != PageFailureKind::kUnreadable) break;
  }
  const std::string at =
      absl::StrCat(cause, " at file offset ", failed.fault.file_offset, ": ");
  absl::Status status;
  switch (ClassifyPageFailure(facts)) {
    case PageFailureKind::kPoisoned:
      status = MakeError(
          absl::StatusCode::kDataLoss, context,
          absl::StrCat(at, "the memory is poisoned (hardware error)"));
      break;
    case PageFailureKind::kTruncated:
      status = MakeError(
          absl::StatusCode::kOutOfRange, context,
          absl::StrCat(at, "the page is past the end of the file (",
                       file_size.ok() ? absl::StrCat(*file_size, " bytes now")
                                      : "size unknown",
                       "): truncated underneath"));
      break;
    case PageFailureKind::kNoSpace:
      status = MakeError(absl::StatusCode::kResourceExhausted, context,
                         absl::StrCat(at,
                                      "no space left on the filesystem for "
                                      "the page (ENOSPC)"));
      break;
    case PageFailureKind::kUnreadable:
      status = MakeError(
          absl::StatusCode::kDataLoss, context,
          absl::StrCat(at, "the device could not read the page (EIO)"));
      break;
  }
  AttachFaultInfo(status, failed.fault);
  return status;
}

absl::Status PopulateFileMemory(int fd, std::byte* address, size_t length,
                                uint64_t file_offset,
                                const OpContext& context) {
  const size_t page = PageSize();
  std::byte* const end = address + length;
  std::byte* at = address;
  int err = PopulateRead(at, length);
  // Each turn either names the failing page or moves past a page that
  // reads now.
  while (err != 0) {
    if (!PopulateFailedOnPage(err)) return PopulateError(err, context);
    std::byte* const candidate = FirstNotResident(at, end, context);
    err = PopulateRead(candidate, page);
    if (PopulateFailedOnPage(err)) {
      // What a touch of the page would have raised.
      return PageFailureStatus(
          FaultedPage(
              fd, address, file_offset, reinterpret_cast<uintptr_t>(candidate),
              FaultCodeOfPopulateError(err), context.path, /*write=*/false),
          "madvise(MADV_POPULATE_READ)", context);
    }
    if (err != 0) return PopulateError(err, context);
    at = candidate + page;
    if (at >= end) return absl::OkStatus();
    err = PopulateRead(at, static_cast<size_t>(end - at));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace mmapio
