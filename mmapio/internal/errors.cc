#include "mmapio/internal/errors.h"

#include <errno.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "mmapio/byte_range.h"

namespace mmapio::internal {

absl::Status MakeError(absl::StatusCode code, const OpContext& context,
                       absl::string_view detail) {
  return absl::Status(
      code,
      absl::StrCat(context.operation, " \"", context.path, "\" ",
                   FormatRange(context.offset, context.length), ": ", detail));
}

absl::Status ErrnoError(int err, const OpContext& context,
                        absl::string_view syscall) {
  return MakeError(ErrnoToCode(err), context,
                   absl::StrCat(syscall, ": ", ErrnoText(err)));
}

absl::StatusCode ErrnoToCode(int err) {
  if (const std::optional<absl::StatusCode> code = OsErrnoToCode(err)) {
    return *code;
  }
  switch (err) {
    case ENOENT:
    case ENXIO:
      return absl::StatusCode::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EAGAIN:
      return absl::StatusCode::kResourceExhausted;
    case EFBIG:
    case EOVERFLOW:
    case ERANGE:
      return absl::StatusCode::kOutOfRange;
    case EIO:
      return absl::StatusCode::kDataLoss;
    case ENODEV:
    case ETXTBSY:
    case EBUSY:
      return absl::StatusCode::kFailedPrecondition;
    case ENOSYS:
    case EOPNOTSUPP:
      return absl::StatusCode::kUnimplemented;
    case EINTR:
      return absl::StatusCode::kAborted;
    default:
      return absl::StatusCode::kInvalidArgument;
  }
}

}  // namespace mmapio::internal
