// Runs mmapio.exe, the Windows build of the CLI, on real files and checks
// what it prints: the same numbers as on Linux where Windows has them, and a
// clear refusal where it has not.

#include <windows.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/json_fields.h"
#include "tests/test_directory.h"

namespace mmapio {
namespace {

using ::mmapio::testing::JsonFields;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace fs = std::filesystem;

fs::path Binary() {
  return fs::path(std::getenv("TEST_SRCDIR")) / "mmapio" / "tools" /
         "mmapio.exe";
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Through the wide API: the C++ library's narrow paths lose characters the
// code page lacks.
fs::path MakeFile(const fs::path& path, size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 7);
  const HANDLE file =
      CreateFileW(path.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                  FILE_ATTRIBUTE_NORMAL, nullptr);
  EXPECT_NE(file, INVALID_HANDLE_VALUE) << path;
  DWORD written = 0;
  EXPECT_TRUE(WriteFile(file, bytes.data(), static_cast<DWORD>(size), &written,
                        nullptr));
  CloseHandle(file);
  return path;
}

// A handle a child process inherits, on a file of the test directory.
HANDLE InheritableFile(const fs::path& path, DWORD access, DWORD creation) {
  SECURITY_ATTRIBUTES inherit{sizeof(inherit), nullptr, TRUE};
  return CreateFileW(path.c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE,
                     &inherit, creation, FILE_ATTRIBUTE_NORMAL, nullptr);
}

// mmapio.exe started with `args`, its stdout and stderr going to files.
class Cli {
 public:
  explicit Cli(const std::vector<std::wstring>& args, DWORD flags = 0)
      : dir_(mmapio::testing::TestDirectory()) {
    std::wstring command = L"\"" + Binary().wstring() + L"\"";
    for (const std::wstring& arg : args) command += L" \"" + arg + L"\"";
    const HANDLE in = InheritableFile("NUL", GENERIC_READ, OPEN_EXISTING);
    const HANDLE out =
        InheritableFile(dir_ / "stdout", GENERIC_WRITE, CREATE_ALWAYS);
    const HANDLE err =
        InheritableFile(dir_ / "stderr", GENERIC_WRITE, CREATE_ALWAYS);
    STARTUPINFOW startup{};
    startup.cb = sizeof(startup);
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdInput = in;
    startup.hStdOutput = out;
    startup.hStdError = err;
    started_ = CreateProcessW(nullptr, command.data(), nullptr, nullptr, TRUE,
                              flags, nullptr, nullptr, &startup, &process_);
    for (HANDLE handle : {in, out, err}) CloseHandle(handle);
  }
  Cli(const Cli&) = delete;
  Cli& operator=(const Cli&) = delete;
  ~Cli() {
    if (!started_) return;
    if (WaitForSingleObject(process_.hProcess, 0) == WAIT_TIMEOUT) {
      TerminateProcess(process_.hProcess, 99);
    }
    CloseHandle(process_.hThread);
    CloseHandle(process_.hProcess);
  }

  bool started() const { return started_; }
  // Whether the process ended, waiting up to `milliseconds` for it.
  bool EndsWithin(DWORD milliseconds) const {
    return WaitForSingleObject(process_.hProcess, milliseconds) != WAIT_TIMEOUT;
  }
  DWORD process_id() const { return process_.dwProcessId; }

  // Waits for the process to end; its exit code, or -1 when it did not end
  // within a minute (it hangs) or never started.
  int Wait() {
    if (!started_ ||
        WaitForSingleObject(process_.hProcess, 60000) != WAIT_OBJECT_0) {
      return -1;
    }
    DWORD code = 0;
    GetExitCodeProcess(process_.hProcess, &code);
    return static_cast<int>(code);
  }

  std::string out() const { return ReadAll(dir_ / "stdout"); }
  std::string err() const { return ReadAll(dir_ / "stderr"); }

