// Builds mmapio's error statuses: one message shape for every operation,
// "<operation> \"<path>\" [<first byte>, <end>): <detail>", with file offsets,
// and the status code from the error model in DESIGN.md.

#ifndef MMAPIO_INTERNAL_ERRORS_H_
#define MMAPIO_INTERNAL_ERRORS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mmapio::internal {

// What an operation was doing, for its error messages.
struct OpContext {
  absl::string_view operation;
  absl::string_view path;
  uint64_t offset = 0;  // In the file.
  uint64_t length = 0;
};

absl::Status MakeError(absl::StatusCode code, const OpContext& context,
                       absl::string_view detail);

// An error for `err` (an errno value) returned by `syscall`, with the code
// the error model gives that errno.
absl::Status ErrnoError(int err, const OpContext& context,
                        absl::string_view syscall);

absl::StatusCode ErrnoToCode(int err);

// Per OS (errors_linux.cc, errors_windows.cc): the description of `err`
// for messages, and the code of an errno only that OS has (nullopt for
// the others, which ErrnoToCode knows).
std::string ErrnoText(int err);
std::optional<absl::StatusCode> OsErrnoToCode(int err);

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_ERRORS_H_
