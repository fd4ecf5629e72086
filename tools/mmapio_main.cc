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
#include "tools/stat_command.h"

ABSL_FLAG(bool, bytes, false, "print exact byte counts");
ABSL_FLAG(bool, no_recurse, false, "do not walk into directories");

namespace mmapio::cli {
namespace {

constexpr int kUsageError = 2;

constexpr char kToolHelp[] =
    R"(usage: mmapio COMMAND [OPTIONS] PATH...

Inspects and manages which pages of files are in the page cache.

commands:
  stat    size and resident pages per file, and a total

Run "mmapio COMMAND --help" for a command's options and examples.
Exit status: 0 when every file succeeded, 1 when some file failed,
2 on a usage error.
)";

struct Command {
  const char* name;
  const char* help;
  int (*run)(const std::vector<std::string>& paths);
};

int Stat(const std::vector<std::string>& paths) {
  StatOptions options;
  options.exact_bytes = absl::GetFlag(FLAGS_bytes);
  options.walk.recurse = !absl::GetFlag(FLAGS_no_recurse);
  return RunStat(paths, options);
}

constexpr Command kCommands[] = {
    {"stat", kStatHelp, &Stat},
};

const Command* FindCommand(const std::string& name) {
  for (const Command& command : kCommands) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

// absl flags are spelled with underscores; the CLI documents dashes.
std::vector<char*> NormalizeFlags(int argc, char** argv,
                                  std::vector<std::string>& storage) {
  storage.assign(argv, argv + argc);
  for (std::string& arg : storage) {
    if (arg == "--") break;
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
    absl::FPrintF(stderr, "mmapio: unknown command \"%s\"\n\n%s", argv[1],
                  kToolHelp);
    return kUsageError;
  }
  std::vector<std::string> storage;
  std::vector<char*> args = NormalizeFlags(argc, argv, storage);
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(args.size()),
                                                   args.data());
  // rest[0] is the program, rest[1] the command.
  const std::vector<std::string> paths(rest.begin() + 2, rest.end());
  if (paths.empty()) {
    absl::FPrintF(stderr, "mmapio %s: no PATH given\n\n%s", command->name,
                  command->help);
    return kUsageError;
  }
  return command->run(paths);
}

}  // namespace
}  // namespace mmapio::cli

int main(int argc, char** argv) { return mmapio::cli::Main(argc, argv); }
