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
#include "tools/report.h"

namespace mmapio::cli {

// An option that can be forced on or off, or left to whether the output
// is a terminal.
enum class When { kAuto, kAlways, kNever };

struct CliOptions {
  WalkOptions walk;
  ReportOptions report;                        // --json, --bytes, --summary
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
  uint64_t count = 0;           // watch --count; 0: until interrupted
  bool verbose = false;         // touch --verbose
  When progress = When::kAuto;  // touch, lock: --progress, --no-progress
  When color = When::kAuto;     // watch --color
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
  // Runs before each error is printed (to erase a progress line).
  void set_before_error(std::function<void()> before_error) {
    before_error_ = std::move(before_error);
  }

  // 0 when nothing failed, 1 otherwise.
  int exit_code() const { return failed_ ? 1 : 0; }

 private:
  std::string command_;
  const CliOptions& options_;
  std::function<void()> before_error_;
  bool failed_ = false;
};

// Whether to draw a progress line: --progress, or on a terminal unless
// --no-progress.
bool ShowProgress(const CliOptions& options);

// The files `paths` expand to, and what `bytes_of` says each will take: what
// a progress line counts down. A command with progress walks the paths
// first; errors are left for its run to report.
struct Plan {
  std::vector<std::string> files;
  uint64_t bytes = 0;
};
Plan PlanFiles(
    const std::vector<std::string>& paths, const CliOptions& options,
    const std::function<uint64_t(const std::string& path,
                                 const CliOptions& options)>& bytes_of);

// `status`'s message in the user's words. The library names its own
// function, the file and the byte range ("SummarizeFile \"f\" [0, end):
// open: No such file or directory"); an operator wants the failed call and
// the file: "open \"f\": No such file or directory", with the range only
// when it is not the whole file. Other messages are kept as they are.
std::string UserMessage(const absl::Status& status);

// On a terminal, when the report printed more lines than the screen holds,
// says on stderr that --summary prints the totals alone.
void SuggestSummary(absl::string_view command, const Report& report,
                    const CliOptions& options);

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
