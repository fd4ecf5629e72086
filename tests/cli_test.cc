// Runs the mmapio binary on real files and checks what it prints.

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/region.h"
#include "tests/json_fields.h"
#include "tests/test_util.h"

namespace mmapio {
namespace {

using ::mmapio::testing::JsonFields;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr uint64_t kPage = 4096;

std::string Binary() {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/mmapio/tools/mmapio");
}

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout, then stderr when `merge_stderr`.
};

// Runs `command` with the shell; "mmapio" at its start is the binary under
// test.
CliRun Shell(const std::string& command, bool merge_stderr = true) {
  std::string full = command;
  if (full == "mmapio" || absl::StartsWith(full, "mmapio "))
    full = Binary() + full.substr(6);
  if (merge_stderr) full += " 2>&1";
  CliRun run;
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe))
    run.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// The whitespace-separated fields of the first line that ends with `suffix`.
std::vector<std::string> RowEndingWith(const std::string& out,
                                       const std::string& suffix) {
  for (const std::string& line : Lines(out)) {
    if (absl::EndsWith(line, suffix))
      return absl::StrSplit(line, ' ', absl::SkipEmpty());
  }
  return {};
}

uint64_t Number(const std::string& text) {
  uint64_t value = 0;
  EXPECT_TRUE(absl::SimpleAtoi(text, &value)) << text;
  return value;
}

class CliTest : public ::testing::Test {
 protected:
  // A 256-page file with pages [16, 48), [100, 101) and [200, 256) resident.
  std::string PartialFile(const std::string& name = "partial") {
    const std::string path = dir_ + "/" + name;
    testing::WritePatternFile(path, 256 * kPage);
    pins_.push_back(
        testing::MakeResident(path, {{16, 48}, {100, 101}, {200, 256}}));
    return path;
  }

  const std::string dir_ = testing::MakeTempDir();
  // Keeps the resident pages of PartialFile()s resident; cleared by tests
  // that evict them.
  std::vector<testing::PinnedPages> pins_;
};

TEST_F(CliTest, HelpForToolAndEveryCommand) {
  CliRun run = Shell("mmapio --help");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("usage: mmapio COMMAND"));
  for (const char* command :
       {"stat", "map", "touch", "evict", "lock", "watch"}) {
    run = Shell(absl::StrCat("mmapio ", command, " --help"));
    EXPECT_EQ(run.exit_code, 0) << command;
    EXPECT_THAT(run.out, StartsWith(absl::StrCat("usage: mmapio ", command)));
    EXPECT_THAT(run.out, HasSubstr("examples:"));
  }
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Shell("mmapio").exit_code, 2);
  EXPECT_EQ(Shell("mmapio frobnicate x").exit_code, 2);
  EXPECT_EQ(Shell("mmapio stat").exit_code, 2);
  EXPECT_EQ(Shell("mmapio stat --range=9-3 x").exit_code, 2);
  EXPECT_EQ(Shell("mmapio stat --max-size=lots x").exit_code, 2);
  EXPECT_EQ(Shell("mmapio touch --jobs=0 x").exit_code, 2);
  EXPECT_EQ(Shell("mmapio stat -0 x").exit_code, 2);
  EXPECT_EQ(Shell("mmapio stat --no-such-flag x").exit_code, 2);
  EXPECT_EQ(Shell("mmapio touch --jobs=many x").exit_code, 2);
  EXPECT_EQ(Shell("mmapio watch --interval x").exit_code, 2);
}

TEST_F(CliTest, ConventionsOfACommandLineTool) {
  const std::string path = PartialFile();
  CliRun run = Shell("mmapio --version", false);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, StartsWith("mmapio 0."));
  EXPECT_EQ(Shell("mmapio -V", false).out, run.out);
  // "help COMMAND" is "COMMAND --help".
  for (const char* command :
       {"stat", "map", "touch", "evict", "lock", "watch"}) {
    run = Shell(absl::StrCat("mmapio help ", command), false);
    EXPECT_EQ(run.exit_code, 0) << command;
    EXPECT_EQ(run.out,
              Shell(absl::StrCat("mmapio ", command, " --help"), false).out);
  }
  EXPECT_EQ(Shell("mmapio help frobnicate").exit_code, 2);
  // Unknown options, short or long, and options of another command are
  // usage errors that name the option and print nothing on stdout.
  const struct {
    std::string args;
    std::string message;
  } kCases[] = {
      {"stat -v", "mmapio stat: unknown option -v"},
      {"stat -x -y", "mmapio stat: unknown option -x"},
      {"stat --verbose-please", "mmapio stat: unknown option --verbose-please"},
      {"stat --runs", "mmapio stat: --runs is not an option of stat"},
      {"watch --summary", "mmapio watch: --summary is not an option of watch"},
      {"map --jobs=3", "mmapio map: --jobs is not an option of map"},
      {"stat --flagfile=/dev/null", "mmapio stat: unknown option --flagfile"},
      {"touch --progress --no-progress", "opposite"},
      {"watch --color=sometimes", "--color=sometimes: give auto, always or"},
  };
  for (const auto& [args, message] : kCases) {
    run = Shell(absl::StrCat("mmapio ", args, " ", path, " 2>&1 >/dev/null"),
                false);
    EXPECT_EQ(run.exit_code, 2) << args;
    EXPECT_THAT(run.out, HasSubstr(message)) << args;
    run = Shell(absl::StrCat("mmapio ", args, " ", path), false);
    EXPECT_EQ(run.out, "") << args;
  }
  // A path that starts with "-" goes after "--".
  ASSERT_EQ(symlink(path.c_str(), (dir_ + "/-v").c_str()), 0);
  run = Shell(absl::StrCat("cd ", dir_, " && ", Binary(), " stat -- -v"));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  // A bare number is seconds.
  run = Shell("mmapio watch --count=2 --interval=0.01 " + path);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("round 2"));
}

