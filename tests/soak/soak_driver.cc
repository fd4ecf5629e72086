// The soak run's driver (tools/soak.sh): the truncation, EIO and
// cancellation tortures for a given time each, counting what happened.
//
//   soak_driver SECONDS_PER_TORTURE
//
// Prints one line per torture, "soak: <torture> operations=N faults=N
// errors=N", where a fault is a failure the torture provokes and the library
// must report as documented (OutOfRange past a truncated end, DataLoss on a
// page that fails with EIO, Cancelled), and an error is anything else: a
// wrong code, a wrong fault offset, wrong bytes, a callback not run exactly
// once. The first errors are described on stderr. Exits 1 when there was
// any error.

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mmapio/async_engine.h"
#include "mmapio/fault_info.h"
#include "mmapio/guarded.h"
#include "mmapio/region.h"
#include "tests/test_util.h"

namespace mmapio {
namespace {

constexpr uint64_t kPage = 4096;

struct Counts {
  std::atomic<uint64_t> operations{0};
  std::atomic<uint64_t> faults{0};
  std::atomic<uint64_t> errors{0};

  void Error(const std::string& what) {
    if (errors.fetch_add(1) < 10)
      std::fprintf(stderr, "error: %s\n", what.c_str());
  }
};

// Whether `bytes` read at `offset` are the file's: pattern bytes, or zeros
// at or past `zero_from` (a truncated tail read back as a hole).
bool AsWritten(absl::Span<const std::byte> bytes, uint64_t offset,
               uint64_t zero_from) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = static_cast<char>(bytes[i]);
    if (c != testing::PatternByte(offset + i) &&
        !(offset + i >= zero_from && c == 0)) {
      return false;
    }
  }
  return true;
}

// Readers copy random ranges while the file is cut to its first pages and
// written back, over and over.
void Truncation(absl::Duration duration, Counts& counts) {
  constexpr uint64_t kPages = 64;
  constexpr uint64_t kKept = 16;
  const std::string path = testing::MakeTempDir() + "/data";
  testing::WritePatternFile(path, kPages * kPage);
  absl::StatusOr<Region> region = Region::Open(path);
  if (!region.ok()) return counts.Error(region.status().ToString());
  const absl::Time end = absl::Now() + duration;
  std::atomic<bool> stop{false};
  std::thread truncator([&] {
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    const std::string tail = testing::Pattern(0, kPages * kPage);
    while (!stop.load()) {
      if (ftruncate(fd, kKept * kPage) != 0 ||
          pwrite(fd, tail.data() + kKept * kPage, (kPages - kKept) * kPage,
                 kKept * kPage) !=
              static_cast<ssize_t>((kPages - kKept) * kPage)) {
        counts.Error("cannot truncate and write back the file");
        break;
      }
    }
    close(fd);
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937_64 random(r);
      std::vector<std::byte> buffer(8 * kPage);
      while (absl::Now() < end) {
        const uint64_t length = 1 + random() % buffer.size();
        const uint64_t offset = random() % (kPages * kPage - length + 1);
        const CopyResult copied =
            GuardedCopy(*region, offset, absl::MakeSpan(buffer.data(), length));
        ++counts.operations;
        if (!AsWritten(absl::MakeConstSpan(buffer.data(), copied.bytes_copied),
                       offset, kKept * kPage)) {
          counts.Error(absl::StrCat("wrong bytes at ", offset));
        }
        if (copied.status.ok()) continue;
        const std::optional<FaultInfo> fault = GetFaultInfo(copied.status);
        if (copied.status.code() == absl::StatusCode::kOutOfRange &&
            fault.has_value() &&
            fault->file_offset == offset + copied.bytes_copied &&
            fault->file_offset >= kKept * kPage) {
          ++counts.faults;
        } else {
          counts.Error(copied.status.ToString());
        }
      }
    });
  }
  for (std::thread& reader : readers) reader.join();
  stop = true;
  truncator.join();
}

