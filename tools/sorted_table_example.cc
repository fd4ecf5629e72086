// Serves point lookups in a sorted on-disk table through mmapio's coroutine
// API, as a database or an index server would: many lookups in flight on one
// thread, none of which ever waits for the disk while the others could run.
//
//   sorted_table_example TABLE [--records N] [--lookups M] [--concurrency C]
//
// TABLE holds fixed-size records sorted by key. When TABLE does not exist it
// is written with N records whose keys are the odd numbers 1, 3, 5, ... and
// whose values are derived from the keys; then M lookups of random keys,
// half of them absent, run C at a time, and every answer is checked. Exit
// status 0 means every lookup found exactly what the table holds.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "mmapio/async_engine.h"
#include "mmapio/detached_task.h"
#include "mmapio/event_loop.h"
#include "mmapio/region.h"

namespace {

struct Record {
  uint64_t key;
  char value[56];
};
static_assert(sizeof(Record) == 64);

Record RecordFor(uint64_t key) {
  Record record{.key = key, .value = {}};
  snprintf(record.value, sizeof(record.value), "value of %llu",
           static_cast<unsigned long long>(key));
  return record;
}

absl::Status WriteTable(const std::string& path, uint64_t records) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  std::vector<Record> block;
  for (uint64_t i = 0; i < records; ++i) {
    block.push_back(RecordFor(2 * i + 1));
    if (block.size() == 16384 || i + 1 == records) {
      const size_t bytes = block.size() * sizeof(Record);
      if (write(fd, block.data(), bytes) != static_cast<ssize_t>(bytes)) {
        close(fd);
        return absl::ErrnoToStatus(errno, absl::StrCat("write ", path));
      }
      block.clear();
    }
  }
  // Start cold, as a table that has not been read since boot would.
  fdatasync(fd);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
  return absl::OkStatus();
}

struct Lookup {
  uint64_t key;
  absl::StatusOr<std::string> value = absl::NotFoundError("not run");
};

struct Server {
  mmapio::EventLoop& loop;
  mmapio::AsyncEngine& engine;
  const mmapio::Region& table;
  std::vector<Lookup>& lookups;
  size_t next = 0;
  size_t running = 0;
};

// One of the coroutines that serve the lookups, one after another. Each
// probe of the binary search suspends until its record is resident, so the
// thread serves other lookups meanwhile instead of blocking on a page fault.
mmapio::DetachedTask ServeLookups(Server& server) {
  ++server.running;
  while (server.next < server.lookups.size()) {
    Lookup& lookup = server.lookups[server.next++];
    lookup.value = absl::NotFoundError(absl::StrCat("no key ", lookup.key));
    uint64_t low = 0;
    uint64_t high = server.table.size() / sizeof(Record);
    while (low < high) {
      const uint64_t middle = low + (high - low) / 2;
      absl::StatusOr<mmapio::ResidentView> view =
          co_await server.engine.Resident(
              server.table,
              {.offset = middle * sizeof(Record), .length = sizeof(Record)});
      if (!view.ok()) {
        lookup.value = view.status();
        break;
      }
      // A guarded load: a page lost since (truncation, a failing disk) is a
      // Status here, not a SIGBUS.
      absl::StatusOr<Record> record = view->Load<Record>(0);
      if (!record.ok()) {
        lookup.value = record.status();
        break;
      }
      if (record->key == lookup.key) {
        lookup.value = std::string(record->value);
        break;
      }
      if (record->key < lookup.key) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
  }
  if (--server.running == 0) server.loop.Stop();
}

int Fail(const absl::Status& status) {
  fprintf(stderr, "sorted_table_example: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr,
            "usage: sorted_table_example TABLE [--records N] [--lookups M] "
            "[--concurrency C]\n");
    return 2;
  }
  const std::string path = argv[1];
  uint64_t records = 1 << 20;
  uint64_t lookup_count = 10000;
  uint64_t concurrency = 64;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    uint64_t* target = flag == "--records"       ? &records
                       : flag == "--lookups"     ? &lookup_count
                       : flag == "--concurrency" ? &concurrency
                                                 : nullptr;
    if (target == nullptr || !absl::SimpleAtoi(argv[i + 1], target) ||
        *target == 0) {
      fprintf(stderr, "sorted_table_example: bad flag %s %s\n", argv[i],
              argv[i + 1]);
      return 2;
    }
  }
  if (access(path.c_str(), F_OK) != 0) {
    if (absl::Status status = WriteTable(path, records); !status.ok()) {
      return Fail(status);
    }
  }

  absl::StatusOr<mmapio::Region> table = mmapio::Region::Open(path);
  if (!table.ok()) return Fail(table.status());
  // Binary search reads one record per probe: read no more around it.
  if (absl::Status status = table->Advise(mmapio::Advice::kRandom);
      !status.ok()) {
    return Fail(status);
  }
  absl::StatusOr<std::unique_ptr<mmapio::AsyncEngine>> engine =
      mmapio::AsyncEngine::Create();
  if (!engine.ok()) return Fail(engine.status());
  absl::StatusOr<std::unique_ptr<mmapio::EventLoop>> loop =
      mmapio::EventLoop::Create();
  if (!loop.ok()) return Fail(loop.status());
  if (absl::Status status = (*loop)->Attach(**engine); !status.ok()) {
    return Fail(status);
  }

  const uint64_t table_records = table->size() / sizeof(Record);
  std::mt19937_64 random(1);
  std::vector<Lookup> lookups;
  for (uint64_t i = 0; i < lookup_count; ++i) {
    lookups.push_back({.key = random() % (2 * table_records + 2)});
  }
  const absl::Time start = absl::Now();
  Server server{
      .loop = **loop, .engine = **engine, .table = *table, .lookups = lookups};
  (*loop)->Post([&] {
    for (uint64_t i = 0; i < concurrency; ++i) ServeLookups(server);
  });
  if (absl::Status status = (*loop)->Run(); !status.ok()) return Fail(status);
  const absl::Duration elapsed = absl::Now() - start;

  uint64_t found = 0;
  uint64_t wrong = 0;
  for (const Lookup& lookup : lookups) {
    const bool present = lookup.key % 2 == 1 && lookup.key < 2 * table_records;
    if (lookup.value.ok()) {
      ++found;
      if (!present || *lookup.value != RecordFor(lookup.key).value) ++wrong;
    } else if (present || !absl::IsNotFound(lookup.value.status())) {
      fprintf(stderr, "sorted_table_example: key %llu: %s\n",
              static_cast<unsigned long long>(lookup.key),
              lookup.value.status().ToString().c_str());
      ++wrong;
    }
  }
  printf(
      "lookups=%zu found=%llu wrong=%llu seconds=%.3f "
      "lookups_per_second=%.0f\n",
      lookups.size(), static_cast<unsigned long long>(found),
      static_cast<unsigned long long>(wrong), absl::ToDoubleSeconds(elapsed),
      lookups.size() / absl::ToDoubleSeconds(elapsed));
  printf("%s\n", (*engine)->prefetch_engine().stats().ToString().c_str());
  return wrong == 0 ? 0 : 1;
}