TEST_F(CliTest, SummaryIsOneLineForEverythingNamed) {
  const std::string path = PartialFile();
  const std::string tree = dir_ + "/tree";
  ASSERT_EQ(mkdir(tree.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((tree + "/sub").c_str(), 0755), 0);
  testing::WritePatternFile(tree + "/a", 8192);
  testing::WritePatternFile(tree + "/sub/b", 4096);
  for (const char* command : {"stat", "touch", "evict"}) {
    CliRun run =
        Shell(absl::StrCat("mmapio ", command, " --summary ", tree, " ", path),
              false);
    EXPECT_EQ(run.exit_code, 0) << command;
    ASSERT_EQ(Lines(run.out).size(), 1u) << command << ": " << run.out;
    EXPECT_THAT(run.out, StartsWith("3 files: ")) << command;
    run = Shell(
        absl::StrCat("mmapio ", command, " --summary --json ", tree, " ", path),
        false);
    ASSERT_EQ(Lines(run.out).size(), 1u) << command << ": " << run.out;
    EXPECT_EQ(JsonFields(run.out)["files"], "3") << command;
  }
  CliRun run = Shell("mmapio stat --summary --json --bytes " + tree, false);
  std::map<std::string, std::string> fields = JsonFields(run.out);
  EXPECT_EQ(fields["size_bytes"], "12288");
  EXPECT_EQ(fields["pages"], "3");
  EXPECT_EQ(fields["resident_pages"], "0");  // Evicted just above.
  EXPECT_EQ(fields["resident_bytes"], "0");
  // touch lists only the files it loaded, unless --verbose.
  run = Shell("mmapio touch " + tree, false);
  EXPECT_EQ(Lines(run.out).size(), 4u) << run.out;  // Header, 2, total.
  run = Shell("mmapio touch " + tree, false);
  EXPECT_EQ(Lines(run.out).size(), 2u) << run.out;  // Header, total.
  EXPECT_THAT(run.out, HasSubstr("total (2 files)"));
  run = Shell("mmapio touch --verbose " + tree, false);
  EXPECT_EQ(Lines(run.out).size(), 4u) << run.out;
}

TEST_F(CliTest, StatCountsMatchMincoreFincoreAndVmtouch) {
  const std::string path = PartialFile();
  const uint64_t truth = testing::MincoreResidentPages(path);
  ASSERT_EQ(truth, 89u);
  CliRun run = Shell("mmapio stat --bytes " + path);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  const std::vector<std::string> row = RowEndingWith(run.out, path);
  ASSERT_GE(row.size(), 5u) << run.out;
  EXPECT_EQ(row[0], "1048576");
  EXPECT_EQ(row[1], "256");
  EXPECT_EQ(Number(row[2]), truth);
  EXPECT_EQ(Number(row[3]), truth * kPage);
  EXPECT_EQ(row[4], "34.8%");

  // The tools users compare against, when installed.
  const CliRun fincore =
      Shell("fincore --noheadings --output PAGES " + path, false);
  if (fincore.exit_code == 0) {
    EXPECT_EQ(Number(std::string(absl::StripAsciiWhitespace(fincore.out))),
              truth);
  } else {
    GTEST_LOG_(INFO) << "fincore not installed; compared with mincore only";
  }
  const CliRun vmtouch = Shell("vmtouch " + path, false);
  if (vmtouch.exit_code == 0) {
    EXPECT_THAT(vmtouch.out,
                HasSubstr(absl::StrCat("Resident Pages: ", truth, "/256")));
  } else {
    GTEST_LOG_(INFO) << "vmtouch not installed; compared with mincore only";
  }
}

TEST_F(CliTest, StatJsonSchema) {
  const std::string path = PartialFile();
  const std::string empty = dir_ + "/empty";
  testing::WritePatternFile(empty, 0);
  const CliRun run =
      Shell(absl::StrCat("mmapio stat --json ", path, " ", empty), false);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  const std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 3u) << run.out;
  std::map<std::string, std::string> file = JsonFields(lines[0]);
  EXPECT_EQ(file["path"], "\"" + path + "\"");
  EXPECT_EQ(file["size_bytes"], "1048576");
  EXPECT_EQ(file["pages"], "256");
  EXPECT_EQ(file["resident_pages"], "89");
  EXPECT_EQ(file["resident_bytes"], absl::StrCat(89 * kPage));
  EXPECT_EQ(file["dirty_pages"], "0");
  EXPECT_EQ(file["writeback_pages"], "0");
  EXPECT_TRUE(file.count("evicted_pages"));
  EXPECT_TRUE(file.count("recently_evicted_pages"));
  EXPECT_EQ(file["source"], "\"cachestat\"");
  std::map<std::string, std::string> empty_line = JsonFields(lines[1]);
  EXPECT_EQ(empty_line["pages"], "0");
  EXPECT_EQ(empty_line["resident_pages"], "0");
  std::map<std::string, std::string> total = JsonFields(lines[2]);
  ASSERT_TRUE(total.count("total")) << lines[2];
  std::map<std::string, std::string> sums = JsonFields(total["total"]);
  EXPECT_EQ(sums["files"], "2");
  EXPECT_EQ(sums["pages"], "256");
  EXPECT_EQ(sums["resident_pages"], "89");
  EXPECT_EQ(sums["resident_bytes"], absl::StrCat(89 * kPage));
  EXPECT_EQ(sums["dirty_pages"], "0");
}

TEST_F(CliTest, StatRange) {
  const std::string path = PartialFile();
  CliRun run = Shell("mmapio stat --json --range=64k-200k " + path);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  std::map<std::string, std::string> file = JsonFields(Lines(run.out)[0]);
  EXPECT_EQ(file["pages"], "34");  // Pages 16..49.
  EXPECT_EQ(file["resident_pages"], "32");
  run = Shell("mmapio stat --range=2M- " + path);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("starts past the end"));
}

TEST_F(CliTest, StatWalksThousandsOfFilesOnceEach) {
  const std::string tree = dir_ + "/tree";
  ASSERT_EQ(
      system(absl::StrCat("mkdir -p ", tree, "/a/b ", tree, "/c").c_str()), 0);
  for (int i = 0; i < 3000; ++i) {
    const char* sub = i % 3 == 0 ? "/a/b/" : i % 3 == 1 ? "/c/" : "/";
    testing::WritePatternFile(absl::StrCat(tree, sub, "f", i, ".dat"),
                              4096 + i);
  }
  ASSERT_EQ(
      link((tree + "/f2.dat").c_str(), (tree + "/c/hardlink.dat").c_str()), 0);
  ASSERT_EQ(symlink((tree + "/a").c_str(), (tree + "/c/link-to-a").c_str()), 0);
  CliRun run = Shell("mmapio stat --json " + tree, false);
  EXPECT_EQ(run.exit_code, 0);
  std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 3001u);
  EXPECT_EQ(JsonFields(JsonFields(lines.back())["total"])["files"], "3000");
  EXPECT_THAT(run.out, Not(HasSubstr("link-to-a")));

  // --follow walks the link, but files reached twice still count once.
  run = Shell("mmapio stat --json --follow " + tree, false);
  EXPECT_EQ(JsonFields(JsonFields(Lines(run.out).back())["total"])["files"],
            "3000");

  run = Shell(
      absl::StrCat("mmapio stat --json --include='*7.dat' --exclude='*/a/*' ",
                   tree),
      false);
  EXPECT_EQ(run.exit_code, 0);
  for (const std::string& line : Lines(run.out)) {
    if (absl::StartsWith(line, "{\"total\"")) continue;
    EXPECT_THAT(line, HasSubstr("7.dat\""));
    EXPECT_THAT(line, Not(HasSubstr("/a/")));
  }
  EXPECT_EQ(JsonFields(JsonFields(Lines(run.out).back())["total"])["files"],
            "200");

  run = Shell(absl::StrCat("mmapio stat --json --max-size=4100 ", tree), false);
  EXPECT_EQ(JsonFields(JsonFields(Lines(run.out).back())["total"])["files"],
            "5");
}

