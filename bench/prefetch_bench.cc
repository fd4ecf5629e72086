// Cold-cache benchmark of the prefetch engine against what a program can do
// without it: raw mmap, madvise, MADV_POPULATE_READ, pread and io_uring.
//
//   bazel run -c opt //bench:prefetch_bench -- [--dir=/var/tmp] [--size=4G]
//       [--reads=40000] [--rounds=5] [--lead=32M] [--seed=42]
//       [--workloads=seq,random,lead]
//
// The program writes its own data file in --dir (a disk filesystem; tmpfs and
// ramfs are refused, since nothing there is ever cold) and removes it at
// exit. Byte 0 of page p holds a stamp of p, so every variant's checksum
// proves it read the right pages. Before every measurement the file is made
// cold (fdatasync, then posix_fadvise(POSIX_FADV_DONTNEED), checked with
// cachestat) and every mapping of it is gone, so each variant starts from the
// same empty page cache. The variants of a workload run interleaved
// (A, B, C, A, B, C, ...) for --rounds rounds, so that drift of a shared,
// noisy machine hits all of them alike; the median round is reported.
//
// Workloads:
//   seq_scan     reads byte 0 of every 4 KiB page of the file in order;
//                GB/s (10^9 bytes of file per second).
//   random_read  --reads distinct random pages (fixed seed, the same
//                sequence for every variant) in batches of 64: each batch
//                must be wholly available before it is consumed, as a
//                request that needs 64 pages would; reads/s.
//   lead_sweep   seq_scan with the io_uring engine at leads of 2, 8, 32 and
//                128 MiB in flight ahead of the reader.
//
// Output: a human table on stderr, and one JSON document on stdout:
//   {"benchmark": "prefetch_bench",
//    "config": {"dir", "filesystem", "file_bytes", "reads", "batch",
//               "rounds", "lead_bytes", "seed", "engine_stats": {...}},
//    "results": [{"workload", "variant", "kind", "description", "value",
//                 "unit", "baseline", "samples": [...], "seconds": [...],
//                 "no_majflt_chunk_share", "major_faults",
//                 "reader_blocked_share", "ready_chunk_share", "skipped"},
//                ...]}
// "value" is the median of "samples" (one per round, in round order) and
// "seconds" the matching wall times. "kind" is "baseline" (what a program
// does without mmapio), "reference" (not a mapping: pread, O_DIRECT) or
// "mmapio". "baseline" names the variant of the same workload, measured in
// the same interleaving, that ratios are taken against; higher values are
// better everywhere. Keys that do not apply to a variant are absent, and a
// variant that could not run has "skipped" (why) and a null "value".
//
// Major faults: for variants that read through a mapping, the reader thread
// samples getrusage(RUSAGE_THREAD).ru_majflt once per 2 MiB chunk (one
// system call per page would cost more than the pages), and
// "no_majflt_chunk_share" is the share of chunks during which it took none.
// The kernel counts a fault as major only when it found no page in the
// cache; a fault that sleeps on a read already in flight (readahead, or a
// prefetch not finished yet) counts as minor. So the share says how often
// the reader itself had to start a read, not how often it waited: faults
// taken by a helper thread or the engine's threads are theirs. Two more
// numbers describe its waiting. "reader_blocked_share" (every variant) is
// the share of the reader thread's wall time off the CPU: 1 - its CPU time /
// wall time, which counts waits for I/O, for completions and for the CPU on
// a 2-core machine alike. On a VM the thread's CPU time also holds what the
// hypervisor spends on its behalf, such as mapping guest pages that were
// just read on their first touch, so the share is a lower bound there.
// "ready_chunk_share" (engine variants that wait) is the share of chunks whose
// completion had arrived before the reader got there, so it did not wait for
// them at all.

#include <fcntl.h>
#include <liburing.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "bench/bench_support.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"
#include "tools/format.h"

