// What every mmapio subcommand shares: its options, its file loop and its
// error reporting.

#ifndef MMAPIO_TOOLS_COMMAND_H_
#define MMAPIO_TOOLS_COMMAND_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mmapio/byte_range.h"
#include "mmapio/region.h"
#include "tools/file_walk.h"

namespace mmapio::cli {

struct CliOptions {
  WalkOptions walk;
  bool exact_bytes = false;                    // --bytes
  bool json = false;                           // --json
  std::optional<ByteRange> range;              // --range
  bool runs = false;                           // map --runs
  bool resident_runs = false;                  // map --runs --resident
  int width = 0;                               // map --width; 0: the terminal's
  int jobs = 8;                                // touch --jobs
  bool holes = false;                          // touch --holes
  bool force = false;                          // touch --force
  bool daemon = false;                         // lock --daemon
  std::string pidfile;                         // lock --pidfile
  absl::Duration interval = absl::Seconds(1);  // watch --interval
  uint64_t count = 0;  // watch --count; 0: until interrupted
};

// Runs a command's work over every file the paths expand to, and keeps the
// exit status: per-file errors go to stderr as "mmapio CMD: message", and
// the other files are still processed.
class FileLoop {
 public:
  FileLoop(absl::string_view command, const CliOptions& options)
      : command_(command), options_(options) {}

  void Run(const std::vector<std::string>& paths,
           const std::function<absl::Status(const std::string&)>& on_file);
  // Like Run, with each file opened read-only and --range resolved in it
  // (see RangeIn). `on_region` may keep the region by moving it.
  void RunOnRegions(
      const std::vector<std::string>& paths,
      const std::function<absl::Status(Region&, ByteRange)>& on_region);
  void Report(const absl::Status& status);

  // 0 when nothing failed, 1 otherwise.
  int exit_code() const { return failed_ ? 1 : 0; }

 private:
  std::string command_;
  const CliOptions& options_;
  bool failed_ = false;
};

// The --range of `options` resolved against `region`: an end past the end
// of the file stops there; a start past it is OutOfRange.
absl::StatusOr<ByteRange> RangeIn(const Region& region,
                                  const CliOptions& options);

using CommandFunction = int (*)(const std::vector<std::string>& paths,
                                const CliOptions& options);

int RunStat(const std::vector<std::string>& paths, const CliOptions& options);
int RunMap(const std::vector<std::string>& paths, const CliOptions& options);
int RunTouch(const std::vector<std::string>& paths, const CliOptions& options);
int RunEvict(const std::vector<std::string>& paths, const CliOptions& options);
int RunLock(const std::vector<std::string>& paths, const CliOptions& options);
int RunWatch(const std::vector<std::string>& paths, const CliOptions& options);

extern const char kStatHelp[];
extern const char kMapHelp[];
extern const char kTouchHelp[];
extern const char kEvictHelp[];
extern const char kLockHelp[];
extern const char kWatchHelp[];

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_COMMAND_H_
