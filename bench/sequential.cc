// sequential: one thread scans a cold file from start to end, reading it in
// blocks of one size. The mmap baselines memcpy each block out of the
// mapping into a buffer and checksum it, the same work PrefetchStream::Read
// does; at the "touch" size every variant loads 8 bytes per page of each
// 1 MiB instead, which is what stream_willread does after WillRead.
//
// The checksum of a block is the sum of the stamps of its pages, so every
// variant of the scan must find the same sum.

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
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

// Calls `block(offset)` for each kBlock of the file in order, from now
// until the end or the run's time limit; returns the seconds taken and the
// bytes scanned.
template <typename Block>
std::pair<double, uint64_t> Scan(const SeqState& s, Block block) {
  const double start = Now();
  uint64_t scanned = 0;
  while (scanned < s.size) {
    block(scanned);
    scanned += kBlock;
    if (Now() - start > s.max_seconds) break;
  }
  return {Now() - start, scanned};
}

RunResult SeqResult(const SeqState& s, uint64_t sum,
                    std::pair<double, uint64_t> scan, int64_t majflt) {
  const auto [seconds, scanned] = scan;
  RunResult m;
  m.seconds = seconds;
  m.work = static_cast<double>(scanned);
  m.checksum = sum;
  m.expected_checksum =
      scanned == s.size ? s.expected : StampSumOfPrefix(scanned / kPage);
  m.metrics.emplace_back("majflt", static_cast<double>(majflt));
  m.metrics.emplace_back("scanned_share", static_cast<double>(scanned) /
                                              static_cast<double>(s.size));
  return m;
}

// `read_bytes` 0: load 8 bytes per page.
RunResult MmapScan(const SeqState& s, int advice, uint64_t read_bytes) {
  Mapping map(s.path, s.size);
  if (advice != MADV_NORMAL) map.Advise(advice);
  AlignedBuffer buffer = AllocateAligned(std::max(read_bytes, kPage));
  uint64_t sum = 0;
  const int64_t majflt = ThreadMajorFaults();
  const auto scan = Scan(s, [&](uint64_t block) {
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
  std::pair<double, uint64_t> scan;
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
  std::pair<double, uint64_t> scan;
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