namespace mmapio::bench {
namespace {

constexpr uint64_t kPage = 4096;
// The unit of populating, prefetching and fault accounting in the
// sequential workloads: the largest request the engine's io_uring backend
// sends as one piece.
constexpr uint64_t kChunk = uint64_t{2} << 20;
constexpr size_t kBatch = 64;
constexpr unsigned kQueueDepth = 32;
constexpr int kPreadThreads = 8;
constexpr uint64_t kPreadBlock = uint64_t{1} << 20;
constexpr uint64_t kSweepLeadsMiB[] = {2, 8, 32, 128};

// What byte 0 of page `page` holds.
uint8_t Stamp(uint64_t page) {
  return static_cast<uint8_t>((page * 0x9E3779B97F4A7C15ull) >> 56);
}

// The data file's contents: a CreateDataFile fill.
void FillStamps(uint64_t offset, uint8_t* block, uint64_t length) {
  for (uint64_t at = 0; at < length; at += kPage) {
    block[at] = Stamp((offset + at) / kPage);
  }
}

struct Config {
  std::string dir = "/var/tmp";
  uint64_t size = uint64_t{4} << 30;
  uint64_t reads = 40000;
  int rounds = 5;
  uint64_t lead = uint64_t{32} << 20;
  uint64_t seed = 42;
  bool seq = true;
  bool random = true;
  bool lead_sweep = true;
};

constexpr char kUsage[] =
    "usage: prefetch_bench [--dir=DIR] [--size=BYTES] [--reads=N] "
    "[--rounds=N]\n"
    "                      [--lead=BYTES] [--seed=N] "
    "[--workloads=seq,random,lead]\n"
    "\n"
    "  --dir        where the data file goes (default /var/tmp; not tmpfs)\n"
    "  --size       data file size, a multiple of 2 MiB (default 4G)\n"
    "  --reads      random reads per variant, rounded up to 64 (default "
    "40000)\n"
    "  --rounds     interleaved rounds; the median is reported (default 5)\n"
    "  --lead       prefetch lead of seq_scan, a multiple of 2 MiB (default "
    "32M)\n"
    "  --seed       seed of the random page sequence (default 42)\n"
    "  --workloads  which workloads to run (default all three)\n"
    "BYTES takes a K, M, G or T suffix (powers of 1024).\n";

std::optional<uint64_t> ParseBytes(absl::string_view text) {
  absl::StatusOr<uint64_t> bytes = cli::ParseSize(text);
  if (!bytes.ok()) return std::nullopt;
  return *bytes;
}

Config ParseFlags(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const auto [name, value] = ParseFlag(argv[i], kUsage);
    std::optional<uint64_t> bytes = ParseBytes(value);
    uint64_t number = 0;
    const bool is_number = absl::SimpleAtoi(value, &number);
    if (name == "dir") {
      config.dir = std::string(value);
    } else if (name == "size" && bytes.has_value()) {
      config.size = *bytes;
    } else if (name == "lead" && bytes.has_value()) {
      config.lead = *bytes;
    } else if (name == "reads" && is_number && number > 0) {
      config.reads = (number + kBatch - 1) / kBatch * kBatch;
    } else if (name == "rounds" && is_number && number > 0 && number < 1000) {
      config.rounds = static_cast<int>(number);
    } else if (name == "seed" && is_number) {
      config.seed = number;
    } else if (name == "workloads") {
      ParseWorkloads(value,
                     {{"seq", &config.seq},
                      {"random", &config.random},
                      {"lead", &config.lead_sweep}},
                     kUsage);
    } else {
      UsageError(absl::StrCat("bad flag or value: ", argv[i]), kUsage);
    }
  }
  if (config.size < kChunk || config.size % kChunk != 0) {
    UsageError("--size must be a positive multiple of 2 MiB", kUsage);
  }
  if (config.lead < kChunk || config.lead % kChunk != 0) {
    UsageError("--lead must be a positive multiple of 2 MiB", kUsage);
  }
  if (config.reads > config.size / kPage) {
    UsageError("--reads exceeds the pages of the file", kUsage);
  }
  return config;
}

int64_t ThreadMajorFaults() {
  struct rusage usage;
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_majflt;
}

// The calling thread's major faults, sampled once per chunk.
class FaultMeter {
 public:
  FaultMeter() : last_(ThreadMajorFaults()) {}
  void EndChunk() {
    const int64_t now = ThreadMajorFaults();
    ++chunks_;
    if (now == last_) ++clean_chunks_;
    total_ += now - last_;
    last_ = now;
  }
  uint64_t chunks() const { return chunks_; }
  uint64_t clean_chunks() const { return clean_chunks_; }
  int64_t total() const { return total_; }

