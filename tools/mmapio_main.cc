// mmapio: inspect and manage the page-cache residency of files.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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
ABSL_FLAG(std::string, interval, "1s",
          "watch: time between rounds (0.5, 250ms, 5s, 1m)");
ABSL_FLAG(uint64_t, count, 0, "watch: rounds, 0 for no limit");
ABSL_FLAG(bool, summary, false, "only the total, on one line");
ABSL_FLAG(bool, verbose, false, "touch: list the files that needed nothing");
ABSL_FLAG(bool, progress, false, "a progress line on stderr, terminal or not");
ABSL_FLAG(bool, no_progress, false, "no progress line");
ABSL_FLAG(std::string, color, "auto", "watch: colour, auto, always or never");

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

Run "mmapio help COMMAND" (or "mmapio COMMAND --help") for a command's
options and examples, and "man mmapio" for all of them.
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
  // The options it takes, besides PathOptions(), as absl names them.
  std::vector<std::string> options;
};

// The options of every command: which files, and which bytes of them.
const std::vector<std::string>& PathOptions() {
  static const auto* const options = new std::vector<std::string>{
      "range",   "no_recurse", "follow",     "include",
      "exclude", "max_size",   "files_from", "null"};
  return *options;
}

const std::vector<Command>& Commands() {
  static const auto* const commands = new std::vector<Command>{
      {"stat", kStatHelp, &RunStat, {"bytes", "json", "summary"}},
      {"map",
       kMapHelp,
       &RunMap,
       {"bytes", "json", "runs", "resident", "width"}},
      {"touch",
       kTouchHelp,
       &RunTouch,
       {"bytes", "json", "summary", "jobs", "holes", "force", "verbose",
        "progress", "no_progress"}},
      {"evict", kEvictHelp, &RunEvict, {"bytes", "json", "summary"}},
      {"lock",
       kLockHelp,
       &RunLock,
       {"bytes", "daemon", "pidfile", "progress", "no_progress"}},
      {"watch", kWatchHelp, &RunWatch, {"json", "interval", "count", "color"}},
  };
  return *commands;
}

bool TakesOption(const Command& command, absl::string_view name) {
  const auto has = [name](const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  return has(command.options) || has(PathOptions());
}

// The command called `name`, or nullptr after saying on stderr that there
// is none.
const Command* FindCommand(const std::string& name) {
  for (const Command& command : Commands()) {
    if (name == command.name) return &command;
  }
  absl::FPrintF(stderr,
                "mmapio: unknown command \"%s\"\nRun \"mmapio --help\" for "
                "the commands.\n",
                name);
  return nullptr;
}

// What a value of `flag` looks like, for a usage error.
const char* ValueKind(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "true or false";
  return "a whole number";
}

// Sets the flags among `args` and returns the other arguments. Flags are
// written --name=value, --name value, or --name for a boolean; dashes in
// names stand for absl's underscores, and "-0" (as in xargs) for --null.
// Unlike absl::ParseCommandLine, which exits 1, a bad flag is an error here,
// so that usage errors exit 2.
absl::StatusOr<std::vector<std::string>> ParseFlags(
    const Command& command, const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string arg = args[i] == "-0" ? "--null" : args[i];
    if (arg == "--") {
      positional.insert(positional.end(),
                        args.begin() + static_cast<ptrdiff_t>(i) + 1,
                        args.end());
      break;
    }
    // "-" alone is a file name; a path that starts with "-" follows "--".
    if (arg.size() > 1 && arg[0] == '-' && arg[1] != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option ", arg,
                       " (a path that starts with \"-\" goes after \"--\")"));
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
    if (!TakesOption(command, name)) {
      const bool elsewhere =
          std::any_of(Commands().begin(), Commands().end(),
                      [&](const Command& c) { return TakesOption(c, name); });
      return absl::InvalidArgumentError(
          elsewhere ? absl::StrCat(arg.substr(0, equals),
                                   " is not an option of ", command.name)
                    : absl::StrCat("unknown option ", arg.substr(0, equals)));
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
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") return false;
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
}

// A duration: a bare number of seconds ("0.2", "5"), or a number with a
// unit ("250ms", "1.5s", "2m", "1h").
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  double seconds = 0;
  absl::Duration duration;
  if (absl::SimpleAtod(text, &seconds) && std::isfinite(seconds)) {
    duration = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &duration) ||
             duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a duration (0.5, 250ms, 5s, 1m)"));
  }
  return duration;
}

// The options from the parsed flags, or a usage error.
absl::StatusOr<CliOptions> OptionsFromFlags() {
  CliOptions options;
  options.report.exact_bytes = absl::GetFlag(FLAGS_bytes);
  options.report.json = absl::GetFlag(FLAGS_json);
  options.report.summary = absl::GetFlag(FLAGS_summary);
  options.verbose = absl::GetFlag(FLAGS_verbose);
  if (absl::GetFlag(FLAGS_progress) && absl::GetFlag(FLAGS_no_progress)) {
    return absl::InvalidArgumentError(
        "--progress and --no-progress ask for opposite things");
  }
  options.progress = absl::GetFlag(FLAGS_progress)      ? When::kAlways
                     : absl::GetFlag(FLAGS_no_progress) ? When::kNever
                                                        : When::kAuto;
  if (const std::string color = absl::GetFlag(FLAGS_color); color == "auto") {
    options.color = When::kAuto;
  } else if (color == "always") {
    options.color = When::kAlways;
  } else if (color == "never") {
    options.color = When::kNever;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--color=", color, ": give auto, always or never"));
  }
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
  absl::StatusOr<absl::Duration> interval =
      ParseDuration(absl::GetFlag(FLAGS_interval));
  if (!interval.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--interval: ", interval.status().message()));
  }
  options.interval = *interval;
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
  // For completion scripts and their tests: the commands, or the options a
  // command takes, one per line; those that take a value end with "=".
  if (args[1] == "help" && args.size() >= 3 && args[2] == "--options") {
    if (args.size() == 3) {
      for (const Command& command : Commands()) PrintF("%s\n", command.name);
      return Finish("", 0);
    }
    const Command* command = FindCommand(args[3]);
    if (command == nullptr) return kUsageError;
    for (const std::vector<std::string>* names :
         {&command->options, &PathOptions()}) {
      for (std::string name : *names) {
        const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
        std::replace(name.begin(), name.end(), '_', '-');
        PrintF("--%s%s\n", name, flag->IsOfType<bool>() ? "" : "=");
        if (name == "null") PrintF("-0\n");
      }
    }
    PrintF("--help\n");
    return Finish("", 0);
  }
  // "mmapio help [COMMAND]" is "mmapio [COMMAND] --help".
  const bool help_command =
      args[1] == "help" || args[1] == "--help" || args[1] == "-h";
  if (help_command && args.size() == 2) {
    Print(kToolHelp);
    return Finish("", 0);
  }
  const std::string& name = help_command ? args[2] : args[1];
  const Command* command = FindCommand(name);
  if (command == nullptr) return kUsageError;
  if (help_command || WantsHelp(args)) {
    Print(command->help);
    return Finish(command->name, 0);
  }
  absl::StatusOr<std::vector<std::string>> positional = ParseFlags(
      *command, std::vector<std::string>(args.begin() + 2, args.end()));
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
