// The locks of mmapio's own threads: checked by the compiler and seen by
// ThreadSanitizer.
//
// Mutex is std::mutex with Abseil's thread-safety attributes, so clang's
// -Wthread-safety (the clang build) proves that every field marked
// ABSL_GUARDED_BY is touched under its lock. Why not absl::Mutex: Debian's
// Abseil is built without ThreadSanitizer's annotations, so TSan cannot see
// an absl::Mutex synchronise, and reports a race on everything it guards.
//
//   Mutex mutex_;
//   int count_ ABSL_GUARDED_BY(mutex_);
//   CondVar changed_;
//   ...
//   MutexLock lock(&mutex_);
//   while (count_ == 0) changed_.Wait(&mutex_);
//
// Not part of the public API.

#ifndef MMAPIO_INTERNAL_MUTEX_H_
#define MMAPIO_INTERNAL_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mmapio::internal {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mutex_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }
  // Tells the analysis that the caller holds this mutex, which it took
  // under another name (one object's mutex guarding another's fields).
  // Checks nothing at run time.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class CondVar;
  std::mutex mutex_;
};

// Holds a Mutex for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mutex) ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex)
      : mutex_(mutex) {
    mutex_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mutex_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mutex_;
};

// Waiting for a condition over fields a Mutex guards. Waits may wake
// spuriously: callers loop on their condition.
class CondVar {
 public:
  // Releases `mutex` while it waits; holds it again on return.
  void Wait(Mutex* mutex) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    std::unique_lock<std::mutex> lock(mutex->mutex_, std::adopt_lock);
    changed_.wait(lock);
    lock.release();
  }

  // Wait, until `deadline` at the latest. True when the deadline passed.
  bool WaitUntil(Mutex* mutex, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    std::unique_lock<std::mutex> lock(mutex->mutex_, std::adopt_lock);
    const bool timed_out =
        changed_.wait_until(lock, absl::ToChronoTime(deadline)) ==
        std::cv_status::timeout;
    lock.release();
    return timed_out;
  }

  void Signal() { changed_.notify_one(); }
  void SignalAll() { changed_.notify_all(); }

 private:
  std::condition_variable changed_;
};

}  // namespace mmapio::internal

#endif  // MMAPIO_INTERNAL_MUTEX_H_
