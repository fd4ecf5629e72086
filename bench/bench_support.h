// What the cold-cache benchmark (cold_bench) builds on: dying with a
// message, flags, files written on a disk filesystem and made cold before
// every measurement, mappings and buffers of them, clocks, variants run
// interleaved, and the statistics and JSON of its report.
//
// Unlike bench_files, which serves Google Benchmark programs with warm files
// in TEST_TMPDIR, cold_bench measures reads that must reach the disk.

#ifndef MMAPIO_BENCH_BENCH_SUPPORT_H_
#define MMAPIO_BENCH_BENCH_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "mmapio/region.h"

namespace mmapio::bench {

// Names the program in the messages below. `name` must outlive the program,
// as a string literal does.
void SetProgramName(const char* name);

// Prints "<program>: <message>" on stderr; Die then exits with status 1.
void Log(const std::string& message);
[[noreturn]] void Die(const std::string& message);
// Die with `what` and strerror(errno).
[[noreturn]] void DieErrno(const std::string& what);

// Prints the message and `usage` on stderr and exits with status 2.
[[noreturn]] void UsageError(const std::string& message, const char* usage);

// One command-line argument of the form --name=value.
struct Flag {
  absl::string_view name;
  absl::string_view value;
};
// Splits `arg`. For -h or --help prints `usage` on stdout and exits with
// status 0; anything else that is not --name=value is a UsageError.
Flag ParseFlag(absl::string_view arg, const char* usage);

// Sets each flag of `workloads` to whether the comma-separated `list` names
// it; a name not among them is a UsageError.
void ParseWorkloads(
    absl::string_view list,
    std::initializer_list<std::pair<absl::string_view, bool*>> workloads,
    const char* usage);

// Seconds on the steady clock, and of the calling thread's CPU time.
double Now();
double ThreadCpuSeconds();
// The calling thread's major faults so far (getrusage RUSAGE_THREAD).
int64_t ThreadMajorFaults();

class ScopedFd {
 public:
  // Dies when `path` cannot be opened.
  ScopedFd(const std::string& path, int flags);
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd();

  int get() const { return fd_; }

 private:
  int fd_;
};

// A read-only shared mapping of the first `size` bytes of a file, without
// anything of mmapio in between: what a program does without the library.
class Mapping {
 public:
  // Dies when `path` cannot be opened or mapped.
  Mapping(const std::string& path, uint64_t size);
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  const uint8_t* data() const { return base_; }
  // madvise(2) of the whole mapping; dies when it fails.
  void Advise(int advice) const;

 private:
  const uint8_t* base_;
  uint64_t size_;
};

struct AlignedFree {
  void operator()(void* p) const;
};
using AlignedBuffer = std::unique_ptr<uint8_t[], AlignedFree>;

// `bytes` aligned to a 4 KiB page, as O_DIRECT wants; dies when out of
// memory.
AlignedBuffer AllocateAligned(size_t bytes);

// Refuses a `dir` whose pages can never be cold (tmpfs, ramfs) or that cannot
// hold `need` bytes with room to spare; returns its filesystem's name.
// `what_needs` begins the message about room, as in "the data file needs".
std::string CheckDir(const std::string& dir, uint64_t need,
                     absl::string_view what_needs);

// Removes the files CreateDataFile made at exit and on SIGINT or SIGTERM.
void RemoveDataFilesAtExit();

// The most data files one program may create.
inline constexpr int kMaxDataFiles = 80;

// Creates `path` (which must not exist) with `size` bytes, synced to disk,
// and registers it for RemoveDataFilesAtExit. The file is written in blocks
// that start as 0xa5 bytes; `fill(offset, block, length)` then writes the
// bytes of each, given its offset in the file.
std::string CreateDataFile(
    const std::string& path, uint64_t size,
    const std::function<void(uint64_t, uint8_t*, uint64_t)>& fill);

// Drops `path` from the page cache and checks that no page of it is left;
// dies when pages stay. Every mapping of it must be gone.
void MakeCold(const std::string& path);

// A region over `path`; dies when it cannot be opened.
Region OpenRegion(const std::string& path);

// One way of doing a workload's work, measured against the others.
// `Measurement` is what one run of it reports.
template <typename Measurement>
struct Variant {
  std::string name;
  std::string kind;  // "baseline", "reference" or "mmapio".
  std::string description;
  std::function<Measurement()> run;
  std::string skipped;  // Why the variant cannot run here, or empty.
  // Where the variant sits in a sweep, as JSON values: {"depth", "64"}.
  std::vector<std::pair<std::string, std::string>> params = {};
};

// Logs what it runs, then calls `measure(round, i)` for variant i of
// `variants` in every round, skipping those that cannot run. A round runs each
// variant once, so that the drift of a shared, noisy machine hits all of them
// alike.
template <typename Measurement>
void RunInterleaved(const std::string& workload,
                    const std::vector<Variant<Measurement>>& variants,
                    int rounds,
                    const std::function<void(int, size_t)>& measure) {
  Log(absl::StrFormat("%s: %d variants, %d rounds", workload, variants.size(),
                      rounds));
  for (int round = 0; round < rounds; ++round) {
    for (size_t i = 0; i < variants.size(); ++i) {
      if (variants[i].skipped.empty()) measure(round, i);
    }
  }
}

// 0 for no values.
double Median(std::vector<double> values);
// Nearest-rank percentile `q` (0 to 1) of `sorted`; 0 for no values.
double Percentile(const std::vector<double>& sorted, double q);

// "%.6g", or null where JSON has no number (infinities, NaN).
std::string JsonNumber(double value);
// [JsonNumber, ...].
std::string JsonArray(const std::vector<double>& values);

}  // namespace mmapio::bench

#endif  // MMAPIO_BENCH_BENCH_SUPPORT_H_
