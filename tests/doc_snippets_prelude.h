// What the documentation's examples use without declaring it: the caller's
// region, offsets, engine and so on. Declared and never defined, because the
// examples are compiled, not linked or run (see tests/doc_snippets.py).

#ifndef TESTS_DOC_SNIPPETS_PRELUDE_H_
#define TESTS_DOC_SNIPPETS_PRELUDE_H_

#include <sys/epoll.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mmapio/async_engine.h"
#include "mmapio/byte_range.h"
#include "mmapio/detached_task.h"
#include "mmapio/event_loop.h"
#include "mmapio/fault_signal.h"
#include "mmapio/region.h"

extern mmapio::Region region;
extern mmapio::Region rw_region;  // Mapped kReadWrite.
extern uint64_t offset;
extern uint64_t length;
extern uint64_t n;
extern absl::Span<const std::byte> bytes;
extern absl::Span<std::byte> buffer;
extern std::vector<mmapio::ByteRange> ranges;
extern std::unique_ptr<mmapio::AsyncEngine> engine;
extern std::stop_source stop_source;
extern absl::Time deadline;
extern int epfd;  // An epoll descriptor.
extern uint64_t sum;

// The caller's own code.
uint64_t Checksum(absl::Span<const std::byte> bytes);
void Serve(mmapio::EventLoop& loop, mmapio::AsyncEngine& engine);

#endif  // TESTS_DOC_SNIPPETS_PRELUDE_H_
