// errors.h on Windows: the C runtime's errno values, described without
// names (it has no strerrorname_np), and none of Linux's own.

#include <string.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "mmapio/internal/errors.h"

namespace mmapio::internal {

std::string ErrnoText(int err) {
  return absl::StrCat(strerror(err), " (errno ", err, ")");
}

std::optional<absl::StatusCode> OsErrnoToCode(int) { return std::nullopt; }

}  // namespace mmapio::internal
