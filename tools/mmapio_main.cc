// mmapio: inspect and manage the page-cache residency of files.

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "mmapio/version.h"
#include "tools/command.h"
#include "tools/console.h"
#include "tools/file_walk.h"
#include "tools/format.h"
#include "tools/output.h"

ABSL_FLAG(bool, bytes, false, "exact byte counts");
ABSL_FLAG(bool, json, false, "one JSON object per line");
ABSL_FLAG(std::string, range, "", "START-END: only these bytes of each file");
ABSL_FLAG(bool, no_recurse, false, "do not walk into directories");
ABSL_FLAG(bool, follow, false, "follow symbolic links inside directories");
ABSL_FLAG(std::vector<std::string>, include, {}, "globs of files to take");
ABSL_FLAG(std::vector<std::string>, exclude, {}, "globs of files to skip");
ABSL_FLAG(std::string, max_size, "", "skip files larger than this");
ABSL_FLAG(std::string, files_from, "",
          "read paths from this file, - for stdin");
ABSL_FLAG(bool, null, false, "paths in --files-from are NUL-separated (-0)");
ABSL_FLAG(bool, runs, false, "map: list runs of pages");
ABSL_FLAG(bool, resident, false, "map --runs: list resident runs");
ABSL_FLAG(std::optional<int>, width, std::nullopt, "map: bar width");
ABSL_FLAG(int, jobs, 8, "touch: reads waited for at once");
ABSL_FLAG(bool, holes, false, "touch: load the holes of sparse files too");
ABSL_FLAG(bool, force, false, "touch: load more than the memory available");
ABSL_FLAG(bool, daemon, false, "lock: detach once locked");
ABSL_FLAG(std::string, pidfile, "", "lock: write the process id here");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(1),
          "watch: time between rounds");
ABSL_FLAG(uint64_t, count, 0, "watch: rounds, 0 for no limit");

namespace mmapio::cli {
namespace {

constexpr int kUsageError = 2;
// map --width: a bar needs one bucket between its brackets; wider than a
// screen has columns is a mistake.
constexpr int kMinWidth = 3;
constexpr int kMaxWidth = 100000;

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
With --json, a path that is not valid UTF-8 has each invalid byte written
as \u00XX and comes with "path_bytes": its exact bytes in hexadecimal.
"mmapio --version" (or -V) prints the version.
Exit status: 0 when every file succeeded, 1 when some file failed or output
could not be written, 2 on a usage error.
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

// What a value of `flag` looks like, for a usage error.
const char* ValueKind(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "true or false";
  if (flag.IsOfType<absl::Duration>()) return "a duration (like 250ms, 5s, 1m)";
  return "a whole number";
}

// Sets the flags among `args` and returns the other arguments. Flags are
// written --name=value, --name value, or --name for a boolean; dashes in
// names stand for absl's underscores, and "-0" (as in xargs) for --null.
// Unlike absl::ParseCommandLine, which exits 1, a bad flag is an error here,
// so that usage errors exit 2.
absl::StatusOr<std::vector<std::string>> ParseFlags(
    const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string arg = args[i] == "-0" ? "--null" : args[i];
    if (arg == "--") {
      positional.insert(positional.end(),
                        args.begin() + static_cast<ptrdiff_t>(i) + 1,
                        args.end());
      break;
    }
    if (!absl::StartsWith(arg, "--")) {
      positional.push_back(arg);
      continue;
    }
    const size_t equals = arg.find('=');
    std::string name = arg.substr(
        2, equals == std::string::npos ? std::string::npos : equals - 2);
    std::replace(name.begin(), name.end(), '-', '_');
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", arg));
    }
    std::string value;
    if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (flag->IsOfType<bool>()) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("option ", arg, " needs a value"));
    }
    // No option takes an empty value: "--range=" is a mistake, not a request
    // for the default.
    if (value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("option ", arg, " has an empty value"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("option ", arg.substr(0, equals), "=", value, ": not ",
                       ValueKind(*flag)));
    }
  }
  return positional;
}

