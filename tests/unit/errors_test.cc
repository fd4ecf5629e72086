#include "mmapio/internal/errors.h"

#include <errno.h>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mmapio/byte_range.h"
#include "tests/status_matchers.h"

namespace mmapio::internal {
namespace {

using ::mmapio::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ErrnoToCodeTest, FollowsTheErrorModel) {
  const struct {
    int err;
    absl::StatusCode code;
  } kCases[] = {
      {ENOENT, absl::StatusCode::kNotFound},
      {ENXIO, absl::StatusCode::kNotFound},
      {EACCES, absl::StatusCode::kPermissionDenied},
      {EPERM, absl::StatusCode::kPermissionDenied},
      {EROFS, absl::StatusCode::kPermissionDenied},
      {ENOSPC, absl::StatusCode::kResourceExhausted},
      {EDQUOT, absl::StatusCode::kResourceExhausted},
      {ENOMEM, absl::StatusCode::kResourceExhausted},
      {EMFILE, absl::StatusCode::kResourceExhausted},
      {ENFILE, absl::StatusCode::kResourceExhausted},
      {EAGAIN, absl::StatusCode::kResourceExhausted},
      {EFBIG, absl::StatusCode::kOutOfRange},
      {EOVERFLOW, absl::StatusCode::kOutOfRange},
      {ERANGE, absl::StatusCode::kOutOfRange},
      {EIO, absl::StatusCode::kDataLoss},
      {EHWPOISON, absl::StatusCode::kDataLoss},
      {EUCLEAN, absl::StatusCode::kDataLoss},
      {ENODEV, absl::StatusCode::kFailedPrecondition},
      {ETXTBSY, absl::StatusCode::kFailedPrecondition},
      {EBUSY, absl::StatusCode::kFailedPrecondition},
      {ENOSYS, absl::StatusCode::kUnimplemented},
      {EOPNOTSUPP, absl::StatusCode::kUnimplemented},
      {EINTR, absl::StatusCode::kAborted},
      {EINVAL, absl::StatusCode::kInvalidArgument},
      {EISDIR, absl::StatusCode::kInvalidArgument},
      {0, absl::StatusCode::kInvalidArgument},
      {-1, absl::StatusCode::kInvalidArgument},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(ErrnoToCode(c.err), c.code) << "errno " << c.err;
  }
}

TEST(ErrnoErrorTest, NamesOperationPathRangeCallAndErrno) {
  const OpContext context{.operation = "Lock",
                          .path = "/data/index",
                          .offset = 4096,
                          .length = 8192};
  EXPECT_THAT(ErrnoError(ENOMEM, context, "mlock"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       "Lock \"/data/index\" [4096, 12288): mlock: Cannot "
                       "allocate memory (ENOMEM)"));
  EXPECT_THAT(ErrnoError(EIO, context, "madvise"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("madvise: Input/output error (EIO)")));
  // An errno the C library has no name for still makes a message.
  EXPECT_THAT(
      ErrnoError(100000, context, "mmap"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mmap: ")));
}

TEST(MakeErrorTest, KeepsTheCodeAndShapesTheMessage) {
  EXPECT_THAT(MakeError(absl::StatusCode::kOutOfRange,
                        {.operation = "Open",
                         .path = "f",
                         .offset = 7,
                         .length = ByteRange::kToEnd},
                        "past the end"),
              StatusIs(absl::StatusCode::kOutOfRange,
                       "Open \"f\" [7, end): past the end"));
}

}  // namespace
}  // namespace mmapio::internal
