// An owned file descriptor, closed on destruction.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_UNIQUE_FD_H_
#define MMAPIO_INTERNAL_UNIQUE_FD_H_

namespace mmapio::internal {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd();

  int get() const { return fd_; }
  // Gives the descriptor up without closing it.
  int Release();

 private:
  int fd_ = -1;
};

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_UNIQUE_FD_H_
