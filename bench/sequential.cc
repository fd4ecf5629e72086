// sequential: one thread scans a cold file from start to end, reading it in
// blocks of one size. The mmap baselines memcpy each block out of the
// mapping into a buffer and checksum it, the same work PrefetchStream::Read
// does; at the "touch" size every variant loads 8 bytes per page of each
// 1 MiB instead, which is what stream_willread does after WillRead.
//
// The checksum of a block is the sum of the stamps of its pages, so every
// variant of the scan must find the same sum.

#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "bench/bench_support.h"
#include "bench/cold_bench.h"
#include "bench/cold_harness.h"
#include "mmapio/prefetch.h"
#include "mmapio/prefetch_stream.h"
#include "mmapio/region.h"
#include "tools/format.h"

namespace mmapio::bench {
namespace {

// The unit of the scans: the "touch" scans and stream_willread's
// announcements take one at a time, the other read sizes divide it.
constexpr uint64_t kBlock = uint64_t{1} << 20;

struct SeqState {
  std::string path;
  uint64_t size = 0;
  uint64_t expected = 0;
  // A run stops after this long, so that one pathologically slow variant
  // cannot take the whole benchmark's time; it reports the share it
  // scanned.
  double max_seconds = 0;
  std::unique_ptr<PrefetchEngine> engine;
};

// The stamps of the pages of [p, p + bytes).
uint64_t SumBlock(const uint8_t* p, uint64_t bytes) {
  uint64_t sum = 0;
  for (uint64_t at = 0; at < bytes; at += kPage) sum += Load64(p + at);
  return sum;
}

// Keeps the compiler from reading the mapping instead of the copy: the
// buffer may have changed behind its back.
void Clobber(void* p) { asm volatile("" : : "r"(p) : "memory"); }

// CPU time of the whole process, engine threads included.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](timeval t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct ScanTime {
  double seconds;
  uint64_t scanned;
  double cpu_seconds;
};

// Calls `block(offset)` for each kBlock of the file in order, from now
// until the end or the run's time limit; returns the seconds taken, the
// bytes scanned and the process's CPU time.
template <typename Block>
ScanTime Scan(const SeqState& s, Block block) {
  const double start = Now();
  const double cpu = ProcessCpuSeconds();
  uint64_t scanned = 0;
  while (scanned < s.size) {
    block(scanned);
    scanned += kBlock;
    if (Now() - start > s.max_seconds) break;
  }
  return {Now() - start, scanned, ProcessCpuSeconds() - cpu};
}

RunResult SeqResult(const SeqState& s, uint64_t sum, ScanTime scan,
                    int64_t majflt) {
  const auto [seconds, scanned, cpu_seconds] = scan;
  RunResult m;
  m.seconds = seconds;
  m.work = static_cast<double>(scanned);
  m.checksum = sum;
  m.expected_checksum =
      scanned == s.size ? s.expected : StampSumOfPrefix(scanned / kPage);
  m.metrics.emplace_back("majflt", static_cast<double>(majflt));
  m.metrics.emplace_back("scanned_share", static_cast<double>(scanned) /
                                              static_cast<double>(s.size));
  m.metrics.emplace_back("cpu_s_per_gib",
                         cpu_seconds / (static_cast<double>(scanned) /
                                        static_cast<double>(1 << 30)));
  return m;
}

// MADV_WILLNEED of the 2 MiB chunks 8 MiB ahead, then a load per page: the
// kernel's hint, issued by the reader itself.
RunResult WillneedTouch(const SeqState& s) {
  constexpr uint64_t kChunk = uint64_t{2} << 20;
  constexpr uint64_t kAhead = uint64_t{8} << 20;
  Mapping map(s.path, s.size);
  uint64_t sum = 0;
  uint64_t advised = 0;  // [0, advised) has been advised.
  const int64_t majflt = ThreadMajorFaults();
  const ScanTime scan = Scan(s, [&](uint64_t block) {
    for (; advised < std::min(block + kBlock + kAhead, s.size);
         advised += kChunk) {
      madvise(const_cast<uint8_t*>(map.data()) + advised,
              std::min(kChunk, s.size - advised), MADV_WILLNEED);
    }
    sum += SumBlock(map.data() + block, kBlock);
  });
  return SeqResult(s, sum, scan, ThreadMajorFaults() - majflt);
}

// PrefetchEngine::Prefetch of 2 MiB requests (the engine's chunk, what
// mmapio touch asks for) up to 16 MiB ahead of the reader, which waits for
// a block's request to complete before it loads a byte per page of it: the
// engine's own sequential path, without a stream's policy.
RunResult EnginePrefetch(const SeqState& s) {
  constexpr uint64_t kRequest = uint64_t{2} << 20;
  constexpr uint64_t kAhead = uint64_t{16} << 20;
  Region region = OpenRegion(s.path);
  const uint8_t* base = reinterpret_cast<const uint8_t*>(region.bytes().data());
  struct Completed {
    std::mutex mutex;
    std::condition_variable cv;
    uint64_t up_to = 0;  // Requests [0, up_to) completed, in order.
    std::vector<bool> done;
    absl::Status error;
  };
  auto completed = std::make_shared<Completed>();
  completed->done.assign((s.size + kRequest - 1) / kRequest, false);
  CallTimes times(s.size / kRequest + 64);
  ThreadCallTimes on_this_thread(times);
  uint64_t requested = 0;  // Bytes [0, requested) have been asked for.
  uint64_t sum = 0;
  const int64_t majflt = ThreadMajorFaults();
  const ScanTime scan = Scan(s, [&](uint64_t block) {
    for (; requested < std::min(block + kBlock + kAhead, s.size);
         requested += kRequest) {
      const uint64_t index = requested / kRequest;
      CallScope call("Prefetch");
      s.engine->Prefetch(region, {requested, kRequest},
                         [completed, index](absl::Status status) {
                           std::lock_guard<std::mutex> lock(completed->mutex);
                           if (!status.ok()) completed->error = status;
                           completed->done[index] = true;
                           while (completed->up_to < completed->done.size() &&
                                  completed->done[completed->up_to]) {
                             ++completed->up_to;
                           }
                           completed->cv.notify_all();
                         });
    }
    {
      std::unique_lock<std::mutex> lock(completed->mutex);
      completed->cv.wait(lock, [&] {
        return completed->up_to > block / kRequest || !completed->error.ok();
      });
      if (!completed->error.ok()) Die(completed->error.ToString());
    }
    sum += SumBlock(base + block, kBlock);
  });
  // Requests still in flight end before the region goes.
  {
    std::unique_lock<std::mutex> lock(completed->mutex);
    completed->cv.wait(
        lock, [&] { return completed->up_to * kRequest >= requested; });
  }
  RunResult m = SeqResult(s, sum, scan, ThreadMajorFaults() - majflt);
  times.AddMetrics(m.metrics);
  return m;
}

// `read_bytes` 0: load 8 bytes per page.
RunResult MmapScan(const SeqState& s, int advice, uint64_t read_bytes) {
  Mapping map(s.path, s.size);
  if (advice != MADV_NORMAL) map.Advise(advice);
  AlignedBuffer buffer = AllocateAligned(std::max(read_bytes, kPage));
  uint64_t sum = 0;
  const int64_t majflt = ThreadMajorFaults();
  const ScanTime scan = Scan(s, [&](uint64_t block) {
    if (read_bytes == 0) {
      sum += SumBlock(map.data() + block, kBlock);
      return;
    }
    for (uint64_t offset = block; offset < block + kBlock;
         offset += read_bytes) {
      std::memcpy(buffer.get(), map.data() + offset, read_bytes);
      Clobber(buffer.get());
      sum += SumBlock(buffer.get(), read_bytes);
    }
  });
  return SeqResult(s, sum, scan, ThreadMajorFaults() - majflt);
}

// PrefetchStream::Read of `read_bytes` at a time.
RunResult StreamRead(const SeqState& s, uint64_t read_bytes) {
  Region region = OpenRegion(s.path);
  AlignedBuffer buffer = AllocateAligned(read_bytes);
  const absl::Span<std::byte> out(reinterpret_cast<std::byte*>(buffer.get()),
                                  read_bytes);
  CallTimes times(s.size / read_bytes + 64);
  ThreadCallTimes on_this_thread(times);
  uint64_t sum = 0;
  const int64_t majflt = ThreadMajorFaults();
  ScanTime scan;
  {
    PrefetchStream stream(*s.engine, region);
    scan = Scan(s, [&](uint64_t block) {
      for (uint64_t offset = block; offset < block + kBlock;
           offset += read_bytes) {
        CopyResult copied;
        {
          CallScope call("Read");
          copied = stream.Read(offset, out);
        }
        if (!copied.status.ok()) Die(copied.status.ToString());
        sum += SumBlock(buffer.get(), read_bytes);
      }
    });
    // The stream's destructor waits for its requests still in flight:
    // after the measured part.
  }
  RunResult m = SeqResult(s, sum, scan, ThreadMajorFaults() - majflt);
  times.AddMetrics(m.metrics);
  return m;
}

// PrefetchStream::WillRead of the next 1 MiB, then a load per page of it.
RunResult StreamWillRead(const SeqState& s) {
  Region region = OpenRegion(s.path);
  const uint8_t* base = reinterpret_cast<const uint8_t*>(region.bytes().data());
  CallTimes times(s.size / kBlock + 64);
  ThreadCallTimes on_this_thread(times);
  uint64_t sum = 0;
  const int64_t majflt = ThreadMajorFaults();
  ScanTime scan;
  {
    PrefetchStream stream(*s.engine, region);
    scan = Scan(s, [&](uint64_t block) {
      {
        CallScope call("WillRead");
        stream.WillRead({block, kBlock});
      }
      sum += SumBlock(base + block, kBlock);
    });
  }
  RunResult m = SeqResult(s, sum, scan, ThreadMajorFaults() - majflt);
  times.AddMetrics(m.metrics);
  return m;
}

}  // namespace