 private:
  fs::path dir_;
  bool started_ = false;
  PROCESS_INFORMATION process_{};
};

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class CliWindowsTest : public ::testing::Test {
 protected:
  fs::path dir_ = mmapio::testing::TestDirectory();
};

TEST_F(CliWindowsTest, StatJsonGivesTheSizeAndPagesLinuxGives) {
  // 200000 bytes are 49 pages of 4 KiB, on Linux as on Windows.
  const fs::path file = MakeFile(dir_ / "data.bin", 200000);
  Cli cli({L"stat", L"--json", file.wstring()});
  ASSERT_EQ(cli.Wait(), 0) << cli.err();
  const std::vector<std::string> lines = Lines(cli.out());
  ASSERT_EQ(lines.size(), 2u) << cli.out();
  std::map<std::string, std::string> fields = JsonFields(lines[0]);
  EXPECT_EQ(fields["size_bytes"], "200000");
  EXPECT_EQ(fields["pages"], "49");
  // Not the page cache: this process's working set, named as such.
  EXPECT_EQ(fields["source"], "\"working_set\"");
  EXPECT_EQ(fields["resident_pages"], "0");
  EXPECT_THAT(lines[1], HasSubstr("\"files\":1,\"size_bytes\":200000,"
                                  "\"pages\":49,"));
  EXPECT_THAT(cli.err(), IsEmpty());
}

TEST_F(CliWindowsTest, StatWalksDirectoriesOnceAndKeepsTheirSeparator) {
  fs::create_directories(dir_ / "tree" / "sub");
  MakeFile(dir_ / "tree" / "a", 5000);
  MakeFile(dir_ / "tree" / "sub" / "b", 9000);
  // A second name of the same file is counted once.
  ASSERT_TRUE(CreateHardLinkW((dir_ / "tree" / "sub" / "c").c_str(),
                              (dir_ / "tree" / "a").c_str(), nullptr));
  const std::wstring tree = (dir_ / "tree").wstring();
  Cli cli({L"stat", L"--bytes", tree});
  ASSERT_EQ(cli.Wait(), 0) << cli.err();
  const std::vector<std::string> lines = Lines(cli.out());
  ASSERT_EQ(lines.size(), 4u) << cli.out();
  const std::string root = (dir_ / "tree").string();
  EXPECT_TRUE(absl::EndsWith(lines[1], root + "\\a")) << lines[1];
  EXPECT_TRUE(absl::EndsWith(lines[2], root + "\\sub\\b")) << lines[2];
  EXPECT_THAT(lines[3], HasSubstr("14000"));
  EXPECT_THAT(lines[3], HasSubstr("total (2 files)"));
}

TEST_F(CliWindowsTest, PathsAreUtf8WhateverTheCodePage) {
  const fs::path file = MakeFile(dir_ / L"donn\u00e9es-\u00fc.bin", 100);
  Cli cli({L"stat", L"--json", file.wstring()});
  ASSERT_EQ(cli.Wait(), 0) << cli.err();
  EXPECT_THAT(cli.out(), HasSubstr("donn\xc3\xa9"
                                   "es-\xc3\xbc.bin\","));
}

TEST_F(CliWindowsTest, FilesFromReadsNulSeparatedPaths) {
  const fs::path a = MakeFile(dir_ / "a", 4096);
  const fs::path b = MakeFile(dir_ / "b", 8192);
  const fs::path list = dir_ / "list";
  {
    std::ofstream out(list, std::ios::binary);
    out << a.string() << '\0' << b.string() << '\0';
  }
  Cli cli({L"stat", L"--json", L"--files-from=" + list.wstring(), L"-0"});
  ASSERT_EQ(cli.Wait(), 0) << cli.err();
  EXPECT_THAT(cli.out(), HasSubstr("\"files\":2,\"size_bytes\":12288,"));
}

TEST_F(CliWindowsTest, AMissingFileIsNamedAndFailsTheRun) {
  const fs::path file = MakeFile(dir_ / "here", 100);
  Cli cli({L"stat", (dir_ / "missing").wstring(), file.wstring()});
  EXPECT_EQ(cli.Wait(), 1);
  EXPECT_THAT(cli.err(), HasSubstr((dir_ / "missing").string() + "\""));
  // The other file is still reported.
  EXPECT_THAT(cli.out(), HasSubstr("total (1 file)"));
}

TEST_F(CliWindowsTest, TouchLoadsEveryPageAndSaysWhy) {
  const fs::path file = MakeFile(dir_ / "data.bin", 300000);
  Cli cli({L"touch", L"--json", file.wstring()});
  ASSERT_EQ(cli.Wait(), 0) << cli.err();
  std::map<std::string, std::string> fields = JsonFields(Lines(cli.out())[0]);
  // Windows does not show its file cache, so every page is loaded.
  EXPECT_EQ(fields["loaded_pages"], "74");
  EXPECT_EQ(fields["failed_pages"], "0");
  EXPECT_EQ(fields["missing_pages"], "null");
  EXPECT_THAT(cli.err(), HasSubstr("working set"));
}

TEST_F(CliWindowsTest, MapDrawsABarAndListsRuns) {
  const fs::path file = MakeFile(dir_ / "data.bin", 40000);
  Cli bar({L"map", L"--width=12", file.wstring()});
  ASSERT_EQ(bar.Wait(), 0) << bar.err();
  EXPECT_THAT(bar.out(), HasSubstr("0/10 pages resident"));
  EXPECT_THAT(bar.out(), HasSubstr("[          ]"));
  Cli runs({L"map", L"--runs", L"--json", file.wstring()});
  ASSERT_EQ(runs.Wait(), 0) << runs.err();
  EXPECT_THAT(runs.out(), HasSubstr("\"length\":40000"));
}

TEST_F(CliWindowsTest, EvictSaysWindowsCannot) {
  const fs::path file = MakeFile(dir_ / "data.bin", 10000);
  Cli cli({L"evict", file.wstring()});
  EXPECT_EQ(cli.Wait(), 1);
  EXPECT_THAT(cli.err(), HasSubstr("Windows cannot"));
}

TEST_F(CliWindowsTest, WatchPrintsOneBlockPerRound) {
  const fs::path file = MakeFile(dir_ / "data.bin", 10000);
  Cli cli({L"watch", L"--count=3", L"--interval=10ms", file.wstring()});
  ASSERT_EQ(cli.Wait(), 0) << cli.err();
  EXPECT_THAT(cli.out(), HasSubstr("round 3"));
  EXPECT_THAT(cli.out(), HasSubstr("total (1 file, 3 rounds): 0 of 3 pages"));
}

TEST_F(CliWindowsTest, LockHoldsUntilCtrlCThenRemovesItsPidfile) {
  const fs::path file = MakeFile(dir_ / "data.bin", 100000);
  const fs::path pidfile = dir_ / "lock.pid";
  // A console of its own, which this test joins to press Ctrl-C in it.
  Cli cli({L"lock", L"--pidfile=" + pidfile.wstring(), file.wstring()},
          CREATE_NEW_CONSOLE);
  ASSERT_TRUE(cli.started());
  // The pid is written once every file is locked.
  std::string pid;
  while (pid.empty() && !cli.EndsWithin(10)) pid = ReadAll(pidfile);
  EXPECT_EQ(pid, absl::StrCat(cli.process_id(), "\n"));
  FreeConsole();
  ASSERT_TRUE(AttachConsole(cli.process_id()));
  SetConsoleCtrlHandler(nullptr, TRUE);  // This test ignores it.
  EXPECT_TRUE(GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0));
  EXPECT_EQ(cli.Wait(), 0) << cli.err();
  FreeConsole();
  SetConsoleCtrlHandler(nullptr, FALSE);
  EXPECT_THAT(cli.out(), HasSubstr("locked 1 file, 97.7 KiB"));
  EXPECT_FALSE(fs::exists(pidfile));
}

TEST_F(CliWindowsTest, LockDaemonIsRefusedBeforeLockingAnything) {
  const fs::path file = MakeFile(dir_ / "data.bin", 10000);
  const fs::path pidfile = dir_ / "lock.pid";
  Cli cli({L"lock", L"--daemon", L"--pidfile=" + pidfile.wstring(),
           file.wstring()});
  EXPECT_EQ(cli.Wait(), 1);
  EXPECT_THAT(cli.err(), HasSubstr("Windows cannot fork"));
  EXPECT_FALSE(fs::exists(pidfile));
}

}  // namespace
}  // namespace mmapio
