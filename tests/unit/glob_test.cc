#include "tools/glob.h"

#include "gtest/gtest.h"
#include "tests/unit/glob_cases.h"

namespace mmapio::cli {
namespace {

TEST(GlobMatchTest, FollowsTheTable) {
  for (const GlobCase& c : kGlobCases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.text), c.matches)
        << "pattern \"" << c.pattern << "\" text \"" << c.text << "\"";
  }
}

}  // namespace
}  // namespace mmapio::cli