TEST_F(CliTest, StatTakesFileListsFromFilesAndStdin) {
  const std::string a = PartialFile("a");
  const std::string b = PartialFile("b");
  std::ofstream(dir_ + "/list") << a << "\n" << b << "\n";
  CliRun run = Shell(
      absl::StrCat("mmapio stat --json --files-from=", dir_, "/list"), false);
  EXPECT_EQ(JsonFields(JsonFields(Lines(run.out).back())["total"])["files"],
            "2");
  run = Shell(absl::StrCat("printf '%s\\0%s\\0' ", a, " ", b, " | ", Binary(),
                           " stat --json --files-from=- -0"),
              false);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_EQ(JsonFields(JsonFields(Lines(run.out).back())["total"])["files"],
            "2");
}

TEST_F(CliTest, BadFilesAreReportedAndTheRestProcessed) {
  const std::string tree = dir_ + "/tree";
  ASSERT_EQ(mkdir(tree.c_str(), 0755), 0);
  testing::WritePatternFile(tree + "/good", 8192);
  ASSERT_EQ(mkfifo((tree + "/fifo").c_str(), 0600), 0);
  CliRun run = Shell(absl::StrCat("mmapio stat ", tree, " /proc/self/status ",
                                  dir_, "/missing"));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_THAT(run.out, HasSubstr(tree + "/good"));
  EXPECT_THAT(run.out, HasSubstr("total (1 file)"));
  // Errors in the user's words: the file, the call that failed, no internal
  // function names, no range when it is the whole file.
  EXPECT_THAT(run.out,
              HasSubstr("mmapio stat: \"" + tree + "/fifo\": is a FIFO"));
  EXPECT_THAT(run.out, HasSubstr("\"/proc/self/status\": is a procfs"));
  EXPECT_THAT(run.out, HasSubstr("mmapio stat: open \"" + dir_ +
                                 "/missing\": No such file"));
  EXPECT_THAT(run.out, Not(HasSubstr("SummarizeFile")));
  run = Shell("mmapio stat --no-recurse " + tree);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("is a directory"));
}

// Run as an unprivileged user: an unreadable file fails, and files it cannot
// write get no residency numbers, never mincore's all-resident claim.
TEST_F(CliTest, UnprivilegedRunsAreHonest) {
  char dir[] = "/tmp/mmapio-cli.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  ASSERT_EQ(chmod(dir, 0755), 0);
  const std::string readable = std::string(dir) + "/readable";
  const std::string secret = std::string(dir) + "/secret";
  testing::WritePatternFile(readable, 64 * kPage);
  testing::WritePatternFile(secret, kPage);
  testing::PinnedPages pinned = testing::MakeResident(readable, {{0, 4}});
  ASSERT_EQ(chmod(readable.c_str(), 0644), 0);
  ASSERT_EQ(chmod(secret.c_str(), 0600), 0);
  std::string binary = std::string(dir) + "/mmapio";
  ASSERT_EQ(system(absl::StrCat("cp ", Binary(), " ", binary).c_str()), 0);
  const CliRun who = Shell("command -v setpriv");
  if (who.exit_code != 0)
    GTEST_SKIP() << "setpriv (util-linux) is not installed";
  const std::string as_nobody =
      "setpriv --reuid=65534 --regid=65534 --clear-groups " + binary;
  CliRun run = Shell(as_nobody + " stat --json " + dir);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_THAT(
      run.out,
      HasSubstr("\"path\":\"" + readable +
                "\",\"size_bytes\":262144,\"pages\":64,\"resident_pages\":null,"
                "\"resident_bytes\":null,\"source\":null"));
  EXPECT_THAT(run.out, HasSubstr("open \"" + secret + "\": Permission denied"));
  EXPECT_THAT(run.out, HasSubstr("the kernel hides the page cache"));
  run = Shell(as_nobody + " map --runs " + readable);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("residency is unknown"));
  EXPECT_EQ(Shell(absl::StrCat("rm -rf ", dir)).exit_code, 0);
}

TEST_F(CliTest, MapDrawsBucketsAndListsRuns) {
  const std::string path = PartialFile();
  // 256 pages in 64 buckets of 4 pages: 16..48 resident, 100 alone, 200..256.
  CliRun run = Shell("mmapio map --width=66 " + path);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  const std::string bar = "[" + std::string(4, ' ') + std::string(8, '#') +
                          std::string(13, ' ') + "." + std::string(24, ' ') +
                          std::string(14, '#') + "]";
  EXPECT_THAT(run.out, HasSubstr("\n" + bar + "\n")) << run.out;
  EXPECT_THAT(run.out, HasSubstr("89/256 pages resident"));

  run = Shell("mmapio map --runs " + path);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("missing   [0, 65536)  pages 0-15"));
  EXPECT_THAT(run.out, HasSubstr("missing   [196608, 409600)  pages 48-99"));
  EXPECT_THAT(run.out, HasSubstr("missing   [413696, 819200)  pages 101-199"));
  EXPECT_THAT(run.out, HasSubstr("3 missing runs, 167 pages"));

  run = Shell("mmapio map --runs --resident --json --range=0-420k " + path,
              false);
  EXPECT_EQ(Lines(run.out),
            (std::vector<std::string>{
                absl::StrCat("{\"path\":\"", path,
                             "\",\"offset\":65536,\"length\":131072,\"pages\":"
                             "32,\"resident\":true}"),
                absl::StrCat("{\"path\":\"", path,
                             "\",\"offset\":409600,\"length\":4096,\"pages\":1,"
                             "\"resident\":true}")}));

  run = Shell("mmapio map --json --width=10 " + path, false);
  std::map<std::string, std::string> fields = JsonFields(Lines(run.out)[0]);
  EXPECT_EQ(fields["resident_pages"], "89");
  EXPECT_EQ(fields["buckets"], "[0.5,0.5,0,0.0312,0,0,0.75,1]");
}