bool WantsHelp(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
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
  for (const std::vector<std::string>* globs :
       {&options.walk.include, &options.walk.exclude}) {
    if (std::find(globs->begin(), globs->end(), "") != globs->end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          globs == &options.walk.include ? "--include" : "--exclude",
          " has an empty glob (two commas in a row, or one at an end)"));
    }
  }
  options.runs = absl::GetFlag(FLAGS_runs);
  options.resident_runs = absl::GetFlag(FLAGS_resident);
  if (const std::optional<int> width = absl::GetFlag(FLAGS_width);
      width.has_value()) {
    if (*width < kMinWidth || *width > kMaxWidth) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--width=%d: the bar takes %d to %d columns", *width,
                          kMinWidth, kMaxWidth));
    }
    options.width = *width;
  }
  options.jobs = absl::GetFlag(FLAGS_jobs);
  options.holes = absl::GetFlag(FLAGS_holes);
  options.force = absl::GetFlag(FLAGS_force);
  options.daemon = absl::GetFlag(FLAGS_daemon);
  options.pidfile = absl::GetFlag(FLAGS_pidfile);
  options.interval = absl::GetFlag(FLAGS_interval);
  options.count = absl::GetFlag(FLAGS_count);
  if (options.jobs < 1 || options.jobs > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--jobs=", options.jobs, ": give 1 to 1024 reads to wait for"));
  }
  if (options.interval <= absl::ZeroDuration() ||
      options.interval == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--interval=", absl::FormatDuration(options.interval),
                     ": the time between rounds must be positive and finite"));
  }
  return options;
}

// `exit_code`, or 1 when some output could not be written, which is then
// named on stderr.
int Finish(absl::string_view command, int exit_code) {
  if (absl::Status flushed = FlushOutput(); !flushed.ok()) {
    absl::FPrintF(stderr, "mmapio%s%s: %s\n", command.empty() ? "" : " ",
                  command, flushed.message());
    return 1;
  }
  return exit_code;
}

int Main(const std::vector<std::string>& args) {
  absl::SetProgramUsageMessage(kToolHelp);
  if (args.size() < 2) {
    absl::FPrintF(stderr, "%s", kToolHelp);
    return kUsageError;
  }
  if (args[1] == "--version" || args[1] == "-V") {
    PrintF("mmapio %s\n", MMAPIO_VERSION_STRING);
    return Finish("", 0);
  }
  const Command* command = FindCommand(args[1]);
  if (WantsHelp(args)) {
    Print(command != nullptr ? command->help : kToolHelp);
    return Finish(command != nullptr ? command->name : "", 0);
  }
  if (command == nullptr) {
    absl::FPrintF(stderr, "mmapio: unknown command \"%s\"\n\n%s", args[1],
                  kToolHelp);
    return kUsageError;
  }
  absl::StatusOr<std::vector<std::string>> positional =
      ParseFlags(std::vector<std::string>(args.begin() + 2, args.end()));
  absl::StatusOr<CliOptions> options =
      positional.ok() ? OptionsFromFlags() : positional.status();
  if (!options.ok()) {
    absl::FPrintF(stderr,
                  "mmapio %s: %s\nRun \"mmapio %s --help\" for the options.\n",
                  command->name, options.status().message(), command->name);
    return kUsageError;
  }
  std::vector<std::string> paths = *std::move(positional);
  if (const std::string list = absl::GetFlag(FLAGS_files_from); !list.empty()) {
    absl::StatusOr<std::vector<std::string>> listed =
        ReadPathList(list, absl::GetFlag(FLAGS_null));
    if (!listed.ok()) {
      absl::FPrintF(stderr, "mmapio %s: %s\n", command->name,
                    listed.status().message());
      return kUsageError;
    }
    paths.insert(paths.end(), listed->begin(), listed->end());
  } else if (absl::GetFlag(FLAGS_null)) {
    absl::FPrintF(stderr, "mmapio %s: -0 goes with --files-from\n",
                  command->name);
    return kUsageError;
  }
  if (paths.empty()) {
    absl::FPrintF(stderr, "mmapio %s: no PATH given\n\n%s", command->name,
                  command->help);
    return kUsageError;
  }
  return Finish(command->name, command->run(paths, *options));
}

}  // namespace
}  // namespace mmapio::cli

int main(int argc, char** argv) {
  return mmapio::cli::Main(mmapio::cli::StartConsole(argc, argv));
}
