// Table tests of the CLI's output model (tools/report.h), its progress line
// (tools/progress.h) and its error messages (UserMessage): what a command
// prints, without a process.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/command.h"
#include "tools/progress.h"
#include "tools/report.h"
#include "tools/watch_screen.h"

namespace mmapio::cli {
namespace {

using ::testing::ElementsAre;

enum { kPath, kSize, kPages, kResident, kShare, kDirty, kSource };

std::vector<Column> Columns() {
  return {
      Column::Path(),
      Column::Number("SIZE", "size_bytes", Unit::kBytes),
      Column::Number("PAGES", "pages"),
      Column::Number("RESIDENT", "resident_pages"),
      Column::Share("RES%", kResident, kPages),
      Column::Number("DIRTY", "dirty_pages").OmitUnknown(),
      Column::Text("source"),
  };
}

std::vector<Value> Record(std::string path, uint64_t size, Value resident,
                          Value dirty) {
  return {std::move(path), size,  (size + 4095) / 4096,    std::move(resident),
          Value(),         dirty, std::string("cachestat")};
}

// The lines a report of `records` prints with `options`.
std::vector<std::string> Render(const std::vector<std::vector<Value>>& records,
                                ReportOptions options) {
  std::string out;
  Report report(Columns(), options, [&out](absl::string_view text) {
    absl::StrAppend(&out, text);
  });
  for (const std::vector<Value>& record : records) report.Add(record);
  report.Finish();
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  EXPECT_EQ(lines.back(), "") << "every line ends with a newline";
  lines.pop_back();
  return lines;
}

const std::vector<std::vector<Value>> kTwoFiles = {
    Record("a", 8192, uint64_t{1}, uint64_t{0}),
    Record("dir/b", 3 << 20, uint64_t{768}, uint64_t{2}),
};

TEST(ReportTest, TableAlignsColumnsAndEndsWithTheTotal) {
  EXPECT_THAT(
      Render(kTwoFiles, {}),
      ElementsAre("      SIZE      PAGES   RESIDENT   RES%      DIRTY  PATH",
                  "   8.0 KiB          2          1  50.0%          0  a",
                  "   3.0 MiB        768        768 100.0%          2  dir/b",
                  "   3.0 MiB        770        769  99.9%          2  total "
                  "(2 files)"));
  EXPECT_THAT(
      Render(kTwoFiles, {.exact_bytes = true}),
      ElementsAre("      SIZE      PAGES   RESIDENT   RES%      DIRTY  PATH",
                  "      8192          2          1  50.0%          0  a",
                  "   3145728        768        768 100.0%          2  dir/b",
                  "   3153920        770        769  99.9%          2  total "
                  "(2 files)"));
}

TEST(ReportTest, JsonIsOneObjectPerRecordThenTheTotal) {
  EXPECT_THAT(
      Render(kTwoFiles, {.json = true}),
      ElementsAre("{\"path\":\"a\",\"size_bytes\":8192,\"pages\":2,"
                  "\"resident_pages\":1,\"dirty_pages\":0,"
                  "\"source\":\"cachestat\"}",
                  "{\"path\":\"dir/b\",\"size_bytes\":3145728,\"pages\":768,"
                  "\"resident_pages\":768,\"dirty_pages\":2,"
                  "\"source\":\"cachestat\"}",
                  "{\"total\":{\"files\":2,\"size_bytes\":3153920,"
                  "\"pages\":770,\"resident_pages\":769,\"dirty_pages\":2}}"));
}

TEST(ReportTest, SummaryIsExactlyOneLine) {
  EXPECT_THAT(Render(kTwoFiles, {.summary = true}),
              ElementsAre("2 files: size 3.0 MiB, pages 770, resident 769, "
                          "res% 99.9%, dirty 2"));
  EXPECT_THAT(Render(kTwoFiles, {.json = true, .summary = true}),
              ElementsAre("{\"files\":2,\"size_bytes\":3153920,\"pages\":770,"
                          "\"resident_pages\":769,\"dirty_pages\":2}"));
  EXPECT_THAT(Render({}, {.summary = true}),
              ElementsAre("0 files: size 0 B, pages 0, resident 0, res% -, "
                          "dirty 0"));
  EXPECT_THAT(Render({kTwoFiles[0]}, {.summary = true}),
              ElementsAre("1 file: size 8.0 KiB, pages 2, resident 1, "
                          "res% 50.0%, dirty 0"));
}

TEST(ReportTest, UnknownCountsStayUnknownInTheTotals) {
  const std::vector<std::vector<Value>> records = {
      kTwoFiles[0],
      Record("hidden", 4096, Value(), Value()),
  };
  EXPECT_THAT(
      Render(records, {}),
      ElementsAre("      SIZE      PAGES   RESIDENT   RES%      DIRTY  PATH",
                  "   8.0 KiB          2          1  50.0%          0  a",
                  "   4.0 KiB          1          ?      ?          ?  hidden",
                  "  12.0 KiB          3          ?      ?          ?  total "
                  "(2 files)"));
  // null where the column says so, left out where it says omit.
  EXPECT_THAT(Render(records, {.json = true}),
              ElementsAre(::testing::_,
                          "{\"path\":\"hidden\",\"size_bytes\":4096,"
                          "\"pages\":1,\"resident_pages\":null,"
                          "\"source\":\"cachestat\"}",
                          "{\"total\":{\"files\":2,\"size_bytes\":12288,"
                          "\"pages\":3,\"resident_pages\":null}}"));
}

TEST(ReportTest, RecordsCountedButNotPrinted) {
  std::string out;
  Report report(Columns(), {}, [&out](absl::string_view text) {
    absl::StrAppend(&out, text);
  });
  report.AddToTotals(kTwoFiles[0]);
  report.Add(kTwoFiles[1]);
  report.SetTotal(kSize, uint64_t{1} << 30);
  report.Finish();
  EXPECT_EQ(report.records(), 2u);
  EXPECT_EQ(report.lines_printed(), 3u);
  EXPECT_THAT(out, ::testing::HasSubstr(
                       "   1.0 GiB        770        769  99.9%          2  "
                       "total (2 files)"));
}

TEST(ProgressLineTest, ShowsBytesRateTimeLeftAndTheFile) {
  const struct {
    uint64_t done, total;
    absl::Duration elapsed;
    uint64_t file, files;
    const char* path;
    int columns;
    const char* line;
  } kCases[] = {
      // Too early for a rate.
      {0, 1 << 30, absl::ZeroDuration(), 1, 3, "/a", 0,
       "0 B / 1.0 GiB  0%  [1/3] /a"},
      {512 << 20, 1 << 30, absl::Seconds(4), 2, 3, "/b", 0,
       "512.0 MiB / 1.0 GiB  50%  128.0 MiB/s  ETA 0:04  [2/3] /b"},
      {1 << 20, 3601ull << 20, absl::Seconds(1), 1, 1, "/c", 0,
       "1.0 MiB / 3.5 GiB  0%  1.0 MiB/s  ETA 1:00:00  [1/1] /c"},
      // More than planned (a file grew): never past 100%.
      {2 << 20, 1 << 20, absl::Seconds(1), 1, 1, "/d", 0,
       "2.0 MiB / 2.0 MiB  100%  2.0 MiB/s  ETA 0:00  [1/1] /d"},
      // The path gives way to the screen's width, from its start.
      {0, 4096, absl::ZeroDuration(), 1, 1, "/very/long/path/name", 30,
       "0 B / 4.0 KiB  0%  [1/1] ...e"},
      {0, 4096, absl::ZeroDuration(), 1, 1, "/x", 10, "0 B / 4.0"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(ProgressLine(c.done, c.total, c.elapsed, c.file, c.files, c.path,
                           c.columns),
              c.line)
        << c.path;
  }
}

WatchRow Watched(std::string path, uint64_t resident, int64_t delta,
                 uint64_t recent = 0, int64_t recent_delta = 0) {
  WatchRow row;
  row.path = std::move(path);
  row.pages = 100;
  row.resident = resident;
  row.resident_delta = delta;
  row.recently_evicted = recent;
  row.recently_evicted_delta = recent_delta;
  row.thrashing = recent_delta > 0;
  return row;
}

TEST(WatchScreenTest, EveryFileWithoutATerminal) {
  EXPECT_THAT(
      RenderWatchRound("12:00:00", 2,
                       {Watched("a", 50, 0), Watched("b", 100, 1234567)}, {}),
      ElementsAre("12:00:00  round 2",
                  "   PAGES        RESIDENT    RES%  RECENT-EVICT  PATH",
                  "     100              50   50.0%             0  a",
                  "     100  100 (+1234567)  100.0%             0  b",
                  "     200  150 (+1234567)   75.0%             0  total "
                  "(2 files)"));
}

TEST(WatchScreenTest, FitsTheScreenWithTheMostChangedFirst) {
  std::vector<WatchRow> files;
  for (int i = 0; i < 10; ++i)
    files.push_back(Watched(absl::StrCat("f", i), 10, 0));
  files[7].resident_delta = -5;
  files[3].resident_delta = 2;
  files[8] = Watched("f8", 10, 0, 40, 3);  // Thrashing.
  // 8 rows: the title, the header, 4 files, the total, the cursor's line.
  const std::vector<std::string> lines =
      RenderWatchRound("t", 5, files, {.rows = 8});
  EXPECT_THAT(
      lines,
      ElementsAre("t  round 5  (4 of 10 files, the most changed)",
                  "   PAGES  RESIDENT    RES%  RECENT-EVICT  PATH",
                  "     100        10   10.0%       40 (+3)  f8  THRASHING",
                  "     100   10 (-5)   10.0%             0  f7",
                  "     100   10 (+2)   10.0%             0  f3",
                  "     100        10   10.0%             0  f0",
                  "    1000  100 (-3)   10.0%       40 (+3)  total (10 files)  "
                  "1 THRASHING"));
  // No room for a table: the total alone.
  EXPECT_THAT(RenderWatchRound("t", 5, files, {.rows = 3}),
              ElementsAre("t  round 5  total (10 files): 100 of 1000 pages "
                          "resident"));
}

TEST(WatchScreenTest, LongPathsAreShortenedToFitTheWidth) {
  const std::string path =
      "/a/very/long/directory/name/" + std::string(60, 'x');
  const std::vector<std::string> lines =
      RenderWatchRound("t", 1, {Watched(path, 10, 0, 0, 1)}, {.columns = 60});
  EXPECT_EQ(lines[2],
            "     100        10   10.0%        0 (+1)  ...xxx  THRASHING");
  for (const std::string& line : lines) EXPECT_LT(line.size(), 60u) << line;
}

TEST(WatchScreenTest, ColoursThrashingAndLargeChanges) {
  const std::vector<std::string> lines = RenderWatchRound(
      "t", 2, {Watched("up", 60, 50), Watched("hot", 10, 0, 9, 9)},
      {.rows = 0, .color = true});
  EXPECT_THAT(lines[2], ::testing::HasSubstr("  \033[32m60 (+50)\033[0m  "));
  EXPECT_THAT(lines[3], ::testing::EndsWith("hot  \033[1;31mTHRASHING\033[0m"));
  // Small changes stay plain.
  EXPECT_THAT(
      RenderWatchRound("t", 2, {Watched("a", 60, 5)}, {.color = true})[2],
      ::testing::Not(::testing::HasSubstr("\033[")));
}

TEST(UserMessageTest, SaysWhatFailedOnWhichFile) {
  const struct {
    const char* library;
    const char* user;
  } kCases[] = {
      {"SummarizeFile \"f\" [0, end): open: No such file or directory",
       "open \"f\": No such file or directory"},
      {"Lock \"/d/x\" [0, 1048576): mlock: Cannot allocate memory",
       "mlock \"/d/x\" [0, 1048576): Cannot allocate memory"},
      {"Prefetch \"d\" [40960, 45056): madvise(MADV_POPULATE_READ) at file "
       "offset 40960: the device could not read the page (EIO)",
       "\"d\" [40960, 45056): madvise(MADV_POPULATE_READ) at file offset "
       "40960: the device could not read the page (EIO)"},
      {"Open \"a b\" [0, end): is a FIFO, not a regular file",
       "\"a b\": is a FIFO, not a regular file"},
      {"GuardedCopy \"g\" [4, 8): SIGBUS at file offset 4: truncated",
       "\"g\" [4, 8): SIGBUS at file offset 4: truncated"},
      // The CLI's own messages stay as they are.
      {"--jobs=0: give 1 to 1024 reads to wait for",
       "--jobs=0: give 1 to 1024 reads to wait for"},
      {"range \"f\" [9, end): starts past the end of the file (8 bytes)",
       "\"f\" [9, end): starts past the end of the file (8 bytes)"},
      {"\"f\" [0, 10): 10 B to load is more than the memory",
       "\"f\" [0, 10): 10 B to load is more than the memory"},
  };
  for (const auto& [library, user] : kCases) {
    EXPECT_EQ(UserMessage(absl::InternalError(library)), user) << library;
  }
}

}  // namespace
}  // namespace mmapio::cli