 private:
  int64_t last_;
  uint64_t chunks_ = 0;
  uint64_t clean_chunks_ = 0;
  int64_t total_ = 0;
};

uint64_t TouchPages(const uint8_t* p, uint64_t bytes) {
  uint64_t sum = 0;
  for (uint64_t at = 0; at < bytes; at += kPage) sum += p[at];
  return sum;
}

// One run of one variant.
struct Measurement {
  double seconds = 0;
  uint64_t checksum = 0;
  std::optional<FaultMeter> faults;
  std::optional<double> ready_chunk_share;
};

using Variant = bench::Variant<Measurement>;

struct Workload {
  std::string name;
  std::string description;
  std::string unit;
  double work = 0;  // Bytes (reported in 10^9) or reads per measurement.
  double unit_scale = 1;
  uint64_t expected_checksum = 0;
  std::string baseline;
  std::vector<Variant> variants;
};

struct Result {
  const Workload* workload;
  const Variant* variant;
  std::vector<double> samples;
  std::vector<double> seconds;
  std::vector<double> no_majflt_shares;
  std::vector<double> major_faults;
  std::vector<double> blocked_shares;
  std::vector<double> ready_shares;
};

// ---------------------------------------------------------------------------
// Sequential scan baselines.

struct SeqSetup {
  std::string path;
  uint64_t size;
  uint64_t lead;
};

Measurement SeqMmap(const SeqSetup& setup, std::optional<int> advice) {
  Measurement m;
  const double start = Now();
  Mapping map(setup.path, setup.size);
  if (advice.has_value()) map.Advise(*advice);
  FaultMeter faults;
  for (uint64_t offset = 0; offset < setup.size; offset += kChunk) {
    m.checksum += TouchPages(map.data() + offset, kChunk);
    faults.EndChunk();
  }
  m.seconds = Now() - start;
  m.faults = faults;
  return m;
}

// One helper thread runs MADV_POPULATE_READ over 2 MiB chunks at most
// `lead` bytes ahead of the reader, which waits when it catches up.
Measurement SeqPopulateHelper(const SeqSetup& setup) {
  Measurement m;
  const double start = Now();
  Mapping map(setup.path, setup.size);
  std::atomic<uint64_t> populated{0};
  std::atomic<uint64_t> consumed{0};
  std::atomic<int> error{0};
  std::thread helper([&] {
    for (uint64_t offset = 0; offset < setup.size; offset += kChunk) {
      for (uint64_t c = consumed.load(std::memory_order_acquire);
           offset + kChunk > c + setup.lead;
           c = consumed.load(std::memory_order_acquire)) {
        consumed.wait(c, std::memory_order_acquire);
      }
      if (madvise(const_cast<uint8_t*>(map.data()) + offset, kChunk,
                  MADV_POPULATE_READ) != 0) {
        error.store(errno);
        populated.store(~uint64_t{0}, std::memory_order_release);
        populated.notify_all();
        return;
      }
      populated.store(offset + kChunk, std::memory_order_release);
      populated.notify_all();
    }
  });
  FaultMeter faults;
  for (uint64_t offset = 0; offset < setup.size; offset += kChunk) {
    for (uint64_t p = populated.load(std::memory_order_acquire);
         p < offset + kChunk; p = populated.load(std::memory_order_acquire)) {
      populated.wait(p, std::memory_order_acquire);
    }
    if (error.load() != 0) break;
    m.checksum += TouchPages(map.data() + offset, kChunk);
    faults.EndChunk();
    consumed.store(offset + kChunk, std::memory_order_release);
    consumed.notify_all();
  }
  helper.join();
  if (error.load() != 0) {
    errno = error.load();
    DieErrno("madvise(MADV_POPULATE_READ)");
  }
  m.seconds = Now() - start;
  m.faults = faults;
  return m;
}

Measurement SeqPread(const SeqSetup& setup) {
  Measurement m;
  AlignedBuffer buffer = AllocateAligned(kPreadBlock);
  const double start = Now();
  ScopedFd fd(setup.path, O_RDONLY | O_CLOEXEC);
  for (uint64_t offset = 0; offset < setup.size;) {
    const ssize_t n =
        pread(fd.get(), buffer.get(), kPreadBlock, static_cast<off_t>(offset));
    if (n <= 0) DieErrno("pread");
    // A short read ends mid-page at worst; the rest of that page is read
    // again by the next call, so count only whole pages.
    const uint64_t pages = static_cast<uint64_t>(n) / kPage;
    if (pages == 0) Die("pread returned less than a page");
    m.checksum += TouchPages(buffer.get(), pages * kPage);
    offset += pages * kPage;
  }
  m.seconds = Now() - start;
  return m;
}

// ---------------------------------------------------------------------------
// Random read baselines.

struct RandomSetup {
  std::string path;
  uint64_t size;
  std::vector<uint64_t> pages;  // A multiple of kBatch of them.
};

// Distinct pages, so no read finds the page another read brought in. A
// partial Fisher-Yates shuffle with mt19937_64, whose output the standard
// fixes: the sequence is the same on every machine for a seed.
std::vector<uint64_t> RandomPages(uint64_t file_pages, uint64_t count,
                                  uint64_t seed) {
  std::vector<uint32_t> all(file_pages);
  for (uint64_t i = 0; i < file_pages; ++i) all[i] = static_cast<uint32_t>(i);
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> pages(count);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t j = i + rng() % (file_pages - i);
    std::swap(all[i], all[j]);
    pages[i] = all[i];
  }
  return pages;
}