TEST_F(CliTest, TouchLoadsOnlyMissingPages) {
  const std::string path = PartialFile();
  CliRun run = Shell("mmapio touch --json " + path, false);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  std::map<std::string, std::string> fields = JsonFields(Lines(run.out)[0]);
  EXPECT_EQ(fields["missing_pages"], "167");
  EXPECT_EQ(fields["loaded_pages"], "167");
  EXPECT_EQ(fields["failed_pages"], "0");
  EXPECT_EQ(testing::MincoreResidentPages(path), 256u);

  pins_.clear();
  (void)testing::MakeResident(path, {});
  run = Shell("mmapio touch --range=100k-200k " + path);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  // Pages 25..49: MISSING, LOADED, LOADED-SIZE, FAILED.
  EXPECT_THAT(run.out, ContainsRegex("  25 +25 +100.0 KiB +0 +[0-9.]+  /"));
  const std::vector<bool> pages = testing::MincorePages(path);
  for (uint64_t i = 0; i < 256; ++i)
    EXPECT_EQ(pages[i], i >= 25 && i < 50) << i;
}

TEST_F(CliTest, EvictDropsPages) {
  const std::string path = PartialFile();
  pins_.clear();  // Pinned pages cannot be evicted.
  CliRun run = Shell("mmapio evict --json --range=0-400k " + path, false);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  std::map<std::string, std::string> fields = JsonFields(Lines(run.out)[0]);
  EXPECT_EQ(fields["resident_pages_before"], "32");
  EXPECT_EQ(fields["resident_pages_after"], "0");
  EXPECT_EQ(fields["evicted_pages"], "32");
  EXPECT_EQ(testing::MincoreResidentPages(path), 57u);
  run = Shell("mmapio evict " + path);
  // BEFORE, AFTER, EVICTED, EVICTED-SIZE.
  EXPECT_THAT(run.out, ContainsRegex(" 57 +0 +57 +228.0 KiB  /"));
  EXPECT_EQ(testing::MincoreResidentPages(path), 0u);
}

// Waits up to ten seconds for `path` to exist and hold a number.
pid_t WaitForPidfile(const std::string& path) {
  for (int i = 0; i < 1000; ++i) {
    std::ifstream in(path);
    std::string text;
    if (std::getline(in, text)) {
      pid_t pid = 0;
      if (absl::SimpleAtoi(text, &pid)) return pid;
    }
    usleep(10000);
  }
  return 0;
}

int64_t LockedKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "VmLck:")) {
      int64_t kb = -1;
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, " kB");
      if (absl::SimpleAtoi(rest, &kb)) return kb;
    }
  }
  return -1;
}

TEST_F(CliTest, LockHoldsPagesUntilInterrupted) {
  const std::string path = PartialFile();
  const std::string pidfile = dir_ + "/lock.pid";
  const std::string command =
      absl::StrCat(Binary(), " lock --pidfile=", pidfile, " ", path, " > ",
                   dir_, "/lock.out");
  const pid_t shell = fork();
  ASSERT_GE(shell, 0);
  if (shell == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), nullptr);
    _exit(127);
  }
  const pid_t pid = WaitForPidfile(pidfile);
  ASSERT_EQ(pid, shell);
  EXPECT_EQ(LockedKb(pid), 1024);
  EXPECT_EQ(testing::MincoreResidentPages(path), 256u);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(access(pidfile.c_str(), F_OK), 0);
  std::ifstream out(dir_ + "/lock.out");
  std::string line;
  std::getline(out, line);
  EXPECT_EQ(line, "locked 1 file, 1.0 MiB; interrupt to unlock");
}

TEST_F(CliTest, LockDaemonDetachesAndStopsOnSignal) {
  const std::string path = PartialFile();
  const std::string pidfile = dir_ + "/daemon.pid";
  CliRun run = Shell(
      absl::StrCat("mmapio lock --daemon --pidfile=", pidfile, " ", path));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  const pid_t pid = WaitForPidfile(pidfile);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(LockedKb(pid), 1024);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  for (int i = 0; i < 1000 && kill(pid, 0) == 0; ++i) usleep(10000);
  EXPECT_NE(kill(pid, 0), 0);
  EXPECT_NE(access(pidfile.c_str(), F_OK), 0);
}

TEST_F(CliTest, LockOverTheLimitNamesIt) {
  const std::string path = PartialFile();
  const CliRun who = Shell("command -v setpriv");
  if (who.exit_code != 0)
    GTEST_SKIP() << "setpriv (util-linux) is not installed";
  // Without CAP_IPC_LOCK and with a 64 KiB limit, 1 MiB cannot be locked.
  CliRun run =
      Shell(absl::StrCat("prlimit --memlock=65536 setpriv --inh-caps=-all "
                         "--bounding-set=-ipc_lock ",
                         Binary(), " lock --daemon ", path));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_THAT(run.out, HasSubstr("RLIMIT_MEMLOCK (65536 bytes"));
  EXPECT_THAT(run.out, HasSubstr("mmapio lock: mlock \"" + path + "\""));
}

TEST_F(CliTest, WatchReportsRoundsWithDeltas) {
  const std::string path = PartialFile();
  CliRun run =
      Shell("mmapio watch --json --count=3 --interval=10ms " + path, false);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  const std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 4u);
  for (int round = 1; round <= 3; ++round) {
    std::map<std::string, std::string> fields = JsonFields(lines[round - 1]);
    EXPECT_EQ(fields["round"], absl::StrCat(round));
    EXPECT_EQ(fields["resident_pages"], "89");
    EXPECT_EQ(fields["thrashing"], "false");
  }
  EXPECT_EQ(lines[3],
            "{\"total\":{\"rounds\":3,\"files\":1,\"pages\":256,"
            "\"resident_pages\":89}}");
  run = Shell("mmapio watch --count=2 --interval=10ms " + path);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("round 2"));
  EXPECT_THAT(run.out,
              HasSubstr("total (1 file, 2 rounds): 89 of 256 pages resident"));
}

// Starts `command` with the shell, which execs it, with its output in
// `out_path`; returns its process id.
pid_t Start(const std::string& command, const std::string& out_path) {
  const std::string full = absl::StrCat("exec ", command, " > ", out_path);
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", full.c_str(), nullptr);
    _exit(127);
  }
  return pid;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Waits up to ten seconds for `path` to hold `lines` lines.
