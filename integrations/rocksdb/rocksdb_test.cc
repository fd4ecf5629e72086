// Debian's RocksDB reading its SST files through the mmapio FileSystem,
// selected by name from RocksDB's registry as --fs_uri=mmapio selects it.

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integrations/rocksdb/mmapio_file_system.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/table.h"
#include "tests/test_util.h"

namespace mmapio::rocksdb_plugin {
namespace {

using ::testing::HasSubstr;

constexpr int kKeys = 4000;

std::string Key(int i) { return absl::StrCat("key", 100000 + i); }
std::string Value(int i) {
  return std::string(200, static_cast<char>('a' + i % 26));
}

class RocksDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rocksdb::ConfigOptions config;
    std::shared_ptr<rocksdb::FileSystem> file_system;
    // Fails loudly when the plugin did not register itself.
    const rocksdb::Status created =
        rocksdb::FileSystem::CreateFromString(config, "mmapio", &file_system);
    ASSERT_TRUE(created.ok()) << created.ToString();
    ASSERT_STREQ(file_system->Name(), "mmapio");
    env_ = rocksdb::NewCompositeEnv(file_system);
    path_ = mmapio::testing::MakeTempDir() + "/db";
  }

  void TearDown() override { db_.reset(); }

  // Options with no block cache, so that every block read reaches the file.
  rocksdb::Options Options() {
    rocksdb::Options options;
    options.env = env_.get();
    options.create_if_missing = true;
    rocksdb::BlockBasedTableOptions table;
    table.no_block_cache = true;
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    return options;
  }

  void Open(const rocksdb::Options& options) {
    rocksdb::DB* db = nullptr;
    const rocksdb::Status opened = rocksdb::DB::Open(options, path_, &db);
    ASSERT_TRUE(opened.ok()) << opened.ToString();
    db_.reset(db);
  }

  // Writes kKeys keys into SST files, then opens the database again so that
  // reads come from the files.
  void Fill() {
    ASSERT_NO_FATAL_FAILURE(Open(Options()));
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), Key(i), Value(i)).ok());
    }
    ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
    db_.reset();
    ASSERT_NO_FATAL_FAILURE(Open(Options()));
  }

  std::vector<std::string> SstFiles() const {
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      if (entry.path().extension() == ".sst") files.push_back(entry.path());
    }
    return files;
  }

  std::unique_ptr<rocksdb::Env> env_;
  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST_F(RocksDbTest, WritesAndReadsBackThroughTheMapping) {
  ASSERT_NO_FATAL_FAILURE(Fill());
  const uint64_t files = Stats().files.load();
  const uint64_t reads = Stats().reads.load();
  for (int i = 0; i < kKeys; i += 7) {
    std::string value;
    const rocksdb::Status got =
        db_->Get(rocksdb::ReadOptions(), Key(i), &value);
    ASSERT_TRUE(got.ok()) << got.ToString();
    EXPECT_EQ(value, Value(i));
  }
  std::string value;
  EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), "absent", &value).IsNotFound());
  // The reads went through mmapio.
  EXPECT_GT(Stats().reads.load(), reads);
  EXPECT_GE(Stats().files.load(), files);
  EXPECT_GT(Stats().files.load(), 0u);
}

TEST_F(RocksDbTest, BatchedMultiGetReadsThroughMultiRead) {
  ASSERT_NO_FATAL_FAILURE(Fill());
  const uint64_t multi_reads = Stats().multi_reads.load();
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; i += 97) keys.push_back(Key(i));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), keys.size(),
                slices.data(), values.data(), statuses.data(),
                /*sorted_input=*/true);
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].ToString();
    EXPECT_EQ(values[i].ToString(), Value(static_cast<int>(i) * 97));
  }
  EXPECT_GT(Stats().multi_reads.load(), multi_reads);
}

