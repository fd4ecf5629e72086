// The errno half of errors.h: messages with the errno's name, and the code
// the error model gives each errno.

#include <errno.h>
#include <string.h>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"

namespace mmapio::internal {

absl::Status ErrnoError(int err, const OpContext& context,
                        absl::string_view syscall) {
  const char* name = strerrorname_np(err);
  return MakeError(ErrnoToCode(err), context,
                   absl::StrCat(syscall, ": ", strerrordesc_np(err), " (",
                                name != nullptr ? name : "errno", ")"));
}

absl::StatusCode ErrnoToCode(int err) {
  switch (err) {
    case ENOENT:
    case ENXIO:
      return absl::StatusCode::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::StatusCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
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
    case EHWPOISON:
    case EUCLEAN:
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
