// A RocksDB FileSystem whose random-access reads (SST files) go through
// mmapio: each file is mapped with a Region; Read copies with GuardedRead
// (a pread for blocks the file has not read before, a copy from the mapping
// through the fault guard for resident blocks read before); MultiRead starts
// all its ranges' reads at once (WILLNEED) before copying them; Prefetch is
// a WILLNEED of its range and the whole-file WILLNEED hint goes to mmapio's
// prefetch engine; ReadAsync completes through an AsyncEngine, delivered by
// FileSystem::Poll.
//
// Everything else (writes, directories, sequential reads, files RocksDB
// opens for direct I/O) passes through to the wrapped filesystem.
//
// Errors: a page that cannot be read (a file truncated underneath, a page
// the device cannot read), by a fault or by a read, is an IOStatus::IOError
// naming the operation, the file and its range, never a signal. Results are
// always copied into RocksDB's buffer: a result pointing into the mapping would
// be read by RocksDB outside the guard.
//
// Registered as "mmapio" in RocksDB's object registry when the library is
// loaded, so `--fs_uri=mmapio` (db_bench, ldb, sst_dump) or
// FileSystem::CreateFromString(..., "mmapio", ...) select it.
//
// Thread safety: as RocksDB requires of a FileSystem; every method may run
// on any thread.

#ifndef MMAPIO_INTEGRATIONS_ROCKSDB_MMAPIO_FILE_SYSTEM_H_
#define MMAPIO_INTEGRATIONS_ROCKSDB_MMAPIO_FILE_SYSTEM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mmapio/async_engine.h"
#include "mmapio/event_loop.h"
#include "rocksdb/file_system.h"

namespace mmapio::rocksdb_plugin {

// What the plugin did, for MMAPIO_ROCKSDB_STATS=1 and tests.
struct PluginStats {
  std::atomic<uint64_t> files{0};        // Files mapped.
  std::atomic<uint64_t> reads{0};        // Read and MultiRead requests.
  std::atomic<uint64_t> bytes{0};        // Bytes they returned.
  std::atomic<uint64_t> multi_reads{0};  // MultiRead calls.
  std::atomic<uint64_t> async_reads{0};  // ReadAsync calls.
  std::atomic<uint64_t> prefetches{0};   // Prefetch calls and hints.
  std::atomic<uint64_t> faults{0};       // Faults turned into errors.
};

// The counters of every MmapioFileSystem in the process.
PluginStats& Stats();

// "mmapio-rocksdb: files=... reads=... bytes=... ..." (no newline).
std::string StatsLine();

class MmapioFileSystem : public rocksdb::FileSystemWrapper {
 public:
  static const char* kClassName() { return "mmapio"; }
  const char* Name() const override { return kClassName(); }

  // Fails when mmapio's engines cannot start.
  static rocksdb::IOStatus Create(
      const std::shared_ptr<rocksdb::FileSystem>& target,
      std::unique_ptr<MmapioFileSystem>* result);
  ~MmapioFileSystem() override;

  rocksdb::IOStatus NewRandomAccessFile(
      const std::string& path, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
      rocksdb::IODebugContext* debug) override;

  // Waits for the ReadAsync requests of `io_handles` and runs their
  // callbacks on the calling thread.
  rocksdb::IOStatus Poll(std::vector<void*>& io_handles,
                         size_t min_completions) override;
  // Cancels them: their callbacks never run.
  rocksdb::IOStatus AbortIO(std::vector<void*>& io_handles) override;

  AsyncEngine& engine() { return *engine_; }

 private:
  MmapioFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target,
                   std::unique_ptr<AsyncEngine> engine,
                   std::unique_ptr<EventLoop> loop);

  std::unique_ptr<AsyncEngine> engine_;
  // Runs the engine's completions on a thread of its own, so that ReadAsync
  // requests complete whoever polls.
  std::unique_ptr<EventLoop> loop_;
  std::thread loop_thread_;
};

}  // namespace mmapio::rocksdb_plugin

#endif  // MMAPIO_INTEGRATIONS_ROCKSDB_MMAPIO_FILE_SYSTEM_H_
