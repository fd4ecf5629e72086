// A progress line on stderr for commands that load data (touch, lock):
// bytes done of bytes to do, rate, time left and the current file, redrawn
// in place at most ten times a second and erased before anything else is
// printed.
//
// Not thread-safe: one thread reports progress.

#ifndef MMAPIO_TOOLS_PROGRESS_H_
#define MMAPIO_TOOLS_PROGRESS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mmapio::cli {

// Pure: the line for `done` of `total` bytes after `elapsed`, at file
// `file` (1-based) of `files`, fitted into `columns` (0: no limit) by
// shortening the path from its start:
//   " 1.2 GiB / 2.8 GiB  43%  150.0 MiB/s  ETA 0:10  [120/5869] PATH"
std::string ProgressLine(uint64_t done, uint64_t total, absl::Duration elapsed,
                         uint64_t file, uint64_t files, absl::string_view path,
                         int columns);

class Progress {
 public:
  // Draws nothing unless `enabled`. `total_bytes` and `files` are what the
  // run expects to load.
  Progress(bool enabled, uint64_t total_bytes, uint64_t files);
  ~Progress() { Erase(); }

  bool enabled() const { return enabled_; }

  // A new file starts.
  void StartFile(absl::string_view path);
  // `bytes` of the current file are loaded; redraws when 100 ms have passed
  // since the last drawing.
  void SetFileDone(uint64_t bytes);
  // Erases the line, so that other output starts on a clean line; the next
  // SetFileDone draws it again once 100 ms have passed since the last
  // drawing.
  void Erase();

 private:
  void Draw(absl::Time now);

  const bool enabled_;
  const uint64_t total_bytes_;
  const uint64_t files_;
  const absl::Time start_;
  uint64_t done_before_file_ = 0;  // In the files before the current one.
  uint64_t file_done_ = 0;
  uint64_t file_ = 0;
  std::string path_;
  absl::Time last_draw_ = absl::InfinitePast();
  bool drawn_ = false;
};

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_PROGRESS_H_
