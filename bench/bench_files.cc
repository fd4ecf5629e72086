#include "bench/bench_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <vector>

namespace mmapio::bench {

std::string BenchFile(const std::string& name, size_t size) {
  const char* dir = getenv("TEST_TMPDIR");
  const std::string path =
      std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  const int fd =
      open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::vector<char> chunk(1 << 20);
  for (size_t i = 0; i < chunk.size(); ++i)
    chunk[i] = static_cast<char>(i * 131);
  for (size_t done = 0; fd >= 0 && done < size; done += chunk.size()) {
    if (write(fd, chunk.data(), std::min(chunk.size(), size - done)) < 0) break;
  }
  if (fd < 0 || close(fd) != 0) {
    perror(path.c_str());
    abort();
  }
  return path;
}

const Region& ResidentRegion(const std::string& name, size_t size) {
  static auto* regions = new std::map<std::string, Region*>();
  Region*& made = (*regions)[name];
  if (made != nullptr) return *made;
  absl::StatusOr<Region> region = Region::Open(BenchFile(name, size));
  if (!region.ok() || !region->Populate().ok()) {
    fprintf(stderr, "%s: cannot map and read it in\n", name.c_str());
    abort();
  }
  made = new Region(*std::move(region));
  return *made;
}

}  // namespace mmapio::bench
