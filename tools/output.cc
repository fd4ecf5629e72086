#include "tools/output.h"

#include <errno.h>
#include <string.h>

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace mmapio::cli {
namespace {

// errno of the first write to standard output that failed; 0 while none
// has. stdio reports a failure once, when a buffer is written out, so it is
// kept from that moment.
int first_write_error = 0;

void NoteWriteError(int err) {
  if (first_write_error == 0) first_write_error = err != 0 ? err : EIO;
}

}  // namespace

void Print(absl::string_view text) {
  errno = 0;
  if (fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
      ferror(stdout)) {
    NoteWriteError(errno);
  }
}

absl::Status FlushOutput() {
  errno = 0;
  if (fflush(stdout) != 0 || ferror(stdout)) NoteWriteError(errno);
  if (first_write_error == 0) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "cannot write to standard output: ", strerror(first_write_error)));
}

}  // namespace mmapio::cli