// Touches one byte per page through a MADV_RANDOM mapping (so no fault reads
// more than its page); with `willneed`, first sends MADV_WILLNEED for every
// page of the batch, so the device sees the whole batch at once.
Measurement RandomMmap(const RandomSetup& setup, bool willneed) {
  Measurement m;
  const double start = Now();
  Mapping map(setup.path, setup.size);
  map.Advise(MADV_RANDOM);
  for (size_t batch = 0; batch < setup.pages.size(); batch += kBatch) {
    if (willneed) {
      for (size_t i = batch; i < batch + kBatch; ++i) {
        if (madvise(const_cast<uint8_t*>(map.data()) + setup.pages[i] * kPage,
                    kPage, MADV_WILLNEED) != 0) {
          DieErrno("madvise(MADV_WILLNEED)");
        }
      }
    }
    for (size_t i = batch; i < batch + kBatch; ++i) {
      m.checksum += map.data()[setup.pages[i] * kPage];
    }
  }
  m.seconds = Now() - start;
  return m;
}

// kPreadThreads threads take the pages of each batch one at a time; the
// batch is done when all of its reads are.
Measurement RandomPreadPool(const RandomSetup& setup) {
  Measurement m;
  const double start = Now();
  ScopedFd fd(setup.path, O_RDONLY | O_CLOEXEC);
  std::mutex mu;
  std::condition_variable work_ready;
  std::condition_variable batch_done;
  const uint64_t* batch = nullptr;
  size_t next = 0;
  size_t batch_size = 0;
  size_t remaining = 0;
  bool stop = false;
  std::atomic<uint64_t> checksum{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kPreadThreads; ++t) {
    threads.emplace_back([&] {
      AlignedBuffer buffer = AllocateAligned(kPage);
      uint64_t sum = 0;
      std::unique_lock<std::mutex> lock(mu);
      while (true) {
        work_ready.wait(lock, [&] { return stop || next < batch_size; });
        if (stop) break;
        const uint64_t page = batch[next++];
        lock.unlock();
        if (pread(fd.get(), buffer.get(), kPage,
                  static_cast<off_t>(page * kPage)) != kPage) {
          DieErrno("pread");
        }
        sum += buffer[0];
        lock.lock();
        if (--remaining == 0) batch_done.notify_one();
      }
      checksum.fetch_add(sum);
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    for (size_t i = 0; i < setup.pages.size(); i += kBatch) {
      batch = &setup.pages[i];
      next = 0;
      batch_size = remaining = kBatch;
      work_ready.notify_all();
      batch_done.wait(lock, [&] { return remaining == 0; });
      batch_size = 0;
    }
    stop = true;
    work_ready.notify_all();
  }
  for (std::thread& thread : threads) thread.join();
  m.checksum = checksum.load();
  m.seconds = Now() - start;
  return m;
}

// Up to kQueueDepth reads of one batch in flight on one ring.
Measurement RandomIoUring(const RandomSetup& setup, bool direct) {
  Measurement m;
  AlignedBuffer buffers = AllocateAligned(kQueueDepth * kPage);
  const double start = Now();
  ScopedFd fd(setup.path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
  io_uring ring;
  if (const int error = io_uring_queue_init(kQueueDepth, &ring, 0); error < 0) {
    Die(absl::StrCat("io_uring_queue_init: ", std::strerror(-error)));
  }
  std::vector<unsigned> free_slots;
  for (unsigned slot = 0; slot < kQueueDepth; ++slot) {
    free_slots.push_back(slot);
  }
  for (size_t batch = 0; batch < setup.pages.size(); batch += kBatch) {
    size_t submitted = 0;
    size_t completed = 0;
    while (completed < kBatch) {
      while (submitted < kBatch && !free_slots.empty()) {
        const unsigned slot = free_slots.back();
        free_slots.pop_back();
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, fd.get(), buffers.get() + slot * kPage, kPage,
                           setup.pages[batch + submitted] * kPage);
        io_uring_sqe_set_data64(sqe, slot);
        ++submitted;
      }
      if (const int error = io_uring_submit_and_wait(&ring, 1); error < 0) {
        Die(absl::StrCat("io_uring_submit_and_wait: ", std::strerror(-error)));
      }
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring, head, cqe) {
        if (cqe->res != static_cast<int>(kPage)) {
          Die(absl::StrCat("io_uring read: ", cqe->res < 0
                                                  ? std::strerror(-cqe->res)
                                                  : "short read"));
        }
        const unsigned slot =
            static_cast<unsigned>(io_uring_cqe_get_data64(cqe));
        m.checksum += buffers[slot * kPage];
        free_slots.push_back(slot);
        ++seen;
      }
      io_uring_cq_advance(&ring, seen);
      completed += seen;
    }
  }
  io_uring_queue_exit(&ring);
  m.seconds = Now() - start;
  return m;
}

// ---------------------------------------------------------------------------
// The engine's variants.

// Callbacks share this with the reader through a shared_ptr, so that a
// callback still returning after the reader has moved on touches live
// memory.
struct CompletionState {
  explicit CompletionState(size_t chunks) : ready(chunks) {}
  std::vector<std::atomic<uint8_t>> ready;
  std::atomic<int64_t> remaining{0};
  std::mutex mu;
  absl::Status first_error;

  void Fail(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.ok()) first_error = status;
  }
  void CheckOk() {
    std::lock_guard<std::mutex> lock(mu);
    if (!first_error.ok()) {
      Die(absl::StrCat("prefetch: ", first_error.ToString()));
    }
  }
};

