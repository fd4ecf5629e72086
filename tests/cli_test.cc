// Runs the mmapio binary on real files and checks what it prints.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/region.h"
#include "tests/test_util.h"

namespace mmapio {
namespace {

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

// A tiny reader for the flat JSON lines mmapio prints: "key" -> raw value.
std::map<std::string, std::string> JsonFields(absl::string_view line) {
  std::map<std::string, std::string> fields;
  absl::ConsumePrefix(&line, "{");
  absl::ConsumeSuffix(&line, "}");
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] != '"') return {};
    const size_t key_end = line.find('"', i + 1);
    const std::string key(line.substr(i + 1, key_end - i - 1));
    size_t j = key_end + 2;  // Past '":'.
    int depth = 0;
    bool in_string = false;
    const size_t value_start = j;
    for (; j < line.size(); ++j) {
      const char c = line[j];
      if (in_string) {
        if (c == '\\')
          ++j;
        else if (c == '"')
          in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    fields[key] = std::string(line.substr(value_start, j - value_start));
    i = j + 1;
  }
  return fields;
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
  EXPECT_THAT(run.out, HasSubstr("total (1 files)"));
  EXPECT_THAT(run.out, HasSubstr("mmapio stat: SummarizeFile \"" + tree +
                                 "/fifo\" [0, end): is a FIFO"));
  EXPECT_THAT(run.out, HasSubstr("/proc/self/status\" [0, end): is a procfs"));
  EXPECT_THAT(run.out, HasSubstr("/missing\" [0, end): open: No such file"));
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
  EXPECT_THAT(run.out, HasSubstr("Open \"" + secret +
                                 "\" [0, end): open: Permission denied"));
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
  EXPECT_THAT(run.out,
              HasSubstr("loaded 25 of 25 missing pages"));  // Pages 25..49.
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
  EXPECT_THAT(run.out, HasSubstr("evicted 57 pages"));
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
  EXPECT_EQ(line, "locked 1 files, 1.0 MiB; interrupt to unlock");
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
  EXPECT_THAT(run.out, HasSubstr("mmapio lock: Lock \"" + path + "\""));
}

TEST_F(CliTest, WatchReportsRoundsWithDeltas) {
  const std::string path = PartialFile();
  CliRun run =
      Shell("mmapio watch --json --count=3 --interval=10ms " + path, false);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  const std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 3u);
  for (int round = 1; round <= 3; ++round) {
    std::map<std::string, std::string> fields = JsonFields(lines[round - 1]);
    EXPECT_EQ(fields["round"], absl::StrCat(round));
    EXPECT_EQ(fields["resident_pages"], "89");
    EXPECT_EQ(fields["thrashing"], "false");
  }
  run = Shell("mmapio watch --count=2 --interval=10ms " + path);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("round 2"));
}

TEST_F(CliTest, FailingPagesAreReportedPerFileAndNeverCrash) {
  testing::ScopedEioFilesystem fs(64 * kPage, {10, 40});
  if (fs.path().empty()) GTEST_SKIP() << fs.skip_reason();
  const std::string good = PartialFile();
  CliRun run = Shell(absl::StrCat("mmapio touch ", fs.path(), " ", good));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  // The first bad page, by its own range, and every other page loaded.
  EXPECT_THAT(run.out,
              HasSubstr("mmapio touch: Prefetch \"" + fs.path() +
                        "\" [40960, 45056): madvise(MADV_POPULATE_READ): "
                        "a page could not be read"));
  EXPECT_THAT(run.out,
              HasSubstr(fs.path() + ": loaded 62 of 64 missing pages"));
  EXPECT_THAT(run.out, HasSubstr("2 pages could not be read"));
  EXPECT_THAT(run.out, HasSubstr(good + ": loaded 167 of 167 missing pages"));
  EXPECT_EQ(testing::MincoreResidentPages(good), 256u);

  for (const char* command : {"stat", "map", "map --runs", "evict"}) {
    run = Shell(absl::StrCat("mmapio ", command, " ", fs.path(), " ", good));
    EXPECT_EQ(run.exit_code, 0) << command << ": " << run.out;
  }
}

}  // namespace
}  // namespace mmapio