Workload SequentialWorkload(const ColdConfig& config, const std::string& path) {
  auto state = std::make_shared<SeqState>();
  SeqState* s = state.get();
  s->path = path;
  s->size = config.seq_file_bytes;
  s->expected = StampSumOfPrefix(s->size / kPage);
  s->max_seconds = config.seq_max_seconds;
  s->engine = CreateOrDie<PrefetchEngine>();
  const std::string backend(PrefetchBackendName(s->engine->backend()));

  Workload w;
  w.name = "sequential";
  w.unit = "GB/s";
  w.unit_scale = 1e9;
  w.state = state;
  w.files = {path};
  w.description = absl::StrFormat(
      "One thread scans a cold %.1f GiB file from start to end. At read "
      "sizes 4 KiB, 64 KiB and 1 MiB the mmap baselines memcpy each block "
      "out of the mapping into a buffer and checksum it, the same work "
      "PrefetchStream::Read does; at \"touch\" every variant loads 8 bytes "
      "per page of each 1 MiB, as stream_willread does after WillRead. GB/s "
      "is 10^9 bytes of file per second.",
      static_cast<double>(s->size) / (1 << 30));
  w.metric_notes = {
      {"majflt", "major faults the scanning thread took"},
      {"cpu_s_per_gib",
       "CPU seconds of the whole process (engine threads included) per GiB "
       "scanned"},
      {"scanned_share",
       "share of the file scanned: a run stops after --seq_max_seconds, "
       "and its GB/s is then of the part it scanned"},
  };
  for (auto& note : CallMetricNotes(
           "time inside each PrefetchStream::Read or WillRead call (Read "
           "includes its copy)")) {
    w.metric_notes.push_back(std::move(note));
  }
  w.config = {
      {"file_bytes", absl::StrCat(s->size)},
      {"max_seconds_per_run", JsonNumber(s->max_seconds)},
      {"prefetch_backend", cli::JsonString(backend)},
  };

  struct Size {
    const char* label;
    uint64_t bytes;  // 0: touch.
  };
  for (const Size& size : {Size{"4KiB", 4096}, Size{"64KiB", 64 << 10},
                           Size{"1MiB", 1 << 20}, Size{"touch", 0}}) {
    const std::vector<std::pair<std::string, std::string>> params = {
        {"read", cli::JsonString(size.label)}};
    const uint64_t bytes = size.bytes;
    // The same words at every size: the report lists a variant once.
    const std::string what =
        "memcpy each block of the read size out of the mapping into a "
        "buffer, checksum it (at touch: load 8 bytes per page)";
    w.variants.push_back(
        {"mmap_naive", "baseline", absl::StrCat("mmap, ", what),
         [s, bytes] { return MmapScan(*s, MADV_NORMAL, bytes); }, "", params});
    w.variants.push_back(
        {"mmap_sequential", "baseline",
         absl::StrCat("mmap + MADV_SEQUENTIAL, ", what),
         [s, bytes] { return MmapScan(*s, MADV_SEQUENTIAL, bytes); }, "",
         params});
    if (bytes != 0) {
      w.variants.push_back(
          {"stream_read", "mmapio",
           absl::StrCat("PrefetchStream over a Region, PrefetchEngine::"
                        "Create() (",
                        backend,
                        "): Read(offset, buffer of the read size), checksum "
                        "each block"),
           [s, bytes] { return StreamRead(*s, bytes); }, "", params});
    } else {
      w.variants.push_back(
          {"willneed_touch", "baseline",
           "mmap; MADV_WILLNEED of the 2 MiB chunks up to 8 MiB ahead, then "
           "load 8 bytes per page of each 1 MiB",
           [s] { return WillneedTouch(*s); }, "", params});
      w.variants.push_back(
          {"engine_prefetch", "mmapio",
           absl::StrCat("PrefetchEngine::Create() (", backend,
                        "): Prefetch of 2 MiB requests up to 16 MiB ahead; "
                        "wait for a block's request, then load 8 bytes per "
                        "page of the block"),
           [s] { return EnginePrefetch(*s); }, "", params});
      w.variants.push_back(
          {"stream_willread", "mmapio",
           absl::StrCat("PrefetchStream over a Region, PrefetchEngine::"
                        "Create() (",
                        backend,
                        "): WillRead(next 1 MiB), then load 8 bytes per page "
                        "of it"),
           [s] { return StreamWillRead(*s); }, "", params});
    }
  }
  w.engines = [s] {
    return std::vector<std::pair<std::string, std::string>>{
        {"prefetch_default", cli::JsonString(s->engine->stats().ToString())}};
  };
  return w;
}

}  // namespace mmapio::bench
