// The mmapio CLI's standard output. Every subcommand prints through here, so
// that output lost to a full disk or a closed pipe is noticed in one place
// instead of by each command remembering to check.

#ifndef MMAPIO_TOOLS_OUTPUT_H_
#define MMAPIO_TOOLS_OUTPUT_H_

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace mmapio::cli {

// Appends `text` to standard output. A failed write is remembered for
// FlushOutput.
void Print(absl::string_view text);

template <typename... Args>
void PrintF(const absl::FormatSpec<Args...>& format, const Args&... args) {
  Print(absl::StrFormat(format, args...));
}

// Writes out what is buffered. Unavailable, naming the first failed write's
// error, when any output since the start of the program was lost.
absl::Status FlushOutput();

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_OUTPUT_H_
