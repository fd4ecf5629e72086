// errors.h on Linux: glibc names every errno, and Linux has errnos of its
// own.

#include <errno.h>
#include <string.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"

namespace mmapio::internal {

std::string ErrnoText(int err) {
  const char* name = strerrorname_np(err);
  return absl::StrCat(strerrordesc_np(err), " (",
                      name != nullptr ? name : "errno", ")");
}

std::optional<absl::StatusCode> OsErrnoToCode(int err) {
  switch (err) {
    case EDQUOT:
      return absl::StatusCode::kResourceExhausted;
    case EHWPOISON:
    case EUCLEAN:
      return absl::StatusCode::kDataLoss;
    default:
      return std::nullopt;
  }
}

}  // namespace mmapio::internal
