#include <dlfcn.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace mmapio {
namespace {

TEST(DlopenTest, GuardedAccessWorksInALibraryLoadedAtRunTime) {
  const std::string library =
      absl::StrCat(getenv("TEST_SRCDIR"), "/mmapio/tests/libguarded_plugin.so");
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  using Open = void* (*)(const char*);
  using Load = int (*)(void*, uint64_t);
  using Close = void (*)(void*);
  auto open = reinterpret_cast<Open>(dlsym(handle, "mmapio_plugin_open"));
  auto load =
      reinterpret_cast<Load>(dlsym(handle, "mmapio_plugin_guarded_load"));
  auto close = reinterpret_cast<Close>(dlsym(handle, "mmapio_plugin_close"));
  ASSERT_TRUE(open != nullptr && load != nullptr && close != nullptr)
      << dlerror();

  const std::string path = testing::MakeTempDir() + "/data";
  testing::WritePatternFile(path, 4 * 4096);
  void* region = open(path.c_str());
  ASSERT_NE(region, nullptr);
  EXPECT_EQ(load(region, 3 * 4096), static_cast<int>(absl::StatusCode::kOk));
  // Truncated under the library's mapping: it faults, on fresh threads whose
  // thread-local state the library has never touched.
  ASSERT_EQ(truncate(path.c_str(), 4096), 0);
  std::vector<std::thread> threads;
  std::vector<int> codes(8, -1);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] { codes[i] = load(region, 2 * 4096 + 8 * i); });
  }
  for (std::thread& thread : threads) thread.join();
  for (int code : codes) {
    EXPECT_EQ(code, static_cast<int>(absl::StatusCode::kOutOfRange));
  }
  EXPECT_EQ(load(region, 100), static_cast<int>(absl::StatusCode::kOk));
  close(region);
  dlclose(handle);
}

}  // namespace
}  // namespace mmapio