void WaitForLines(const std::string& path, size_t lines) {
  for (int i = 0; i < 1000 && Lines(ReadWholeFile(path)).size() < lines; ++i)
    usleep(10000);
}

TEST_F(CliTest, WatchEndsCleanlyOnSigintAndSigterm) {
  const std::string path = PartialFile();
  for (const int signal_number : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(strsignal(signal_number));
    const std::string out =
        absl::StrCat(dir_, "/watch-", signal_number, ".out");
    const pid_t pid = Start(
        absl::StrCat(Binary(), " watch --json --interval=20ms ", path), out);
    ASSERT_GT(pid, 0);
    WaitForLines(out, 2);
    ASSERT_EQ(kill(pid, signal_number), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
    EXPECT_EQ(WEXITSTATUS(status), 0);
    const std::vector<std::string> lines = Lines(ReadWholeFile(out));
    ASSERT_GE(lines.size(), 3u);
    std::map<std::string, std::string> total =
        JsonFields(JsonFields(lines.back())["total"]);
    EXPECT_EQ(total["rounds"], absl::StrCat(lines.size() - 1));
    EXPECT_EQ(total["files"], "1");
    EXPECT_EQ(total["pages"], "256");
    EXPECT_EQ(total["resident_pages"], "89");
  }
}

// A real terminal: a tmux server of the test's own, with one window of
// `columns` x `rows` running an interactive shell, and everything written to
// it logged raw.
class Terminal {
 public:
  Terminal(int columns, int rows, const std::string& log)
      : tmux_(absl::StrCat("tmux -L mmapio-cli-", getpid(), " -f /dev/null")),
        log_(log) {
    started_ =
        Shell(absl::StrCat(tmux_, " new-session -d -x ", columns, " -y ", rows,
                           " 'bash --norc --noprofile -i'"))
                .exit_code == 0 &&
        Shell(tmux_ + " pipe-pane -o 'cat >> " + log_ + "'").exit_code == 0;
  }
  ~Terminal() { Shell(tmux_ + " kill-server"); }

  bool started() const { return started_; }
  // Types `line` and Enter, after clearing the screen and its history.
  void Run(const std::string& line) {
    Keys("'clear' Enter");
    Shell(tmux_ + " clear-history");
    Keys("'" + line + "; echo exit=$?' Enter");
  }
  void Keys(const std::string& keys) { Shell(tmux_ + " send-keys " + keys); }
  // What a person sees now.
  std::string Screen() { return Shell(tmux_ + " capture-pane -p").out; }
  // How many lines scrolled off the top into the terminal's history.
  int HistoryLines() {
    int lines = -1;
    (void)absl::SimpleAtoi(
        absl::StripAsciiWhitespace(
            Shell(tmux_ + " display-message -p '#{history_size}'").out),
        &lines);
    return lines;
  }
  // Waits up to ten seconds for the screen to show `text`.
  bool WaitFor(const std::string& text) {
    for (int i = 0; i < 1000; ++i) {
      if (absl::StrContains(Screen(), text)) return true;
      usleep(10000);
    }
    return false;
  }
  // Waits up to ten seconds for the command to end.
  bool WaitForExit() {
    for (int i = 0; i < 1000; ++i) {
      if (!ExitLines().empty()) return true;
      usleep(10000);
    }
    return false;
  }
  // The lines the shell printed for "echo exit=$?", not the command line.
  std::vector<std::string> ExitLines() {
    std::vector<std::string> found;
    for (const std::string& line : Lines(Screen())) {
      // "exit=$?" is the command line's own, wrapped.
      int code = 0;
      if (absl::StartsWith(line, "exit=") &&
          absl::SimpleAtoi(line.substr(5), &code)) {
        found.push_back(line);
      }
    }
    return found;
  }
  std::string Log() { return ReadWholeFile(log_); }

 private:
  const std::string tmux_;
  const std::string log_;
  bool started_ = false;
};

#define SKIP_WITHOUT_TMUX()                      \
  if (Shell("command -v tmux").exit_code != 0) { \
    GTEST_SKIP() << "tmux is not installed";     \
  }

// Ctrl-C in a real terminal, at an interactive shell: the redrawn table
// gives way to the totals and the shell sees a clean exit.
TEST_F(CliTest, WatchEndsCleanlyOnCtrlCInATerminal) {
  SKIP_WITHOUT_TMUX();
  const std::string path = PartialFile();
  Terminal terminal(120, 40, dir_ + "/terminal.log");
  ASSERT_TRUE(terminal.started());
  terminal.Run(Binary() + " watch --interval=20ms " + path);
  ASSERT_TRUE(terminal.WaitFor("round 3")) << terminal.Screen();
  terminal.Keys("C-c");
  ASSERT_TRUE(terminal.WaitForExit()) << terminal.Screen();
  const std::string shown = terminal.Screen();
  EXPECT_EQ(terminal.ExitLines(), std::vector<std::string>{"exit=0"}) << shown;
  EXPECT_THAT(shown, HasSubstr("total (1 file, "));
  EXPECT_THAT(shown, HasSubstr("89 of 256 pages resident"));
}

// watch on more files than an 80x24 terminal has rows: what a person sees
// is the header, the files that changed most, and the total row, redrawn in
// place; nothing scrolls into the terminal's history.
TEST_F(CliTest, WatchFitsTheTerminal) {
  SKIP_WITHOUT_TMUX();
  const std::string tree = dir_ + "/many";
  ASSERT_EQ(mkdir(tree.c_str(), 0755), 0);
  for (int i = 0; i < 60; ++i) {
    testing::WritePatternFile(absl::StrFormat("%s/f%02d", tree, i), 4 * kPage);
  }
  Terminal terminal(80, 24, dir_ + "/terminal.log");
  ASSERT_TRUE(terminal.started());
  // The long paths of the test's directory are shortened to fit.
  terminal.Run(Binary() + " watch --interval=20ms --color=never " + tree);
  ASSERT_TRUE(terminal.WaitFor("round 4")) << terminal.Screen();
  const std::string shown = terminal.Screen();
  // Redrawn in place: nothing scrolled into the history.
  EXPECT_EQ(terminal.HistoryLines(), 0);
  terminal.Keys("C-c");
  EXPECT_TRUE(terminal.WaitForExit()) << terminal.Screen();

  const std::vector<std::string> lines = Lines(shown);
  EXPECT_LE(lines.size(), 24u) << shown;
  // Title, header, 20 files, total: 23 rows, and the cursor's.
  EXPECT_THAT(shown, HasSubstr("(20 of 60 files, the most changed)"));
  EXPECT_THAT(shown,
              ContainsRegex("PAGES +RESIDENT +RES% +RECENT-EVICT +PATH"));
  EXPECT_THAT(shown, HasSubstr("total (60 files)"));
  int file_rows = 0;
  for (const std::string& line : lines) {
    EXPECT_LT(line.size(), 80u) << line;
    if (absl::StartsWith(line, "       4") && absl::StrContains(line, "/f")) {
      ++file_rows;
    }
  }
  EXPECT_EQ(file_rows, 20) << shown;
  // No colour was asked for.
  EXPECT_THAT(terminal.Log(), Not(HasSubstr("\033[1;31m")));

  // A table longer than the screen says that --summary is shorter; not
  // when stdout is not the terminal.
  terminal.Run(Binary() + " stat " + tree);
  ASSERT_TRUE(terminal.WaitForExit()) << terminal.Screen();
  EXPECT_THAT(terminal.Screen(),
              HasSubstr("mmapio stat: 60 files listed; --summary prints only "
                        "the total"));
  terminal.Run(Binary() + " stat " + tree + " | tail -1");
  ASSERT_TRUE(terminal.WaitForExit()) << terminal.Screen();
  EXPECT_THAT(terminal.Screen(), Not(HasSubstr("files listed")));
  EXPECT_THAT(terminal.Screen(), HasSubstr("total (60 files)"));
}

// touch --progress in a real terminal: the progress line is drawn on one
// line, rewritten in place, and erased before the table, which is what is
// left on the screen.
TEST_F(CliTest, TouchProgressIsDrawnInPlace) {
  SKIP_WITHOUT_TMUX();
  const std::string path = dir_ + "/big";
  testing::WritePatternFile(path, 64 << 20);
  ASSERT_EQ(Shell("mmapio evict " + path).exit_code, 0);
  Terminal terminal(80, 24, dir_ + "/terminal.log");
  ASSERT_TRUE(terminal.started());
  // A short path, so that the table's lines do not wrap.
  terminal.Run("cd " + dir_ + " && " + Binary() + " touch --progress big");
  ASSERT_TRUE(terminal.WaitForExit()) << terminal.Screen();
  const std::string shown = terminal.Screen();
  EXPECT_EQ(terminal.ExitLines(), std::vector<std::string>{"exit=0"}) << shown;
  EXPECT_THAT(shown, ContainsRegex("16384 +16384 +64.0 MiB +0 +[0-9.]+  big"));
  EXPECT_THAT(shown, Not(HasSubstr(" / 64.0 MiB"))) << shown;  // Erased.
  // In the raw output: each drawing returns to the line's start and clears
  // what is left of it; none ends the line; the last one is erased.
  const std::string log = terminal.Log();
  const size_t first = log.find("\r0 B / 64.0 MiB  0%  [1/1] big\033[K");
  ASSERT_NE(first, std::string::npos) << log;
  const size_t erased = log.find("\r\033[K", first);
  ASSERT_NE(erased, std::string::npos) << log;
  const std::string drawings = log.substr(first, erased - first);
  EXPECT_EQ(drawings.find('\n'), std::string::npos) << drawings;
  EXPECT_THAT(drawings, HasSubstr("\033[K"));
  EXPECT_LT(log.find("MISSING", erased), std::string::npos);
}

TEST_F(CliTest, LostOutputIsAnError) {
  const std::string path = PartialFile();
  for (const std::string command :
       {"--help", "stat --help", "stat", "stat --json", "map", "map --runs",
        "map --json", "touch", "touch --json", "evict", "evict --json",
        "watch --count=1", "watch --json --count=1", "lock"}) {
    // A timeout, so that a lock that wrongly waits for a signal fails.
    const CliRun run =
        Shell(absl::StrCat("timeout 20 ", Binary(), " ", command, " ",
                           absl::StrContains(command, "help") ? "" : path,
                           " 2>&1 >/dev/full"),
              false);
    EXPECT_EQ(run.exit_code, 1) << command << ": " << run.out;
    EXPECT_THAT(run.out, HasSubstr(": cannot write to standard output: No "
                                   "space left on device"))
        << command;
  }
}

TEST_F(CliTest, BadOptionValuesAreUsageErrors) {
  const std::string path = PartialFile();
  const struct {
    std::string args;
    std::string message;
  } kCases[] = {
      {"stat --range=", "option --range= has an empty value"},
      {"stat --range ''", "option --range has an empty value"},
      {"stat --range=-", "range \"-\" is not START-END"},
      {"stat --range=4k", "range \"4k\" is not START-END"},
      {"stat --range=4k-4k", "range \"4k-4k\" is empty"},
      {"stat --range=8k-4k", "range \"8k-4k\" ends before it starts"},
      {"stat --range=4kk-", "\"4kk\" is not a size"},
      {"stat --range=4iB-", "\"4iB\" is not a size"},
      {"stat --range=1.5k-", "\"1.5k\" is not a size"},
      {"stat --range='-4 k'", "\"4 k\" is not a size"},
      {"stat --range=-+4k", "\"+4k\" is not a size"},
      {"stat --range=99999999999999999999-", "overflows 64 bits"},
      {"stat --range=-16384P", "overflows 64 bits"},
      {"stat --max-size=", "option --max-size= has an empty value"},
      {"stat --max-size=-1", "\"-1\" is not a size"},
      {"stat --include=a,,b", "--include has an empty glob"},
      {"stat --exclude=,", "--exclude has an empty glob"},
      {"stat --files-from=", "option --files-from= has an empty value"},
      {"stat --json=maybe", "option --json=maybe: not true or false"},
      {"map --width=-5", "--width=-5: the bar takes 3 to 100000 columns"},
      {"map --width=0", "--width=0: the bar takes 3 to 100000 columns"},
      {"map --width=2", "--width=2: the bar takes 3 to 100000 columns"},
      {"map --width=100001", "--width=100001: the bar takes 3 to 100000"},
      {"map --width=5x", "option --width=5x: not a whole number"},
      {"map --width=99999999999", "--width=99999999999: not a whole number"},
      {"map --width=", "option --width= has an empty value"},
      {"touch --jobs=0", "--jobs=0: give 1 to 1024 reads to wait for"},
      {"touch --jobs=-3", "--jobs=-3: give 1 to 1024 reads to wait for"},
      {"touch --jobs=1025", "--jobs=1025: give 1 to 1024 reads to wait for"},
      {"touch --jobs=many", "option --jobs=many: not a whole number"},
      {"watch --interval=0s", "--interval=0: the time between rounds must"},
      {"watch --interval=-1s", "--interval=-1s: the time between rounds must"},
      {"watch --interval=inf", "--interval: \"inf\" is not a duration"},
      {"watch --interval=5x", "--interval: \"5x\" is not a duration"},
      {"watch --count=-1", "option --count=-1: not a whole number"},
      {"watch --count=1x", "option --count=1x: not a whole number"},
      {"lock --pidfile=", "option --pidfile= has an empty value"},
  };
  for (const auto& [args, message] : kCases) {
    const CliRun run = Shell(absl::StrCat("mmapio ", args, " ", path));
    EXPECT_EQ(run.exit_code, 2) << args << ": " << run.out;
    EXPECT_THAT(run.out, HasSubstr(message)) << args;
  }
}

// A strict check of --json output: the bytes must be UTF-8 and every line a
// JSON object; prints the path_bytes of each line that has a path, or
// "none" when it has no such field.
constexpr char kStrictJsonPaths[] = R"(python3 -c '
import json, sys
for line in sys.stdin.buffer.read().decode("utf-8").splitlines():
    record = json.loads(line)
    if "path" in record:
        print(record.get("path_bytes", "none"))
')";

TEST_F(CliTest, JsonIsValidForNamesThatAreNotUtf8) {
  if (Shell("command -v python3").exit_code != 0)
    GTEST_SKIP() << "python3 is not installed";
  const std::string path = dir_ + "/name-\xff\xfe-\xc3\xa9.dat";
  testing::WritePatternFile(path, 16 * kPage);
  // Not resident, so that map --runs has a missing run to list.
  (void)testing::MakeResident(path, {});
  const std::string hex = absl::BytesToHexString(path);
  for (const char* command :
       {"stat --json", "map --json", "map --runs --json", "touch --json",
        "evict --json", "watch --json --count=1"}) {
    const CliRun run = Shell(
        absl::StrCat("mmapio ", command, " '", path, "' | ", kStrictJsonPaths),
        false);
    EXPECT_EQ(run.exit_code, 0) << command;
    EXPECT_EQ(Lines(run.out), std::vector<std::string>{hex}) << command;
  }
  // A name that is UTF-8 needs no path_bytes.
  const std::string plain = PartialFile("caf\xc3\xa9");
  const CliRun run = Shell(
      absl::StrCat("mmapio stat --json '", plain, "' | ", kStrictJsonPaths),
      false);
  EXPECT_EQ(Lines(run.out), std::vector<std::string>{"none"});
}

// The processes whose command line mentions `marker`.
std::vector<pid_t> ProcessesMentioning(const std::string& marker) {
  std::vector<pid_t> found;
  const CliRun listing = Shell("ls /proc", false);
  for (const std::string& name : Lines(listing.out)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid) || pid == getpid()) continue;
    if (absl::StrContains(
            ReadWholeFile(absl::StrCat("/proc/", pid, "/cmdline")), marker)) {
      found.push_back(pid);
    }
  }
  return found;
}

