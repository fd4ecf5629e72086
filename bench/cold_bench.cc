// cold_bench: mmapio against what a program can do without it, on a cold
// page cache, in one process run.
//
//   bazel run -c opt //bench:cold_bench -- [--dir=/var/tmp] [--rounds=5]
//       [--workloads=random_depth,executor,sequential,hazard] [--out=FILE]
//       [sizes: see --help]
//
// The program writes its own data files in --dir (a disk filesystem; tmpfs
// and ramfs are refused, since nothing there is ever cold), with real data
// (not fallocated: reading an unwritten extent costs no I/O), and removes
// them at exit. Before every run of every variant the workload's files are
// dropped from the page cache (fdatasync + POSIX_FADV_DONTNEED) and checked
// empty with cachestat. The variants of a workload, baselines included, run
// interleaved (A, B, C, A, B, C, ...) for --rounds rounds, so that the drift
// of a shared, noisy machine hits all of them alike.
//
// The defaults write 8 GiB of data files and take 20 to 25 minutes on 2
// vCPUs; random_depth, the most important workload, about two thirds.
//
// Workloads (each defined in its own file):
//   random_depth  distinct cold 4 KiB pages at depths 1..512   random_depth.cc
//   executor      one EventLoop thread, 128 coroutines doing    executor.cc
//                 dependent lookups, and a 50 us ticker
//   sequential    a cold 4 GiB file scanned start to end        sequential.cc
//   hazard        8 cold files of 256 MiB summed on one thread  hazard.cc
//
// Output: progress and every run's numbers on stderr; one JSON document on
// stdout (or --out), which bench/report.py turns into bench/RESULTS.md:
//   {"benchmark": "cold_bench", "config": {...},
//    "workloads": [{"name", "description", "unit", "rounds", "config",
//                   "metric_notes", "engines",
//                   "variants": [{"name", "kind", "description", "params",
//                                 "values": [per round], "seconds": [...],
//                                 "metrics": {"name": [per round], ...}}
//                                or {..., "skipped": "why"}]}]}
// "kind" is "baseline" (what a program does without mmapio), "reference"
// (not a mapping, or no work: fio, read(), the idle loop) or "mmapio";
// "params" places a variant in a sweep ({"depth": 64}).

#include "bench/cold_bench.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "bench/bench_support.h"
#include "bench/cold_harness.h"
#include "tools/format.h"

