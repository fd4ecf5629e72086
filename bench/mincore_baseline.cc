// mincore_baseline: the raw system-call baseline for "mmapio map": maps a
// file read-only, asks mincore once for the whole mapping and prints how
// many of its pages are resident.
//
//   mincore_baseline FILE
//
// mincore sees the page cache only for files the caller could write (root
// can); for other files it reports this process's mapped pages instead.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

int Fail(const char* path, const char* operation) {
  std::fprintf(stderr, "mincore_baseline: %s: %s: %s\n", path, operation,
               std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mincore_baseline FILE\n");
    return 2;
  }
  const char* path = argv[1];
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail(path, "open");
  struct stat st;
  if (fstat(fd, &st) != 0) return Fail(path, "fstat");
  if (!S_ISREG(st.st_mode)) {
    std::fprintf(stderr, "mincore_baseline: %s: not a regular file\n", path);
    return 1;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size == 0) {
    std::printf("0\n");
    return 0;
  }
  void* base = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return Fail(path, "mmap");
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> pages((size + page - 1) / page);
  if (mincore(base, size, pages.data()) != 0) return Fail(path, "mincore");
  uint64_t resident = 0;
  for (const unsigned char p : pages) resident += p & 1;
  std::printf("%llu\n", static_cast<unsigned long long>(resident));
  munmap(base, size);
  close(fd);
  return 0;
}