// Waits up to ten seconds for no process to mention `marker`; kills those
// left so that a failure leaves nothing behind, and returns them.
std::vector<pid_t> LeftoverProcesses(const std::string& marker) {
  std::vector<pid_t> left = ProcessesMentioning(marker);
  for (int i = 0; i < 1000 && !left.empty(); ++i) {
    usleep(10000);
    left = ProcessesMentioning(marker);
  }
  for (pid_t pid : left) kill(pid, SIGKILL);
  return left;
}

TEST_F(CliTest, FailedLockDaemonLeavesNothingRunning) {
  const std::string path = PartialFile();
  std::vector<std::string> commands = {
      absl::StrCat(Binary(), " lock --daemon --pidfile=", dir_,
                   "/no/such/dir/lock.pid ", path),
      absl::StrCat(Binary(), " lock --daemon ", dir_, "/missing"),
      // One file locks, the other does not: a daemon must hold everything.
      absl::StrCat(Binary(), " lock --daemon ", path, " ", dir_, "/missing"),
  };
  if (Shell("command -v setpriv").exit_code == 0) {
    commands.push_back(
        absl::StrCat("prlimit --memlock=65536 setpriv --inh-caps=-all "
                     "--bounding-set=-ipc_lock ",
                     Binary(), " lock --daemon ", path));
  }
  for (const std::string& command : commands) {
    const CliRun run = Shell(command);
    EXPECT_EQ(run.exit_code, 1) << command << ": " << run.out;
    EXPECT_THAT(LeftoverProcesses(dir_), ::testing::IsEmpty()) << command;
  }
}