// The reader keeps up to `lead` bytes of 2 MiB Prefetch requests in flight
// ahead of itself; with `wait`, it waits for a chunk's callback before
// touching it. Without (madvise: completion means "requested"), it only
// issues ahead.
Measurement SeqEngine(const SeqSetup& setup, PrefetchEngine& engine,
                      uint64_t lead, bool wait) {
  Measurement m;
  const uint64_t chunks = setup.size / kChunk;
  const uint64_t lead_chunks = lead / kChunk;
  auto state = std::make_shared<CompletionState>(chunks);
  const double start = Now();
  Region region = OpenRegion(setup.path);
  const uint8_t* base = reinterpret_cast<const uint8_t*>(region.bytes().data());
  uint64_t issued = 0;
  uint64_t ready_on_arrival = 0;
  FaultMeter faults;
  for (uint64_t chunk = 0; chunk < chunks; ++chunk) {
    for (; issued < chunks && issued < chunk + lead_chunks; ++issued) {
      engine.Prefetch(region, {issued * kChunk, kChunk},
                      [state, issued](absl::Status status) {
                        if (!status.ok()) state->Fail(status);
                        state->ready[issued].store(1,
                                                   std::memory_order_release);
                        state->ready[issued].notify_all();
                      });
    }
    if (wait) {
      std::atomic<uint8_t>& ready = state->ready[chunk];
      if (ready.load(std::memory_order_acquire) != 0) ++ready_on_arrival;
      ready.wait(0, std::memory_order_acquire);
    }
    m.checksum += TouchPages(base + chunk * kChunk, kChunk);
    faults.EndChunk();
  }
  // Every callback must have run before the region goes, and errors count
  // even where the reader did not wait.
  for (std::atomic<uint8_t>& ready : state->ready) {
    ready.wait(0, std::memory_order_acquire);
  }
  state->CheckOk();
  m.seconds = Now() - start;
  m.faults = faults;
  if (wait)
    m.ready_chunk_share = static_cast<double>(ready_on_arrival) / chunks;
  return m;
}

// Prefetches the 64 pages of each batch (one request each), waits for all
// of them, then touches them. The madvise backend's completion only means
// "requested", so there the touches themselves wait for the reads.
Measurement RandomEngine(const RandomSetup& setup, PrefetchEngine& engine) {
  Measurement m;
  auto state = std::make_shared<CompletionState>(0);
  const double start = Now();
  Region region = OpenRegion(setup.path);
  // As for the raw mappings: a fault that the prefetch did not cover must
  // not read around its page.
  if (absl::Status s = region.Advise(Advice::kRandom); !s.ok()) {
    Die(s.ToString());
  }
  const uint8_t* base = reinterpret_cast<const uint8_t*>(region.bytes().data());
  for (size_t batch = 0; batch < setup.pages.size(); batch += kBatch) {
    state->remaining.store(kBatch, std::memory_order_relaxed);
    for (size_t i = batch; i < batch + kBatch; ++i) {
      engine.Prefetch(
          region, {setup.pages[i] * kPage, kPage},
          [state](absl::Status status) {
            if (!status.ok()) state->Fail(status);
            if (state->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
              state->remaining.notify_all();
            }
          });
    }
    for (int64_t r = state->remaining.load(std::memory_order_acquire); r != 0;
         r = state->remaining.load(std::memory_order_acquire)) {
      state->remaining.wait(r, std::memory_order_acquire);
    }
    for (size_t i = batch; i < batch + kBatch; ++i) {
      m.checksum += base[setup.pages[i] * kPage];
    }
  }
  state->CheckOk();
  m.seconds = Now() - start;
  return m;
}

using Engines = bench::Engines<PrefetchEngine>;

