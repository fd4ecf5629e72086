// gMock matchers for absl::Status and absl::StatusOr<T>:
//
//   EXPECT_THAT(Region::Open(path), IsOk());
//   EXPECT_THAT(region->Populate(range),
//               StatusIs(absl::StatusCode::kOutOfRange,
//                        HasSubstr("truncated underneath")));
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound));
//
// A mismatch prints the whole status, code and message.

#ifndef MMAPIO_TESTS_STATUS_MATCHERS_H_
#define MMAPIO_TESTS_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace mmapio::testing {
namespace status_matchers_internal {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

class IsOkMatcher {
 public:
  template <typename StatusType>
  bool MatchAndExplain(const StatusType& value,
                       ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(value);
    if (!status.ok()) *listener << "which is " << status;
    return status.ok();
  }
  void DescribeTo(std::ostream* os) const { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "is not OK"; }
};

class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code,
                  ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  template <typename StatusType>
  bool MatchAndExplain(const StatusType& value,
                       ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(value);
    if (status.code() != code_) {
      *listener << "which is " << (status.ok() ? "OK" : status.ToString());
      return false;
    }
    ::testing::StringMatchResultListener message_listener;
    if (!message_.MatchAndExplain(std::string(status.message()),
                                  &message_listener)) {
      *listener << "which is " << status;
      if (!message_listener.str().empty()) {
        *listener << ", whose message " << message_listener.str();
      }
      return false;
    }
    return true;
  }
  void DescribeTo(std::ostream* os) const {
    *os << "has code " << absl::StatusCodeToString(code_)
        << " and a message that ";
    message_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "does not have code " << absl::StatusCodeToString(code_)
        << " or has a message that ";
    message_.DescribeNegationTo(os);
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
};

}  // namespace status_matchers_internal

// Matches an OK absl::Status or absl::StatusOr<T>.
inline ::testing::PolymorphicMatcher<status_matchers_internal::IsOkMatcher>
IsOk() {
  return ::testing::MakePolymorphicMatcher(
      status_matchers_internal::IsOkMatcher());
}

// Matches an absl::Status or absl::StatusOr<T> with `code` whose message
// matches `message` (a string or a matcher of one); any message when left
// out.
template <typename MessageMatcher>
::testing::PolymorphicMatcher<status_matchers_internal::StatusIsMatcher>
StatusIs(absl::StatusCode code, MessageMatcher&& message) {
  return ::testing::MakePolymorphicMatcher(
      status_matchers_internal::StatusIsMatcher(
          code, ::testing::SafeMatcherCast<const std::string&>(
                    std::forward<MessageMatcher>(message))));
}

inline ::testing::PolymorphicMatcher<status_matchers_internal::StatusIsMatcher>
StatusIs(absl::StatusCode code) {
  return StatusIs(code, ::testing::_);
}

}  // namespace mmapio::testing

#endif  // MMAPIO_TESTS_STATUS_MATCHERS_H_