TEST_F(CliTest, LockWithNothingLockedExitsAtOnce) {
  const CliRun run =
      Shell(absl::StrCat("timeout 20 ", Binary(), " lock ", dir_, "/missing"));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_THAT(run.out,
              HasSubstr("open \"" + dir_ + "/missing\": No such file"));
  EXPECT_THAT(run.out, HasSubstr("mmapio lock: nothing could be locked"));
  EXPECT_THAT(run.out, Not(HasSubstr("interrupt to unlock")));
}

TEST_F(CliTest, LockHoldsMoreFilesThanItMayOpen) {
  const std::string tree = dir_ + "/tree";
  ASSERT_EQ(mkdir(tree.c_str(), 0755), 0);
  constexpr int kFiles = 200;
  for (int i = 0; i < kFiles; ++i)
    testing::WritePatternFile(absl::StrCat(tree, "/f", i), kPage);
  const std::string pidfile = dir_ + "/lock.pid";
  const std::string out = dir_ + "/lock.out";
  const pid_t pid = Start(absl::StrCat("prlimit --nofile=64 ", Binary(),
                                       " lock --pidfile=", pidfile, " ", tree),
                          out);
  ASSERT_EQ(WaitForPidfile(pidfile), pid);
  EXPECT_EQ(LockedKb(pid), kFiles * 4);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(ReadWholeFile(out),
            "locked 200 files, 800.0 KiB; interrupt to unlock\n");
}

