// A FUSE filesystem with one read-only file, /data, whose chosen pages fail
// with EIO: a real failing device for fault tests.
//
//   fuse_eio_fs MOUNTPOINT SIZE BAD_PAGE...
//   fuse_eio_fs MOUNTPOINT @FILE BAD_PAGE...
//
// Byte i of /data is mmapio::testing::PatternByte(i), or with @FILE, byte i
// of FILE (read when mounting; /data is then as long as FILE was). The
// filesystem runs in the foreground, single-threaded, until unmounted.

#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fuse3/fuse.h>
#include <string.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace {

constexpr uint64_t kPage = 4096;
constexpr char kName[] = "data";

uint64_t file_size = 0;
std::set<uint64_t> bad_pages;
std::string contents;  // With @FILE; empty for the pattern.

void* Init(fuse_conn_info* connection, fuse_config* config) {
  // One request per faulting page, so a bad page fails alone.
  connection->max_readahead = 0;
  config->kernel_cache = 0;
  config->direct_io = 0;
  return nullptr;
}

int GetAttr(const char* path, struct stat* st, fuse_file_info*) {
  memset(st, 0, sizeof(*st));
  if (strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  if (strcmp(path + 1, kName) != 0) return -ENOENT;
  st->st_mode = S_IFREG | 0444;
  st->st_nlink = 1;
  st->st_size = static_cast<off_t>(file_size);
  return 0;
}

int ReadDir(const char* path, void* buffer, fuse_fill_dir_t fill, off_t,
            fuse_file_info*, fuse_readdir_flags) {
  if (strcmp(path, "/") != 0) return -ENOENT;
  fill(buffer, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  fill(buffer, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  fill(buffer, kName, nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  return 0;
}

int Open(const char* path, fuse_file_info* info) {
  if (strcmp(path + 1, kName) != 0) return -ENOENT;
  if ((info->flags & O_ACCMODE) != O_RDONLY) return -EACCES;
  return 0;
}

int Read(const char*, char* buffer, size_t size, off_t offset,
         fuse_file_info*) {
  const uint64_t start = static_cast<uint64_t>(offset);
  if (start >= file_size) return 0;
  const uint64_t end = std::min<uint64_t>(start + size, file_size);
  for (uint64_t page = start / kPage; page * kPage < end; ++page) {
    if (bad_pages.count(page) != 0) return -EIO;
  }
  for (uint64_t i = start; i < end; ++i) {
    buffer[i - start] =
        contents.empty() ? mmapio::testing::PatternByte(i) : contents[i];
  }
  return static_cast<int>(end - start);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MOUNTPOINT SIZE|@FILE BAD_PAGE...\n", argv[0]);
    return 2;
  }
  if (argv[2][0] == '@') {
    std::ifstream in(argv[2] + 1, std::ios::binary);
    contents.assign(std::istreambuf_iterator<char>(in), {});
    if (!in.good() && !in.eof()) {
      fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[2] + 1);
      return 2;
    }
    file_size = contents.size();
  } else {
    file_size = strtoull(argv[2], nullptr, 10);
  }
  for (int i = 3; i < argc; ++i)
    bad_pages.insert(strtoull(argv[i], nullptr, 10));
  fuse_operations operations = {};
  operations.init = Init;
  operations.getattr = GetAttr;
  operations.readdir = ReadDir;
  operations.open = Open;
  operations.read = Read;
  std::vector<char*> args = {argv[0],
                             argv[1],
                             const_cast<char*>("-f"),
                             const_cast<char*>("-s"),
                             const_cast<char*>("-o"),
                             const_cast<char*>("fsname=mmapio_eio")};
  return fuse_main(static_cast<int>(args.size()), args.data(), &operations,
                   nullptr);
}
