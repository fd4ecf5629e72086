// Runs the mmapio binary on real files and checks what it prints.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/region.h"
#include "tests/test_util.h"

namespace mmapio {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout, then stderr.
};

CliRun RunMmapio(const std::string& args) {
  const std::string binary =
      absl::StrCat(getenv("TEST_SRCDIR"), "/mmapio/tools/mmapio");
  const std::string command = absl::StrCat(binary, " ", args, " 2>&1");
  CliRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) {
    run.out.append(buffer.data(), n);
  }
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// The RESIDENT column of the line that ends with `name`.
std::string ResidentColumn(const std::string& out, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (!absl::EndsWith(line, name)) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() >= 3) return std::string(fields[2]);
  }
  return "";
}

class CliTest : public ::testing::Test {
 protected:
  const std::string dir_ = testing::MakeTempDir();
};

TEST_F(CliTest, HelpForToolAndCommand) {
  CliRun run = RunMmapio("--help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("usage: mmapio COMMAND"));
  run = RunMmapio("stat --help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("usage: mmapio stat"));
  EXPECT_THAT(run.out, HasSubstr("examples:"));
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunMmapio("").exit_code, 2);
  EXPECT_EQ(RunMmapio("frobnicate x").exit_code, 2);
  EXPECT_EQ(RunMmapio("stat").exit_code, 2);
}

TEST_F(CliTest, StatCountsResidentPages) {
  const std::string path = dir_ + "/file";
  testing::WritePatternFile(path, 64 * 4096);
  {
    absl::StatusOr<Region> region = Region::Open(path);
    ASSERT_TRUE(region.ok());
    ASSERT_TRUE(region->Evict().ok());
    ASSERT_TRUE(region->Advise(Advice::kRandom).ok());
    for (int page = 0; page < 10; ++page) {
      EXPECT_EQ(static_cast<char>(region->bytes()[page * 4096]),
                testing::PatternByte(page * 4096));
    }
  }
  const CliRun run = RunMmapio(absl::StrCat("stat --bytes ", path));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(ResidentColumn(run.out, path), "10") << run.out;
  EXPECT_THAT(run.out, HasSubstr("262144"));
  EXPECT_THAT(run.out, HasSubstr("total (1 files"));
}

TEST_F(CliTest, StatWalksDirectoriesAndReportsBadFiles) {
  ASSERT_EQ(system(absl::StrCat("mkdir -p ", dir_, "/tree/sub").c_str()), 0);
  testing::WritePatternFile(dir_ + "/tree/a", 4096);
  testing::WritePatternFile(dir_ + "/tree/sub/b", 8192);
  testing::WritePatternFile(dir_ + "/tree/empty", 0);
  CliRun run = RunMmapio(absl::StrCat("stat ", dir_, "/tree /proc/self/status ",
                                   dir_, "/missing"));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_THAT(run.out, HasSubstr(dir_ + "/tree/a"));
  EXPECT_THAT(run.out, HasSubstr(dir_ + "/tree/sub/b"));
  EXPECT_THAT(run.out, HasSubstr("total (3 files"));
  EXPECT_THAT(run.out, HasSubstr("/proc/self/status\" [0, end): is a procfs"));
  EXPECT_THAT(run.out, HasSubstr("/missing\" [0, end): open: No such file"));

  run = RunMmapio(absl::StrCat("stat --no-recurse ", dir_, "/tree"));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("is a directory"));
  EXPECT_THAT(run.out, Not(HasSubstr("tree/a")));
}

}  // namespace
}  // namespace mmapio
