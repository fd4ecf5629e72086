// mmapio: inspect and manage the page-cache residency of files.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "tools/command.h"
#include "tools/file_walk.h"
#include "tools/format.h"

ABSL_FLAG(bool, bytes, false, "exact byte counts");
ABSL_FLAG(bool, json, false, "one JSON object per line");
ABSL_FLAG(std::string, range, "", "START-END: only these bytes of each file");
ABSL_FLAG(bool, no_recurse, false, "do not walk into directories");
ABSL_FLAG(bool, follow, false, "follow symbolic links inside directories");
ABSL_FLAG(std::vector<std::string>, include, {}, "globs of files to take");
ABSL_FLAG(std::vector<std::string>, exclude, {}, "globs of files to skip");
ABSL_FLAG(std::string, max_size, "", "skip files larger than this");
ABSL_FLAG(std::string, files_from, "", "read paths from this file, - for stdin");
ABSL_FLAG(bool, null, false, "paths in --files-from are NUL-separated (-0)");
ABSL_FLAG(bool, runs, false, "map: list runs of pages");
ABSL_FLAG(bool, resident, false, "map --runs: list resident runs");
ABSL_FLAG(int, width, 0, "map: bar width");
ABSL_FLAG(int, jobs, 8, "touch: reads waited for at once");
ABSL_FLAG(bool, daemon, false, "lock: detach once locked");
ABSL_FLAG(std::string, pidfile, "", "lock: write the process id here");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(1), "watch: time between rounds");
ABSL_FLAG(uint64_t, count, 0, "watch: rounds, 0 for no limit");

namespace mmapio::cli {
namespace {

constexpr int kUsageError = 2;

constexpr char kToolHelp[] =
    R"(usage: mmapio COMMAND [OPTIONS] PATH...

Inspects and manages which pages of files are in the page cache.

commands:
  stat    size and resident pages per file, with dirty and evicted pages
  map     where the resident pages are: a bar per file, or runs of pages
  touch   load only the missing pages, many reads in flight
  evict   drop pages from the page cache, losing nothing
  lock    load and lock files in memory until interrupted
  watch   residency over time, flagging thrashing

Run "mmapio COMMAND --help" for a command's options and examples.
Sizes are binary (KiB, MiB, ...); --bytes prints exact numbers.
Exit status: 0 when every file succeeded, 1 when some file failed,
2 on a usage error.
)";

struct Command {
  const char* name;
  const char* help;
  CommandFunction run;
};

constexpr Command kCommands[] = {
    {"stat", kStatHelp, &RunStat},    {"map", kMapHelp, &RunMap},
    {"touch", kTouchHelp, &RunTouch}, {"evict", kEvictHelp, &RunEvict},
    {"lock", kLockHelp, &RunLock},    {"watch", kWatchHelp, &RunWatch},
};

const Command* FindCommand(const std::string& name) {
  for (const Command& command : kCommands) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

// absl flags are spelled with underscores; the CLI documents dashes, and
// "-0" (as in xargs) for --null.
std::vector<char*> NormalizeFlags(int argc, char** argv,
                                  std::vector<std::string>& storage) {
  storage.assign(argv, argv + argc);
  for (std::string& arg : storage) {
    if (arg == "--") break;
    if (arg == "-0") arg = "--null";
    if (!absl::StartsWith(arg, "--")) continue;
    const size_t end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + 2, arg.begin() + static_cast<ptrdiff_t>(end), '-', '_');
  }
  std::vector<char*> result;
  for (std::string& arg : storage) result.push_back(arg.data());
  return result;
}

bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return false;
    if (arg == "--help" || arg == "-h" || arg == "help") return true;
  }
  return false;
}

// The options from the parsed flags, or a usage error.
absl::StatusOr<CliOptions> OptionsFromFlags() {
  CliOptions options;
  options.exact_bytes = absl::GetFlag(FLAGS_bytes);
  options.json = absl::GetFlag(FLAGS_json);
  options.walk.recurse = !absl::GetFlag(FLAGS_no_recurse);
  options.walk.follow_symlinks = absl::GetFlag(FLAGS_follow);
  options.walk.include = absl::GetFlag(FLAGS_include);
  options.walk.exclude = absl::GetFlag(FLAGS_exclude);
  if (const std::string size = absl::GetFlag(FLAGS_max_size); !size.empty()) {
    absl::StatusOr<uint64_t> parsed = ParseSize(size);
    if (!parsed.ok()) return parsed.status();
    options.walk.max_size = *parsed;
  }
  if (const std::string range = absl::GetFlag(FLAGS_range); !range.empty()) {
    absl::StatusOr<ByteRange> parsed = ParseRange(range);
    if (!parsed.ok()) return parsed.status();
    options.range = *parsed;
  }
  options.runs = absl::GetFlag(FLAGS_runs);
  options.resident_runs = absl::GetFlag(FLAGS_resident);
  options.width = absl::GetFlag(FLAGS_width);
  options.jobs = absl::GetFlag(FLAGS_jobs);
  options.daemon = absl::GetFlag(FLAGS_daemon);
  options.pidfile = absl::GetFlag(FLAGS_pidfile);
  options.interval = absl::GetFlag(FLAGS_interval);
  options.count = absl::GetFlag(FLAGS_count);
  if (options.jobs < 1 || options.jobs > 1024) {
    return absl::InvalidArgumentError("--jobs must be between 1 and 1024");
  }
  if (options.interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--interval must be positive");
  }
  return options;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kToolHelp);
  if (argc < 2) {
    absl::FPrintF(stderr, "%s", kToolHelp);
    return kUsageError;
  }
  const Command* command = FindCommand(argv[1]);
  if (WantsHelp(argc, argv)) {
    absl::PrintF("%s", command != nullptr ? command->help : kToolHelp);
    return 0;
  }
  if (command == nullptr) {
    absl::FPrintF(stderr, "mmapio: unknown command \"%s\"\n\n%s", argv[1], kToolHelp);
    return kUsageError;
  }
  std::vector<std::string> storage;
  std::vector<char*> args = NormalizeFlags(argc, argv, storage);
  std::vector<char*> rest =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  absl::StatusOr<CliOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    absl::FPrintF(stderr, "mmapio %s: %s\n", command->name, options.status().message());
    return kUsageError;
  }
  // rest[0] is the program, rest[1] the command.
  std::vector<std::string> paths(rest.begin() + 2, rest.end());
  if (const std::string list = absl::GetFlag(FLAGS_files_from); !list.empty()) {
    absl::StatusOr<std::vector<std::string>> listed =
        ReadPathList(list, absl::GetFlag(FLAGS_null));
    if (!listed.ok()) {
      absl::FPrintF(stderr, "mmapio %s: %s\n", command->name, listed.status().message());
      return kUsageError;
    }
    paths.insert(paths.end(), listed->begin(), listed->end());
  } else if (absl::GetFlag(FLAGS_null)) {
    absl::FPrintF(stderr, "mmapio %s: -0 goes with --files-from\n", command->name);
    return kUsageError;
  }
  if (paths.empty()) {
    absl::FPrintF(stderr, "mmapio %s: no PATH given\n\n%s", command->name, command->help);
    return kUsageError;
  }
  return command->run(paths, *options);
}

}  // namespace
}  // namespace mmapio::cli

int main(int argc, char** argv) { return mmapio::cli::Main(argc, argv); }
