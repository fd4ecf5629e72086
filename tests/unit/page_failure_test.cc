#include "mmapio/internal/page_failure.h"

#include <string>

#include "gtest/gtest.h"

namespace mmapio::internal {
namespace {

TEST(ClassifyPageFailureTest, DecidesTheKindFromWhatTheFileShows) {
  const struct {
    std::string name;
    PageFailureFacts facts;
    PageFailureKind expected;
  } kCases[] = {
      {"nothing explains it: the device failed", {},
       PageFailureKind::kUnreadable},
      {"hardware poison", {.poisoned = true}, PageFailureKind::kPoisoned},
      {"poison wins over a truncation seen since",
       {.poisoned = true, .past_end_of_file = true},
       PageFailureKind::kPoisoned},
      {"the file ends before the page", {.past_end_of_file = true},
       PageFailureKind::kTruncated},
      {"a write past the end is a truncation too",
       {.past_end_of_file = true, .write = true}, PageFailureKind::kTruncated},
      {"a read that works now: truncated, then grown back",
       {.reads_now = true}, PageFailureKind::kTruncated},
      {"a write whose page reads now found no space",
       {.reads_now = true, .no_space = true, .write = true},
       PageFailureKind::kNoSpace},
      {"a write without space", {.no_space = true, .write = true},
       PageFailureKind::kNoSpace},
      {"a write that reads now, with space: the device failed",
       {.reads_now = true, .write = true}, PageFailureKind::kUnreadable},
      {"a read on a full filesystem", {.no_space = true},
       PageFailureKind::kNoSpace},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(ClassifyPageFailure(c.facts), c.expected) << c.name;
  }
}

}  // namespace
}  // namespace mmapio::internal