void AddSeqEngineVariants(const SeqSetup& setup, const Engines& engines,
                          Workload& workload) {
  const std::string lead = absl::StrCat(setup.lead >> 20, " MiB");
  for (PrefetchBackend backend :
       {PrefetchBackend::kIoUring, PrefetchBackend::kWorkers}) {
    workload.variants.push_back(EngineVariant(
        engines, backend, absl::StrCat("engine_", PrefetchBackendName(backend)),
        absl::StrCat("PrefetchEngine ", PrefetchBackendName(backend), ", ",
                     lead, " of 2 MiB requests ahead, wait for each"),
        [&setup](PrefetchEngine& engine) {
          return SeqEngine(setup, engine, setup.lead, /*wait=*/true);
        }));
  }
  workload.variants.push_back(EngineVariant(
      engines, PrefetchBackend::kMadvise, "engine_madvise",
      absl::StrCat("PrefetchEngine madvise, ", lead,
                   " of 2 MiB requests issued ahead, no waiting"),
      [&setup](PrefetchEngine& engine) {
        return SeqEngine(setup, engine, setup.lead, /*wait=*/false);
      }));
}

void AddRandomEngineVariants(const RandomSetup& setup, const Engines& engines,
                             Workload& workload) {
  for (PrefetchBackend backend :
       {PrefetchBackend::kIoUring, PrefetchBackend::kWorkers}) {
    workload.variants.push_back(EngineVariant(
        engines, backend, absl::StrCat("engine_", PrefetchBackendName(backend)),
        absl::StrCat("PrefetchEngine ", PrefetchBackendName(backend),
                     ": 64 one-page requests, wait for all, touch"),
        [&setup](PrefetchEngine& engine) {
          return RandomEngine(setup, engine);
        }));
  }
  workload.variants.push_back(EngineVariant(
      engines, PrefetchBackend::kMadvise, "engine_madvise",
      "PrefetchEngine madvise: WILLNEED for the 64 pages, then touch",
      [&setup](PrefetchEngine& engine) {
        return RandomEngine(setup, engine);
      }));
}

void AddLeadSweepVariants(const SeqSetup& setup, const Engines& engines,
                          Workload& workload) {
  for (uint64_t mib : kSweepLeadsMiB) {
    workload.variants.push_back(EngineVariant(
        engines, PrefetchBackend::kIoUring, absl::StrCat("lead_", mib, "MiB"),
        absl::StrCat("PrefetchEngine io_uring, ", mib,
                     " MiB of 2 MiB requests ahead"),
        [&setup, mib](PrefetchEngine& engine) {
          return SeqEngine(setup, engine, mib << 20, /*wait=*/true);
        }));
  }
}

// ---------------------------------------------------------------------------
// Running and reporting.

std::vector<Result> RunWorkload(const Workload& workload,
                                const std::string& path, int rounds) {
  std::vector<Result> results;
  for (const Variant& variant : workload.variants) {
    results.push_back(Result{&workload, &variant, {}, {}, {}, {}, {}, {}});
  }
  RunInterleaved(
      workload.name, workload.variants, rounds, [&](int round, size_t i) {
        Result& result = results[i];
        const Variant& variant = *result.variant;
        MakeCold(path);
        const double cpu_start = ThreadCpuSeconds();
        const double wall_start = Now();
        const Measurement m = variant.run();
        const double blocked =
            1 - (ThreadCpuSeconds() - cpu_start) / (Now() - wall_start);
        if (m.checksum != workload.expected_checksum) {
          Die(absl::StrFormat("%s/%s read wrong data: checksum %d, expected %d",
                              workload.name, variant.name, m.checksum,
                              workload.expected_checksum));
        }
        const double value = workload.work / m.seconds / workload.unit_scale;
        result.samples.push_back(value);
        result.seconds.push_back(m.seconds);
        result.blocked_shares.push_back(std::max(0.0, blocked));
        if (m.faults.has_value()) {
          result.no_majflt_shares.push_back(
              static_cast<double>(m.faults->clean_chunks()) /
              m.faults->chunks());
          result.major_faults.push_back(static_cast<double>(m.faults->total()));
        }
        if (m.ready_chunk_share.has_value()) {
          result.ready_shares.push_back(*m.ready_chunk_share);
        }
        Log(absl::StrFormat("  round %d %-22s %9.3f %s", round + 1,
                            variant.name, value, workload.unit));
      });
  return results;
}

using cli::JsonString;