// An unprivileged user cannot see which pages of a file it may only read
// are cached, so touch loads them all, and says so once.
TEST_F(CliTest, TouchLoadsEveryPageWhereResidencyIsHidden) {
  if (Shell("command -v setpriv").exit_code != 0)
    GTEST_SKIP() << "setpriv (util-linux) is not installed";
  char dir[] = "/tmp/mmapio-cli.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  ASSERT_EQ(chmod(dir, 0755), 0);
  const std::string a = std::string(dir) + "/a";
  const std::string b = std::string(dir) + "/b";
  testing::WritePatternFile(a, 64 * kPage);
  testing::WritePatternFile(b, 32 * kPage);
  testing::PinnedPages pinned = testing::MakeResident(a, {{0, 4}});
  (void)testing::MakeResident(b, {});
  ASSERT_EQ(chmod(a.c_str(), 0644), 0);
  ASSERT_EQ(chmod(b.c_str(), 0644), 0);
  const std::string binary = std::string(dir) + "/mmapio";
  ASSERT_EQ(system(absl::StrCat("cp ", Binary(), " ", binary).c_str()), 0);
  const CliRun run =
      Shell(absl::StrCat("setpriv --reuid=65534 --regid=65534 --clear-groups ",
                         binary, " touch --json ", a, " ", b));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  const std::vector<std::string> lines = Lines(run.out);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& line) {
                            return absl::StrContains(
                                line,
                                "the kernel hides which pages are cached");
                          }),
            1)
      << run.out;
  EXPECT_THAT(run.out, HasSubstr(absl::StrCat("{\"path\":\"", a,
                                              "\",\"missing_pages\":null,"
                                              "\"loaded_pages\":64,"
                                              "\"loaded_bytes\":262144,"
                                              "\"failed_pages\":0")));
  EXPECT_THAT(run.out, HasSubstr(absl::StrCat("{\"path\":\"", b,
                                              "\",\"missing_pages\":null,"
                                              "\"loaded_pages\":32,"
                                              "\"loaded_bytes\":131072,"
                                              "\"failed_pages\":0")));
  EXPECT_EQ(testing::MincoreResidentPages(a), 64u);
  EXPECT_EQ(testing::MincoreResidentPages(b), 32u);
  EXPECT_EQ(Shell(absl::StrCat("rm -rf ", dir)).exit_code, 0);
}

// Writes `length` pattern bytes of `path` at `offset`.
void WriteAt(const std::string& path, uint64_t offset, uint64_t length) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path;
  const std::string bytes = testing::Pattern(offset, length);
  ASSERT_EQ(pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)),
            static_cast<ssize_t>(bytes.size()));
  close(fd);
}

TEST_F(CliTest, TouchSkipsTheHolesOfSparseFiles) {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer leaves programs too little address space to map 1 TiB;
  // 256 GiB is still far more than this machine could read in a test.
  constexpr uint64_t kSize = uint64_t{1} << 38;
  constexpr absl::string_view kHuman = "256.0 GiB";
#else
  constexpr uint64_t kSize = uint64_t{1} << 40;
  constexpr absl::string_view kHuman = "1.0 TiB";
#endif
  const std::string path = dir_ + "/sparse";
  { std::ofstream create(path); }
  ASSERT_EQ(truncate(path.c_str(), kSize), 0);
  WriteAt(path, 0, 4 * kPage);
  WriteAt(path, kSize / 2, 2 * kPage);
  WriteAt(path, kSize - kPage, kPage);
  (void)testing::MakeResident(path, {});
  // A timeout, so that loading the holes fails instead of running for
  // hours.
  CliRun run = Shell(
      absl::StrCat("timeout 60 ", Binary(), " touch --json ", path), false);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  ASSERT_FALSE(Lines(run.out).empty());
  std::map<std::string, std::string> fields = JsonFields(Lines(run.out)[0]);
  EXPECT_EQ(fields["missing_pages"], "7");
  EXPECT_EQ(fields["loaded_pages"], "7");
  EXPECT_EQ(fields["failed_pages"], "0");

  // Holes too: that is more than this machine's memory, so it is refused.
  run = Shell(absl::StrCat("timeout 60 ", Binary(), " touch --holes ", path));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_THAT(run.out, HasSubstr(absl::StrCat("mmapio touch: \"", path,
                                              "\" [0, ", kSize, "): ", kHuman,
                                              " to load is more than the ")));
  EXPECT_THAT(run.out, HasSubstr("of memory available (MemAvailable); "
                                 "--force loads it anyway"));

  // A small sparse file: its one data page, or every page with --holes.
  const std::string small = dir_ + "/small-sparse";
  { std::ofstream create(small); }
  ASSERT_EQ(truncate(small.c_str(), 64 * kPage), 0);
  WriteAt(small, 10 * kPage, kPage);
  (void)testing::MakeResident(small, {});
  run = Shell("mmapio touch --json " + small, false);
  EXPECT_EQ(JsonFields(Lines(run.out)[0])["loaded_pages"], "1") << run.out;
  (void)testing::MakeResident(small, {});
  run = Shell("mmapio touch --json --holes " + small, false);
  EXPECT_EQ(JsonFields(Lines(run.out)[0])["loaded_pages"], "64") << run.out;
  EXPECT_EQ(testing::MincoreResidentPages(small), 64u);
}

TEST_F(CliTest, FailingPagesAreReportedPerFileAndNeverCrash) {
  testing::ScopedEioFilesystem fs(64 * kPage, {10, 40});
  if (fs.path().empty()) GTEST_SKIP() << fs.skip_reason();
  const std::string good = PartialFile();
  CliRun run = Shell(absl::StrCat("mmapio touch ", fs.path(), " ", good));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  // The first bad page, by its own range, and every other page loaded.
  EXPECT_THAT(run.out,
              HasSubstr("mmapio touch: \"" + fs.path() +
                        "\" [40960, 45056): madvise(MADV_POPULATE_READ) at "
                        "file offset 40960: the device could not read the "
                        "page (EIO)"));
  // MISSING, LOADED, LOADED-SIZE, FAILED.
  EXPECT_THAT(run.out,
              ContainsRegex(" 64 +62 +248.0 KiB +2 +[0-9.]+  " + fs.path()));
  EXPECT_THAT(run.out,
              ContainsRegex(" 167 +167 +668.0 KiB +0 +[0-9.]+  " + good));
  EXPECT_EQ(testing::MincoreResidentPages(good), 256u);

  for (const char* command : {"stat", "map", "map --runs", "evict"}) {
    run = Shell(absl::StrCat("mmapio ", command, " ", fs.path(), " ", good));
    EXPECT_EQ(run.exit_code, 0) << command << ": " << run.out;
  }
}

}  // namespace
}  // namespace mmapio