namespace mmapio::bench {
namespace {

constexpr char kUsage[] =
    "usage: cold_bench [--flag=value ...]\n"
    "\n"
    "  --dir            where the data files go (default /var/tmp; not "
    "tmpfs)\n"
    "  --workloads      comma-separated, of random_depth, executor, "
    "sequential,\n"
    "                   hazard (default all)\n"
    "  --rounds         interleaved rounds (default 5)\n"
    "  --seed           seed of the page permutations (default 42)\n"
    "  --out            write the JSON there instead of stdout\n"
    "  --resident_check_every\n"
    "                   check one request in N for an already resident page "
    "(default 16)\n"
    "random_depth and executor, one stamped file:\n"
    "  --random_file    its size (default 2G)\n"
    "  --random_pages   distinct pages per random_depth run (default 40000)\n"
    "  --depths         requests in flight (default 1,4,16,64,256,512)\n"
    "  --tasks          executor coroutines (default 128)\n"
    "  --task_pages     distinct pages each reads per run (default 300)\n"
    "  --tick_us        executor ticker period (default 50)\n"
    "  --idle_ms        how long idle_loop runs (default 1000)\n"
    "sequential:\n"
    "  --seq_file       the scanned file's size, a multiple of 1 MiB "
    "(default 4G)\n"
    "  --seq_max_seconds  a run stops after this long (default 20)\n"
    "hazard:\n"
    "  --hazard_file    each file's size (default 256M)\n"
    "  --hazard_files   number of files (default 8)\n"
    "  --chunks         chunk sizes of mmapio_async (default 2M,8M,32M)\n"
    "  --chunk          chunk of the other variants: request and yield unit\n"
    "                   (default 8M)\n"
    "  --lookahead      chunks in flight per file (default 4)\n"
    "Sizes take a K, M, G or T suffix (powers of 1024).\n";

struct Flags {
  ColdConfig config;
  std::string out;
  bool random_depth = true;
  bool executor = true;
  bool sequential = true;
  bool hazard = true;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  ColdConfig& c = flags.config;
  for (int i = 1; i < argc; ++i) {
    const auto [name, value] = ParseFlag(argv[i], kUsage);
    absl::StatusOr<uint64_t> size = cli::ParseSize(value);
    uint64_t n = 0;
    const bool number = absl::SimpleAtoi(value, &n);
    const bool positive = number && n > 0;
    bool ok = true;
    if (name == "dir") {
      c.dir = std::string(value);
    } else if (name == "workloads") {
      ParseWorkloads(value,
                     {{"random_depth", &flags.random_depth},
                      {"executor", &flags.executor},
                      {"sequential", &flags.sequential},
                      {"hazard", &flags.hazard}},
                     kUsage);
    } else if (name == "rounds" && positive && n < 1000) {
      c.rounds = static_cast<int>(n);
    } else if (name == "seed" && number) {
      c.seed = n;
    } else if (name == "out") {
      flags.out = std::string(value);
    } else if (name == "random_file" && size.ok() && *size >= kPage) {
      c.random_file_bytes = *size / kPage * kPage;
    } else if (name == "resident_check_every" && positive) {
      ResidentCounter::SetSamplingInterval(n);
    } else if (name == "random_pages" && positive) {
      c.random_pages = n;
    } else if (name == "depths") {
      c.depths.clear();
      for (absl::string_view d : absl::StrSplit(value, ',')) {
        int depth = 0;
        if (!absl::SimpleAtoi(d, &depth) || depth <= 0 || depth > 4096) {
          ok = false;
        }
        c.depths.push_back(depth);
      }
    } else if (name == "tasks" && positive && n <= 4096) {
      c.tasks = static_cast<int>(n);
    } else if (name == "task_pages" && positive) {
      c.task_pages = n;
    } else if (name == "tick_us" && positive && n <= 1000000) {
      c.tick_us = static_cast<int64_t>(n);
    } else if (name == "idle_ms" && positive && n <= 3600000) {
      c.idle_seconds = static_cast<double>(n) / 1e3;
    } else if (name == "seq_file" && size.ok() && *size > 0 &&
               *size % (uint64_t{1} << 20) == 0) {
      c.seq_file_bytes = *size;
    } else if (name == "seq_max_seconds" && positive && n <= 3600) {
      c.seq_max_seconds = static_cast<double>(n);
    } else if (name == "hazard_file" && size.ok() && *size > 0 &&
               *size % kPage == 0) {
      c.hazard_file_bytes = *size;
    } else if (name == "hazard_files" && positive && n <= 64) {
      c.hazard_files = static_cast<int>(n);
    } else if (name == "chunks") {
      c.hazard_chunk_sweep.clear();
      for (absl::string_view chunk : absl::StrSplit(value, ',')) {
        absl::StatusOr<uint64_t> bytes = cli::ParseSize(chunk);
        if (!bytes.ok() || *bytes < kPage || *bytes % kPage != 0) ok = false;
        c.hazard_chunk_sweep.push_back(bytes.ok() ? *bytes : 0);
      }
    } else if (name == "chunk" && size.ok() && *size >= kPage &&
               *size % kPage == 0) {
      c.hazard_chunk_bytes = *size;
    } else if (name == "lookahead" && positive && n <= 1024) {
      c.hazard_lookahead = static_cast<int>(n);
    } else {
      ok = false;
    }
    if (!ok) UsageError(absl::StrCat("bad flag or value: ", argv[i]), kUsage);
  }
  const uint64_t random_pages = c.random_file_bytes / kPage;
  if (flags.random_depth && c.random_pages > random_pages) {
    UsageError("--random_pages exceeds the pages of --random_file", kUsage);
  }
  if (flags.executor &&
      static_cast<uint64_t>(c.tasks) * c.task_pages > random_pages) {
    UsageError("--tasks x --task_pages exceeds the pages of --random_file",
               kUsage);
  }
  return flags;
}

// Where the data file `name` goes.
std::string DataPath(const std::string& dir, absl::string_view name) {
  return absl::StrCat(dir, "/mmapio-cold-bench.", getpid(), ".", name);
}

int Main(int argc, char** argv) {
  SetProgramName("cold_bench");
  const Flags flags = ParseFlags(argc, argv);
  const ColdConfig& c = flags.config;
  if (sysconf(_SC_PAGESIZE) != static_cast<long>(kPage)) {
    Die("the workloads are defined for 4 KiB pages");
  }
  const bool random = flags.random_depth || flags.executor;
  const uint64_t need =
      (random ? c.random_file_bytes : 0) +
      (flags.sequential ? c.seq_file_bytes : 0) +
      (flags.hazard ? c.hazard_file_bytes * c.hazard_files : 0);
  const std::string filesystem = CheckDir(c.dir, need, "the data files need");
  RemoveDataFilesAtExit();
  // Opened before the long run, so that a bad path fails at once.
  FILE* out = stdout;
  if (!flags.out.empty()) {
    out = std::fopen(flags.out.c_str(), "w");
    if (out == nullptr) DieErrno(absl::StrCat("open ", flags.out));
  }

  RandomFile random_file;
  if (random) {
    Log(absl::StrFormat("writing %d MiB to %s", c.random_file_bytes >> 20,
                        c.dir));
    random_file = {CreateDataFile(DataPath(c.dir, "random"),
                                  c.random_file_bytes, FillPageStamps),
                   c.random_file_bytes};
  }

  std::string seq_path;
  if (flags.sequential) {
    Log(absl::StrFormat("writing %d MiB to %s", c.seq_file_bytes >> 20, c.dir));
    seq_path = CreateDataFile(DataPath(c.dir, "sequential"), c.seq_file_bytes,
                              FillPageStamps);
  }
  std::vector<std::string> hazard_paths;
  if (flags.hazard) {
    Log(absl::StrFormat("writing %d files of %d MiB to %s", c.hazard_files,
                        c.hazard_file_bytes >> 20, c.dir));
    for (int f = 0; f < c.hazard_files; ++f) {
      const uint64_t file = static_cast<uint64_t>(f);
      hazard_paths.push_back(CreateDataFile(
          DataPath(c.dir, absl::StrCat("hazard", f)), c.hazard_file_bytes,
          [file](uint64_t offset, uint8_t* block, uint64_t length) {
            FillHazardFile(file, offset, block, length);
          }));
    }
  }

  // Workloads run one after another, each with its own engines, made when
  // it starts and gone when it ends.
  std::vector<std::string> workloads;
  if (flags.random_depth) {
    workloads.push_back(
        RunWorkload(RandomDepthWorkload(c, random_file), c.rounds));
  }
  if (flags.executor) {
    workloads.push_back(
        RunWorkload(ExecutorWorkload(c, random_file), c.rounds));
  }
  if (flags.sequential) {
    workloads.push_back(RunWorkload(SequentialWorkload(c, seq_path), c.rounds));
  }
  if (flags.hazard) {
    workloads.push_back(RunWorkload(HazardWorkload(c, hazard_paths), c.rounds));
  }

  absl::FPrintF(out,
                "{\"benchmark\": \"cold_bench\",\n \"config\": {"
                "\"filesystem\": %s, \"rounds\": %d, \"seed\": %d},\n"
                " \"workloads\": [\n  %s\n ]}\n",
                cli::JsonString(filesystem), c.rounds, c.seed,
                absl::StrJoin(workloads, ",\n  "));
  if (out != stdout && std::fclose(out) != 0) {
    DieErrno(absl::StrCat("write ", flags.out));
  }
  return 0;
}

}  // namespace
}  // namespace mmapio::bench

int main(int argc, char** argv) { return mmapio::bench::Main(argc, argv); }
