// run_command: runs a command several times with its output discarded and
// prints, per run, the wall time and the child's peak resident set size.
//
//   run_command [--repeat=N] -- COMMAND [ARG...]
//
// Output, one line per run, then the medians:
//
//   run 1: 0.012345 s 3456 KiB
//   median: 0.012345 s 3456 KiB
//
// Wall time runs from just before fork to the end of wait4, so it includes
// process start-up. The peak RSS is ru_maxrss of the waited child; Linux
// also counts in it the forked copy of this process before exec, so figures
// near 1 MiB (what /bin/true shows) are a floor, not the command's own.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string_view>
#include <vector>

namespace {

constexpr int kUsageError = 2;
constexpr int kCommandFailed = 1;

constexpr char kUsage[] =
    "usage: run_command [--repeat=N] -- COMMAND [ARG...]\n"
    "Runs COMMAND N times (default 1) with stdout and stderr sent to\n"
    "/dev/null; prints the wall seconds and peak RSS (KiB) of each run, then\n"
    "the medians. Stops at the first run that fails.\n";

struct Run {
  double seconds = 0;
  long max_rss_kib = 0;
};

struct Options {
  int repeat = 1;
  char** command = nullptr;  // NULL-terminated, as execvp wants it
};

// Parses argv; returns false (after printing why) on a usage error.
bool ParseArgs(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") {
      if (i + 1 == argc) break;
      options.command = argv + i + 1;
      return true;
    }
    constexpr std::string_view kRepeat = "--repeat=";
    if (arg.starts_with(kRepeat)) {
      const std::string_view value = arg.substr(kRepeat.size());
      const auto [end, error] = std::from_chars(
          value.data(), value.data() + value.size(), options.repeat);
      if (error != std::errc() || end != value.data() + value.size() ||
          options.repeat < 1) {
        std::fprintf(stderr, "run_command: bad --repeat value \"%.*s\"\n",
                     static_cast<int>(value.size()), value.data());
        return false;
      }
      continue;
    }
    std::fprintf(stderr, "run_command: unexpected argument \"%s\"\n", argv[i]);
    return false;
  }
  std::fprintf(stderr, "run_command: no command after --\n");
  return false;
}

double Now() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) +
         static_cast<double>(now.tv_nsec) * 1e-9;
}

// Runs the command once. Returns false (after printing why) when it could
// not be started or did not exit with status 0.
bool RunOnce(char** command, int dev_null, Run& run) {
  // The child reports a failed exec through this pipe: its stderr is
  // already /dev/null by then, and exit status 127 could be the command's.
  int exec_error[2];
  if (pipe2(exec_error, O_CLOEXEC) != 0) {
    std::fprintf(stderr, "run_command: pipe: %s\n", std::strerror(errno));
    return false;
  }
  const double start = Now();
  const pid_t pid = fork();
  if (pid < 0) {
    std::fprintf(stderr, "run_command: fork: %s\n", std::strerror(errno));
    close(exec_error[0]);
    close(exec_error[1]);
    return false;
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    close(exec_error[0]);
    if (dup2(dev_null, STDOUT_FILENO) >= 0 &&
        dup2(dev_null, STDERR_FILENO) >= 0) {
      execvp(command[0], command);
    }
    const int error = errno;
    while (write(exec_error[1], &error, sizeof(error)) < 0 && errno == EINTR) {
    }
    _exit(127);
  }
  close(exec_error[1]);
  int status = 0;
  rusage usage{};
  pid_t waited;
  do {
    waited = wait4(pid, &status, 0, &usage);
  } while (waited < 0 && errno == EINTR);
  run.seconds = Now() - start;
  run.max_rss_kib = usage.ru_maxrss;

  int child_errno = 0;
  ssize_t got;
  do {
    got = read(exec_error[0], &child_errno, sizeof(child_errno));
  } while (got < 0 && errno == EINTR);
  close(exec_error[0]);
  if (waited < 0) {
    std::fprintf(stderr, "run_command: wait4: %s\n", std::strerror(errno));
    return false;
  }
  if (got == static_cast<ssize_t>(sizeof(child_errno))) {
    std::fprintf(stderr, "run_command: cannot run %s: %s\n", command[0],
                 std::strerror(child_errno));
    return false;
  }
  if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "run_command: %s killed by signal %d (%s)\n",
                 command[0], WTERMSIG(status), strsignal(WTERMSIG(status)));
    return false;
  }
  if (WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "run_command: %s exited with status %d\n", command[0],
                 WEXITSTATUS(status));
    return false;
  }
  return true;
}

template <typename T>
double Median(std::vector<T> values) {
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  if (values.size() % 2 == 1) return static_cast<double>(values[mid]);
  return (static_cast<double>(values[mid - 1]) +
          static_cast<double>(values[mid])) /
         2;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  Options options;
  if (!ParseArgs(argc, argv, options)) {
    std::fputs(kUsage, stderr);
    return kUsageError;
  }
  const int dev_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (dev_null < 0) {
    std::fprintf(stderr, "run_command: /dev/null: %s\n", std::strerror(errno));
    return kCommandFailed;
  }
  std::vector<double> seconds;
  std::vector<long> max_rss_kib;
  for (int i = 1; i <= options.repeat; ++i) {
    Run run;
    if (!RunOnce(options.command, dev_null, run)) return kCommandFailed;
    std::printf("run %d: %.6f s %ld KiB\n", i, run.seconds, run.max_rss_kib);
    std::fflush(stdout);
    seconds.push_back(run.seconds);
    max_rss_kib.push_back(run.max_rss_kib);
  }
  std::printf("median: %.6f s %.0f KiB\n", Median(seconds),
              Median(max_rss_kib));
  return 0;
}