std::string ResultJson(const Result& r) {
  const Workload& w = *r.workload;
  const Variant& v = *r.variant;
  std::string json = absl::StrCat(
      "{\"workload\": ", JsonString(w.name),
      ", \"variant\": ", JsonString(v.name), ", \"kind\": ", JsonString(v.kind),
      ", \"description\": ", JsonString(v.description), ", \"value\": ",
      v.skipped.empty() ? JsonNumber(Median(r.samples)) : "null",
      ", \"unit\": ", JsonString(w.unit),
      ", \"baseline\": ", JsonString(w.baseline));
  if (!v.skipped.empty()) {
    absl::StrAppend(&json, ", \"skipped\": ", JsonString(v.skipped), "}");
    return json;
  }
  absl::StrAppend(&json, ", \"samples\": ", JsonArray(r.samples),
                  ", \"seconds\": ", JsonArray(r.seconds));
  if (!r.no_majflt_shares.empty()) {
    absl::StrAppend(&json, ", \"no_majflt_chunk_share\": ",
                    JsonNumber(Median(r.no_majflt_shares)),
                    ", \"major_faults\": ", JsonNumber(Median(r.major_faults)));
  }
  absl::StrAppend(&json, ", \"reader_blocked_share\": ",
                  JsonNumber(Median(r.blocked_shares)));
  if (!r.ready_shares.empty()) {
    absl::StrAppend(
        &json, ", \"ready_chunk_share\": ", JsonNumber(Median(r.ready_shares)));
  }
  return json + "}";
}

void PrintTable(const std::vector<Result>& results, int rounds) {
  if (results.empty()) return;
  const Workload& w = *results.front().workload;
  double baseline = 0;
  for (const Result& r : results) {
    if (r.variant->name == w.baseline) baseline = Median(r.samples);
  }
  std::fprintf(stderr, "\n%s: %s; median of %d rounds\n", w.name.c_str(),
               w.description.c_str(), rounds);
  std::fprintf(stderr, "  %-22s %-9s %10s %-7s %10s %10s %8s %9s %7s %7s\n",
               "variant", "kind", "median", "unit", "min", "max", "ratio",
               "no-majflt", "blocked", "ready");
  const auto share = [](const std::vector<double>& values) {
    return values.empty() ? std::string("-")
                          : absl::StrFormat("%.1f%%", 100 * Median(values));
  };
  for (const Result& r : results) {
    const Variant& v = *r.variant;
    if (PrintIfSkipped(v, 22, 9)) continue;
    const double median = Median(r.samples);
    const auto [min, max] =
        std::minmax_element(r.samples.begin(), r.samples.end());
    const std::string ratio =
        baseline > 0 ? absl::StrFormat("%.2fx", median / baseline) : "-";
    std::fprintf(
        stderr, "  %-22s %-9s %10.3f %-7s %10.3f %10.3f %8s %9s %7s %7s\n",
        v.name.c_str(), v.kind.c_str(), median, w.unit.c_str(), *min, *max,
        ratio.c_str(), share(r.no_majflt_shares).c_str(),
        share(r.blocked_shares).c_str(), share(r.ready_shares).c_str());
  }
  std::fprintf(stderr, "  (ratio: median / median of %s)\n",
               w.baseline.c_str());
}