TEST_F(RocksDbTest, AsyncIoIteratorsCompleteThroughPoll) {
  ASSERT_NO_FATAL_FAILURE(Fill());
  const uint64_t async_reads = Stats().async_reads.load();
  rocksdb::ReadOptions options;
  options.async_io = true;
  options.readahead_size = 64 << 10;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
  int count = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ASSERT_EQ(it->key().ToString(), Key(count));
    ASSERT_EQ(it->value().ToString(), Value(count));
    ++count;
  }
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  EXPECT_EQ(count, kKeys);
  EXPECT_GT(Stats().async_reads.load(), async_reads);
}

TEST_F(RocksDbTest, ATruncatedSstIsAnIoErrorAndTheProcessLives) {
  ASSERT_NO_FATAL_FAILURE(Fill());
  // Read once, so that the table is open and mapped at its full size.
  std::string value;
  ASSERT_TRUE(db_->Get(rocksdb::ReadOptions(), Key(0), &value).ok());
  const std::vector<std::string> files = SstFiles();
  ASSERT_FALSE(files.empty());
  for (const std::string& file : files) {
    ASSERT_EQ(truncate(file.c_str(), 4096), 0) << file;
  }
  const uint64_t faults = Stats().faults.load();
  int failed = 0;
  std::string message;
  for (int i = 0; i < kKeys; i += 50) {
    const rocksdb::Status got =
        db_->Get(rocksdb::ReadOptions(), Key(i), &value);
    if (!got.ok()) {
      ++failed;
      message = got.ToString();
    }
  }
  // Past the first 4 KiB every block is gone: those reads fail as errors
  // that name mmapio's operation and the file.
  EXPECT_GT(failed, 0);
  EXPECT_THAT(message, HasSubstr("IO error"));
  EXPECT_THAT(message, HasSubstr(".sst"));
  EXPECT_THAT(message, HasSubstr("truncated"));
  EXPECT_GT(Stats().faults.load(), faults);
}

TEST_F(RocksDbTest, AnSstOnAFailingDiskFailsOnlyAtItsBadBlock) {
  ASSERT_NO_FATAL_FAILURE(Fill());
  db_.reset();
  const std::vector<std::string> files = SstFiles();
  ASSERT_EQ(files.size(), 1u);
  const std::string sst = files[0];
  // A page among the data blocks: the index and the footer are at the end.
  const uint64_t bad_page = std::filesystem::file_size(sst) / 4096 / 3;
  // The SST's bytes, served by the FUSE filesystem of the fault tests with
  // one page failing, in place of the SST.
  mmapio::testing::ScopedEioFilesystem eio(sst, {bad_page});
  if (eio.path().empty()) GTEST_SKIP() << eio.skip_reason();
  std::filesystem::remove(sst);
  std::filesystem::create_symlink(eio.path(), sst);
  rocksdb::Options options = Options();
  // Tables open on this thread, the one that sees the mount.
  options.max_file_opening_threads = 1;
  ASSERT_NO_FATAL_FAILURE(Open(options));

  const uint64_t faults = Stats().faults.load();
  int read = 0;
  int failed = 0;
  std::string message;
  for (int i = 0; i < kKeys; ++i) {
    std::string value;
    const rocksdb::Status got =
        db_->Get(rocksdb::ReadOptions(), Key(i), &value);
    if (got.ok()) {
      ASSERT_EQ(value, Value(i));
      ++read;
    } else {
      ++failed;
      message = got.ToString();
    }
  }
  // The keys of the bad block fail as errors, and only those.
  EXPECT_GT(failed, 0);
  EXPECT_LT(failed, kKeys / 10);
  EXPECT_GT(read, kKeys / 2);
  EXPECT_THAT(message, HasSubstr("IO error"));
  EXPECT_THAT(message, HasSubstr("could not read the page (EIO)"));
  EXPECT_GT(Stats().faults.load(), faults);
  db_.reset();
}

}  // namespace
}  // namespace mmapio::rocksdb_plugin