// Random ranges of a FUSE file whose chosen pages fail with EIO, evicted
// before every read.
void DeviceErrors(absl::Duration duration, Counts& counts) {
  constexpr uint64_t kPages = 64;
  const std::vector<uint64_t> bad = {5, 17, 40};
  testing::ScopedEioFilesystem filesystem(kPages * kPage, bad);
  if (filesystem.path().empty()) {
    std::fprintf(stderr, "eio: skipped: %s\n",
                 filesystem.skip_reason().c_str());
    return;
  }
  absl::StatusOr<Region> region = Region::Open(filesystem.path());
  if (!region.ok()) return counts.Error(region.status().ToString());
  std::mt19937_64 random(7);
  std::vector<std::byte> buffer(4 * kPage);
  const absl::Time end = absl::Now() + duration;
  while (absl::Now() < end) {
    // Failed pages stay uncached; the good ones are dropped as well.
    (void)region->Evict();
    const uint64_t length = 1 + random() % buffer.size();
    const uint64_t offset = random() % (kPages * kPage - length + 1);
    const CopyResult copied =
        GuardedCopy(*region, offset, absl::MakeSpan(buffer.data(), length));
    ++counts.operations;
    std::optional<uint64_t> first_bad;
    for (const uint64_t page : bad) {
      if (page * kPage < offset + length && (page + 1) * kPage > offset) {
        first_bad = std::max(page * kPage, offset);
        break;
      }
    }
    if (!AsWritten(absl::MakeConstSpan(buffer.data(), copied.bytes_copied),
                   offset, UINT64_MAX)) {
      counts.Error(absl::StrCat("wrong bytes at ", offset));
    }
    if (copied.status.ok() && !first_bad.has_value()) continue;
    const std::optional<FaultInfo> fault = GetFaultInfo(copied.status);
    if (first_bad.has_value() &&
        copied.status.code() == absl::StatusCode::kDataLoss &&
        fault.has_value() && fault->file_offset == *first_bad &&
        offset + copied.bytes_copied == *first_bad) {
      ++counts.faults;
    } else {
      counts.Error(absl::StrCat("[", offset, ", +", length,
                                "): ", copied.status.ToString()));
    }
  }
}

// Requests for cold pages, half of them cancelled from another thread while
// they are in flight: every callback runs once, with the pages or Cancelled.
void Cancellation(absl::Duration duration, Counts& counts) {
  constexpr uint64_t kPages = 4096;
  const std::string path = testing::MakeTempDir() + "/data";
  testing::WritePatternFile(path, kPages * kPage);
  absl::StatusOr<Region> region = Region::Open(path);
  if (!region.ok()) return counts.Error(region.status().ToString());
  absl::StatusOr<std::unique_ptr<AsyncEngine>> engine =
      AsyncEngine::Create({.max_bytes_in_flight = 64 * kPage});
  if (!engine.ok()) return counts.Error(engine.status().ToString());
  const absl::Time end = absl::Now() + duration;
  while (absl::Now() < end) {
    (void)region->Evict();
    constexpr int kRequests = 1024;
    std::vector<std::stop_source> sources(kRequests);
    std::vector<int> calls(kRequests);
    int completed = 0;
    for (int i = 0; i < kRequests; ++i) {
      const uint64_t offset = (i * 2 % kPages) * kPage;
      (*engine)->EnsureResident(
          *region, {.offset = offset, .length = kPage},
          [&, i, offset](absl::StatusOr<ResidentView> view) {
            ++calls[i];
            ++completed;
            ++counts.operations;
            if (view.ok()) {
              if (view->Load<uint8_t>(7).value_or(0) !=
                  static_cast<uint8_t>(testing::PatternByte(offset + 7))) {
                counts.Error(absl::StrCat("wrong byte at ", offset + 7));
              }
            } else if (view.status().code() == absl::StatusCode::kCancelled) {
              ++counts.faults;
            } else {
              counts.Error(view.status().ToString());
            }
          },
          {.cancel = sources[i].get_token()});
    }
    std::thread canceller([&] {
      for (int i = 0; i < kRequests; i += 2) sources[i].request_stop();
    });
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (completed < kRequests && absl::Now() < give_up) {
      if ((*engine)->Poll() == 0) {
        pollfd ready{.fd = (*engine)->fd(), .events = POLLIN, .revents = 0};
        poll(&ready, 1, 10);
      }
    }
    canceller.join();
    for (int i = 0; i < kRequests; ++i) {
      if (calls[i] != 1) {
        counts.Error(
            absl::StrCat("request ", i, " called back ", calls[i], " times"));
      }
    }
  }
}

}  // namespace
}  // namespace mmapio

int main(int argc, char** argv) {
  const absl::Duration each = absl::Seconds(argc > 1 ? std::atoi(argv[1]) : 10);
  bool failed = false;
  const struct {
    const char* name;
    void (*run)(absl::Duration, mmapio::Counts&);
  } kTortures[] = {
      {"truncation", mmapio::Truncation},
      {"eio", mmapio::DeviceErrors},
      {"cancellation", mmapio::Cancellation},
  };
  for (const auto& torture : kTortures) {
    mmapio::Counts counts;
    torture.run(each, counts);
    std::printf("soak: %s operations=%lu faults=%lu errors=%lu\n", torture.name,
                static_cast<unsigned long>(counts.operations),
                static_cast<unsigned long>(counts.faults),
                static_cast<unsigned long>(counts.errors));
    std::fflush(stdout);
    failed = failed || counts.errors > 0;
  }
  return failed ? 1 : 0;
}
