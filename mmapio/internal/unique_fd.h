// An owned file descriptor, closed on destruction.
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_UNIQUE_FD_H_
#define MMAPIO_INTERNAL_UNIQUE_FD_H_

namespace mmapio::internal {

// Closes `fd`: close(2), or _close on Windows (platform_*.cc).
void CloseFd(int fd);

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) CloseFd(fd_);
      fd_ = other.Release();
    }
    return *this;
  }
  ~UniqueFd() {
    if (fd_ >= 0) CloseFd(fd_);
  }

  int get() const { return fd_; }
  // Gives the descriptor up without closing it.
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_UNIQUE_FD_H_
