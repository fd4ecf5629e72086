// What the engines do on Windows only: the windows backend by default,
// io_uring refused, and fd() a handle that Windows waits on.

#include <windows.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/async_engine.h"
#include "mmapio/prefetch.h"
#include "mmapio/region.h"
#include "tests/status_matchers.h"
#include "tests/test_directory.h"

namespace mmapio {
namespace {

using ::mmapio::testing::IsOk;
using ::mmapio::testing::StatusIs;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

std::string MakeFile() {
  const fs::path dir = mmapio::testing::TestDirectory();
  const std::string path = (dir / "f").string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << std::string(64 * 4096, 'w');
  return path;
}

TEST(AsyncWindowsTest, TheWindowsBackendIsTheDefault) {
  absl::StatusOr<std::unique_ptr<PrefetchEngine>> engine =
      PrefetchEngine::Create();
  ASSERT_THAT(engine, IsOk());
  EXPECT_EQ((*engine)->backend(), PrefetchBackend::kWindows);
  EXPECT_EQ(PrefetchBackendName((*engine)->backend()), "windows");
  EXPECT_THAT(PrefetchEngine::Create({.backend = PrefetchBackend::kIoUring}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("Linux")));
}

TEST(AsyncWindowsTest, FdIsAHandleThatIsSignaledWhenPollHasWork) {
  absl::StatusOr<Region> region = Region::Open(MakeFile());
  ASSERT_THAT(region, IsOk());
  absl::StatusOr<std::unique_ptr<AsyncEngine>> engine = AsyncEngine::Create();
  ASSERT_THAT(engine, IsOk());
  const HANDLE handle =
      reinterpret_cast<HANDLE>(static_cast<intptr_t>((*engine)->fd()));
  EXPECT_EQ(WaitForSingleObject(handle, 0), static_cast<DWORD>(WAIT_TIMEOUT));
  int done = 0;
  for (uint64_t page = 0; page < 64; page += 8) {
    (*engine)->EnsureResident(*region, {page * 4096, 4096},
                              [&done](absl::StatusOr<ResidentView> view) {
                                EXPECT_THAT(view, IsOk());
                                ++done;
                              });
  }
  while (done < 8) {
    ASSERT_EQ(WaitForSingleObject(handle, INFINITE),
              static_cast<DWORD>(WAIT_OBJECT_0));
    (*engine)->Poll();
  }
  // Nothing left: the handle is no longer signaled.
  EXPECT_EQ((*engine)->Poll(), 0u);
  EXPECT_EQ(WaitForSingleObject(handle, 0), static_cast<DWORD>(WAIT_TIMEOUT));
}

}  // namespace
}  // namespace mmapio
