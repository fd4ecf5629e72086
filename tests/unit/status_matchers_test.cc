#include "tests/status_matchers.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mmapio::testing {
namespace {

using ::testing::DescribeMatcher;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(IsOkTest, MatchesOkStatusesAndValues) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(absl::StatusOr<int>(3), IsOk());
  EXPECT_THAT(absl::NotFoundError("gone"), Not(IsOk()));
  EXPECT_THAT(absl::StatusOr<int>(absl::DataLossError("EIO")), Not(IsOk()));
}

TEST(IsOkTest, ExplainsAFailureWithTheStatus) {
  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(::testing::ExplainMatchResult(
      IsOk(), absl::DataLossError("bad page"), &listener));
  EXPECT_EQ(listener.str(), "which is DATA_LOSS: bad page");
}

TEST(StatusIsTest, MatchesCodeAndMessage) {
  const absl::Status status = absl::OutOfRangeError("truncated underneath");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kOutOfRange, "truncated underneath"));
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("underneath")));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kDataLoss)));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kOutOfRange, "other")));
  EXPECT_THAT(absl::StatusOr<std::string>(status),
              StatusIs(absl::StatusCode::kOutOfRange, StartsWith("trunc")));
  EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(absl::StatusOr<int>(1),
              Not(StatusIs(absl::StatusCode::kInvalidArgument)));
}

TEST(StatusIsTest, DescribesItselfAndExplainsAMismatch) {
  EXPECT_EQ(DescribeMatcher<absl::Status>(
                StatusIs(absl::StatusCode::kNotFound, "gone")),
            "has code NOT_FOUND and a message that is equal to \"gone\"");
  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(::testing::ExplainMatchResult(
      StatusIs(absl::StatusCode::kNotFound), absl::OkStatus(), &listener));
  EXPECT_EQ(listener.str(), "which is OK");
}

}  // namespace
}  // namespace mmapio::testing