int Main(int argc, char** argv) {
  SetProgramName("prefetch_bench");
  const Config config = ParseFlags(argc, argv);
  if (sysconf(_SC_PAGESIZE) != static_cast<long>(kPage)) {
    Die("the workloads are defined for 4 KiB pages");
  }
  const std::string filesystem =
      CheckDir(config.dir, config.size, "the data file needs");
  RemoveDataFilesAtExit();

  Log(absl::StrFormat("writing %d MiB to %s", config.size >> 20, config.dir));
  const std::string path = CreateDataFile(
      absl::StrCat(config.dir, "/mmapio-prefetch-bench.", getpid(), ".dat"),
      config.size, FillStamps);
  const uint64_t file_pages = config.size / kPage;
  Engines engines = CreateEngines<PrefetchEngine>(
      {PrefetchBackend::kIoUring, PrefetchBackend::kWorkers,
       PrefetchBackend::kMadvise},
      {});

  const SeqSetup seq{path, config.size, config.lead};
  uint64_t seq_checksum = 0;
  for (uint64_t page = 0; page < file_pages; ++page)
    seq_checksum += Stamp(page);

  RandomSetup random{path, config.size,
                     RandomPages(file_pages, config.reads, config.seed)};
  uint64_t random_checksum = 0;
  for (uint64_t page : random.pages) random_checksum += Stamp(page);

  const std::string size_text =
      absl::StrFormat("%.1f GiB", static_cast<double>(config.size) / (1 << 30));
  std::vector<Workload> workloads;
  // The baseline of both sequential workloads.
  const Variant mmap_naive{"mmap_naive", "baseline", "mmap, touch in order",
                           [&seq] { return SeqMmap(seq, std::nullopt); }, ""};
  if (config.seq) {
    Workload w{"seq_scan",
               absl::StrCat("cold sequential scan of ", size_text,
                            ", one byte per 4 KiB page"),
               "GB/s",
               static_cast<double>(config.size),
               1e9,
               seq_checksum,
               "mmap_naive",
               {}};
    w.variants.push_back(mmap_naive);
    w.variants.push_back({"mmap_sequential", "baseline",
                          "mmap + MADV_SEQUENTIAL, touch in order",
                          [&seq] { return SeqMmap(seq, MADV_SEQUENTIAL); },
                          ""});
    w.variants.push_back(
        {"mmap_populate_helper", "baseline",
         absl::StrCat("mmap + helper thread MADV_POPULATE_READ of 2 MiB "
                      "chunks, at most ",
                      config.lead >> 20, " MiB ahead"),
         [&seq] { return SeqPopulateHelper(seq); }, ""});
    w.variants.push_back({"pread_1MiB", "reference",
                          "pread of 1 MiB blocks into a buffer",
                          [&seq] { return SeqPread(seq); }, ""});
    AddSeqEngineVariants(seq, engines, w);
    workloads.push_back(std::move(w));
  }
  if (config.random) {
    Workload w{"random_read",
               absl::StrFormat("cold random 4 KiB reads over %s, %d distinct "
                               "pages in batches of 64",
                               size_text, config.reads),
               "reads/s",
               static_cast<double>(config.reads),
               1,
               random_checksum,
               "mmap_random",
               {}};
    w.variants.push_back({"mmap_random", "baseline",
                          "mmap + MADV_RANDOM, touch the 64 pages",
                          [&random] { return RandomMmap(random, false); }, ""});
    w.variants.push_back({"mmap_willneed", "baseline",
                          "mmap + MADV_RANDOM, MADV_WILLNEED per page of the "
                          "batch, then touch",
                          [&random] { return RandomMmap(random, true); }, ""});
    w.variants.push_back({"pread_8_threads", "reference",
                          "pread on a pool of 8 threads",
                          [&random] { return RandomPreadPool(random); }, ""});
    w.variants.push_back({"io_uring_buffered_qd32", "reference",
                          "io_uring reads, page cache, queue depth 32",
                          [&random] { return RandomIoUring(random, false); },
                          ""});
    w.variants.push_back({"io_uring_direct_qd32", "reference",
                          "io_uring O_DIRECT reads, queue depth 32",
                          [&random] { return RandomIoUring(random, true); },
                          ""});
    AddRandomEngineVariants(random, engines, w);
    workloads.push_back(std::move(w));
  }
  if (config.lead_sweep) {
    Workload w{"lead_sweep",
               absl::StrCat("cold sequential scan of ", size_text,
                            " with the io_uring engine at several leads"),
               "GB/s",
               static_cast<double>(config.size),
               1e9,
               seq_checksum,
               "mmap_naive",
               {}};
    w.variants.push_back(mmap_naive);
    AddLeadSweepVariants(seq, engines, w);
    workloads.push_back(std::move(w));
  }

  std::vector<std::vector<Result>> all;
  for (const Workload& w : workloads) {
    all.push_back(RunWorkload(w, path, config.rounds));
  }
  for (const std::vector<Result>& results : all) {
    PrintTable(results, config.rounds);
  }

  std::vector<std::string> engine_stats;
  for (const auto& [backend, engine] : engines.engines) {
    engine_stats.push_back(
        absl::StrCat(JsonString(PrefetchBackendName(backend)), ": ",
                     JsonString(engine->stats().ToString())));
  }
  std::vector<std::string> result_json;
  for (const std::vector<Result>& results : all) {
    for (const Result& r : results) result_json.push_back(ResultJson(r));
  }
  absl::PrintF(
      "{\"benchmark\": \"prefetch_bench\",\n \"config\": {\"dir\": %s, "
      "\"filesystem\": %s, \"file_bytes\": %d, \"reads\": %d, \"batch\": %d, "
      "\"rounds\": %d, \"lead_bytes\": %d, \"seed\": %d, \"engine_stats\": "
      "{%s}},\n \"results\": [\n  %s\n ]}\n",
      JsonString(config.dir), JsonString(filesystem), config.size, config.reads,
      kBatch, config.rounds, config.lead, config.seed,
      absl::StrJoin(engine_stats, ", "), absl::StrJoin(result_json, ",\n  "));
  return 0;
}

}  // namespace
}  // namespace mmapio::bench

int main(int argc, char** argv) { return mmapio::bench::Main(argc, argv); }
