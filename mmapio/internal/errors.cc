#include "mmapio/internal/errors.h"

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

}  // namespace mmapio::internal
